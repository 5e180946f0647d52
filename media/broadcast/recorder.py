"""The recorder: the program's packets into a file that survives a crash.

FFmpeg (a child in its own process group, see supervise.py) reads FLV from
its stdin and writes:

* MP4: stream copy into fragmented MP4 (empty moov, a fragment at every
  keyframe and at least every 500 ms), so everything up to the last
  fragment plays even if we are SIGKILLed;
* WebM: VP9 + Opus (a transcode, the price of choosing WebM: the program is
  H.264/AAC), in clusters of at most one second.

The recorder has its own bounded queue and thread like a pusher, so a slow
disk never stalls the encoder.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import subprocess
import threading
from pathlib import Path

from media.broadcast.flv import flv_file_header, flv_tag
from media.broadcast.packet import TAG_VIDEO, MediaPacket
from media.broadcast.supervise import kill_group, name_native_thread, spawn

log = logging.getLogger(__name__)

FRAGMENT_MICROSECONDS = 500_000  # fMP4 fragment length: bounds what a crash can lose
QUEUE_SECONDS = 20.0  # a disk that falls this far behind is dropping GOPs
BATCH_SECONDS = 0.1  # write to FFmpeg ten times a second (fragments are 500 ms; crash loss stays well under 2 s)


class Recorder:
    def __init__(
        self,
        path: Path,
        *,
        fmt: str,
        headers: list[MediaPacket],
        ffmpeg: str = "ffmpeg",
        video_kbps: int = 2500,
        audio_kbps: int = 128,
    ) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.id = -1
        self._headers = headers
        self._ffmpeg = ffmpeg
        self._video_kbps, self._audio_kbps = video_kbps, audio_kbps
        self._queue: collections.deque[MediaPacket] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._drop_until_keyframe = True
        self.frames_dropped = 0
        self.frames_written = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self.error = ""

    def command(self) -> list[str]:
        base = [
            self._ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-protocol_whitelist",
            "pipe,file",
            "-f",
            "flv",
            "-i",
            "pipe:0",
        ]
        if self.fmt == "webm":
            codec = [
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-row-mt",
                "1",
                "-b:v",
                f"{self._video_kbps}k",
                "-c:a",
                "libopus",
                "-b:a",
                f"{self._audio_kbps}k",
                "-f",
                "webm",
                "-cluster_time_limit",
                "1000",
            ]
        else:
            codec = [
                "-c",
                "copy",
                "-f",
                "mp4",
                "-movflags",
                "frag_keyframe+empty_moov+default_base_moof",
                "-frag_duration",
                str(FRAGMENT_MICROSECONDS),
            ]
        return [*base, *codec, "-flush_packets", "1", "-y", str(self.path)]

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = spawn(self.command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._thread.start()
        threading.Thread(target=self._read_stderr, name="recorder-stderr", daemon=True).start()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            text = line.decode(errors="replace").strip()
            if text:
                self.error = text[-500:]
                log.warning("recorder: %s", text)

    def offer(self, packet: MediaPacket) -> None:
        with self._cond:
            if self._closing or packet.header:
                return  # a recorder is started with its codec configuration; a new one means a new segment
            if self._drop_until_keyframe:
                if not (packet.kind == TAG_VIDEO and packet.keyframe):
                    return
                self._drop_until_keyframe = False
            if self._queue and packet.timestamp_ms - self._queue[0].timestamp_ms > QUEUE_SECONDS * 1000:
                self.frames_dropped += sum(1 for p in self._queue if p.kind == TAG_VIDEO)
                self._queue.clear()
                if not (packet.kind == TAG_VIDEO and packet.keyframe):
                    self._drop_until_keyframe = True
                    return
            self._queue.append(packet)

    def _run(self) -> None:
        name_native_thread()
        assert self.proc is not None and self.proc.stdin is not None
        stdin = self.proc.stdin
        try:
            stdin.write(flv_file_header() + b"".join(flv_tag(h) for h in self._headers))
            while True:
                with self._cond:
                    if not self._queue and not self._closing:
                        # Batches, not a wake-up per packet; stop() notifies so closing is immediate.
                        self._cond.wait(BATCH_SECONDS)
                    batch = list(self._queue)
                    self._queue.clear()
                    closing = self._closing
                if batch:
                    stdin.write(b"".join(flv_tag(p) for p in batch))
                    stdin.flush()
                    self.frames_written += sum(1 for p in batch if p.kind == TAG_VIDEO)
                if closing and not batch:
                    break
        except (BrokenPipeError, OSError) as exc:
            self.error = self.error or f"recorder pipe closed: {exc.__class__.__name__}"
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    @property
    def alive(self) -> bool:
        """FFmpeg is running and this recorder is feeding it (False once it died or was stopped)."""
        return self.proc is not None and self.proc.poll() is None and self._thread.is_alive()

    def stop(self, timeout: float = 3.0) -> Path:
        """Write what is queued, let FFmpeg finish the file, kill it if it will not."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("recorder did not finish in %.1f s; killing it", timeout)
            kill_group(self.proc, grace=0.5)
        return self.path
