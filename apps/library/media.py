"""FFprobe / FFmpeg on user media, treated as hostile input.

Defences, in order:
1. Sniff the first bytes ourselves: only ISO-BMFF (MP4/MOV) and EBML
   (Matroska/WebM) pass. HLS playlists (#EXTM3U), ffconcat scripts, SDP and
   every other text format are refused here, before any demuxer could open
   the other files or URLs they name.
2. The demuxer is forced (`-f mov` / `-f matroska`), never guessed, and MOV
   data references (drefs, which can point at other files) stay disabled.
3. `-protocol_whitelist file` on every input: no http, tcp, pipe, concat, crypto…
4. probesize / analyzeduration are capped, and every child has a timeout.
5. ffprobe's format_name must still be in the allowlist.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from apps.core.probe import ffprobe_command

# What the demuxer reports for the containers we force.
ALLOWED_FORMAT_NAMES = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"})
# ISO-BMFF top-level boxes a real file may start with.
_BMFF_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"styp"}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
SNIFF_BYTES = 64
# Enough to find the streams of any sane file; a hostile one cannot make us read gigabytes.
PROBE_SIZE = 50 * 1024 * 1024
ANALYZE_US = 20_000_000
PROBE_TIMEOUT_S = 60
THUMBNAIL_TIMEOUT_S = 60
# The mezzanine every clip is normalised to: what the compositor decodes cheaply.
MEZZANINE_MAX_HEIGHT = 1080
MEZZANINE_FPS = 30


class MediaError(Exception):
    """A clip we refuse, with a message for the creator."""


def sniff_container(head: bytes) -> str | None:
    """'mov' or 'matroska' from the first bytes, or None for anything else."""
    if head.startswith(_EBML_MAGIC):
        return "matroska"
    if len(head) >= 8 and head[4:8] in _BMFF_BOXES:
        return "mov"
    return None


def not_video_message() -> str:
    return "This file is not a video we can use: upload an MP4, MOV, MKV or WebM file."


def probe_command(path: Path, demuxer: str) -> list[str]:
    return ffprobe_command(path, input_options=input_options(demuxer))


def input_options(demuxer: str) -> list[str]:
    """Options that go before every `-i` of a user file."""
    opts = [
        "-protocol_whitelist",
        "file",
        "-probesize",
        str(PROBE_SIZE),
        "-analyzeduration",
        str(ANALYZE_US),
        "-f",
        demuxer,
    ]
    if demuxer == "mov":
        opts += ["-enable_drefs", "0"]
    return opts


@dataclass(frozen=True)
class ProbeResult:
    demuxer: str
    format_name: str
    duration: float
    width: int
    height: int
    fps: float
    has_video: bool
    has_audio: bool
    video_codec: str
    audio_codec: str
    bit_rate: int


def _fps(rate: str) -> float:
    try:
        num, _, den = rate.partition("/")
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0


def probe(path: Path) -> ProbeResult:
    """Probe a local file safely; raises MediaError with a creator-facing message."""
    with open(path, "rb") as handle:
        demuxer = sniff_container(handle.read(SNIFF_BYTES))
    if demuxer is None:
        raise MediaError(not_video_message())
    try:
        done = subprocess.run(
            probe_command(path, demuxer),
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise MediaError("The video could not be read in time; it may be damaged.") from exc
    try:
        data = json.loads(done.stdout or b"{}")
    except json.JSONDecodeError:
        data = {}
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    if done.returncode != 0 or not fmt:
        raise MediaError("The video is damaged or incomplete and cannot be read.")
    if fmt.get("format_name") not in ALLOWED_FORMAT_NAMES:
        raise MediaError(not_video_message())
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None:
        raise MediaError("The file has no video track.")
    try:
        duration = float(fmt.get("duration") or video.get("duration") or 0)
    except ValueError:
        duration = 0.0
    return ProbeResult(
        demuxer=demuxer,
        format_name=str(fmt.get("format_name")),
        duration=duration,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        fps=_fps(str(video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/1")),
        has_video=True,
        has_audio=audio is not None,
        video_codec=str(video.get("codec_name") or ""),
        audio_codec=str((audio or {}).get("codec_name") or ""),
        bit_rate=int(fmt.get("bit_rate") or 0),
    )


def _is_cover(stream: dict) -> bool:
    return bool((stream.get("disposition") or {}).get("attached_pic"))


def mezzanine_size(width: int, height: int) -> tuple[int, int]:
    """Fit within 1080 lines, keep the aspect, even dimensions (yuv420p)."""
    if height > MEZZANINE_MAX_HEIGHT:
        width = round(width * MEZZANINE_MAX_HEIGHT / height)
        height = MEZZANINE_MAX_HEIGHT
    return max(2, width - width % 2), max(2, height - height % 2)


def normalize_command(source: Path, target: Path, info: ProbeResult) -> list[str]:
    width, height = mezzanine_size(info.width, info.height)
    cmd = [settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-v", "error", "-y"]
    cmd += [*input_options(info.demuxer), "-i", f"file:{source}"]
    if not info.has_audio:
        # Silence, so every clip has an audio track the show's mixer can take.
        cmd += ["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000"]
    cmd += ["-map", "0:v:0", "-map", "0:a:0" if info.has_audio else "1:a:0"]
    cmd += [
        "-vf",
        f"scale={width}:{height}:flags=bicubic,fps={MEZZANINE_FPS},format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-g",
        str(MEZZANINE_FPS * 2),
        "-c:a",
        "aac",
        "-b:a",
        "160k",
        "-ar",
        "48000",
        "-ac",
        "2",
        "-shortest",
        "-map_metadata",
        "-1",
        "-movflags",
        "+faststart",
        "-progress",
        "pipe:1",
        "-nostats",
        "-f",
        "mp4",
        f"file:{target}",
    ]
    return cmd


def run_with_progress(cmd: list[str], *, duration: float, on_progress: Callable[[float], None], timeout: float) -> None:
    """Run FFmpeg, reporting 0..1 from its `-progress` lines; kill the whole group on timeout."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    )
    timer = threading.Timer(timeout, lambda: _kill_group(proc))
    timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            if key == "out_time_us" and duration > 0 and value.isdigit():
                on_progress(min(1.0, int(value) / 1_000_000 / duration))
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        code = proc.wait()
    finally:
        timer.cancel()
    if code != 0:
        raise MediaError("The video could not be converted; it may be damaged.") from MediaError(stderr[-500:])


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def make_thumbnail(source: Path, target: Path, *, at: float) -> None:
    cmd = [settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-v", "error", "-y"]
    cmd += ["-protocol_whitelist", "file", "-f", "mov", "-ss", f"{at:.3f}", "-i", f"file:{source}"]
    cmd += ["-frames:v", "1", "-vf", "scale=320:-2", "-f", "image2", "-c:v", "mjpeg", f"file:{target}"]
    done = subprocess.run(cmd, capture_output=True, timeout=THUMBNAIL_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0 or not target.exists():
        raise MediaError("A thumbnail could not be made from the video.")


def remux_command(source: Path, target: Path, info: ProbeResult) -> list[str]:
    """Rewrite a browser recording without re-encoding, so it gains a duration and a seek index."""
    ext_format = "webm" if info.demuxer == "matroska" else "mp4"
    cmd = [settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-v", "error", "-y"]
    cmd += [*input_options(info.demuxer), "-i", f"file:{source}", "-map", "0", "-c", "copy"]
    if ext_format == "mp4":
        cmd += ["-movflags", "+faststart"]
    cmd += ["-f", ext_format, f"file:{target}"]
    return cmd
