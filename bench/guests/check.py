"""Check bench-guests by hand against a real livekit-server; prints figures, asserts nothing fatal.

    .venv/bin/python bench/guests/check.py [--guests 10] [--cpu-seconds 20] [--phase-seconds 6]

1. Encodes test media (cached under .cache/bench-guests-check/): guest i is a solid colour with
   zero-mean noise on top (so VP8 spends its real bitrate, 1700/450/150 kbit/s, while the mean colour
   stays checkable) in three layers 1280x720 / 640x360 / 320x180, keyframe every 2 s, and an Opus
   tone of 300 + 100*i Hz.
2. Starts livekit-server on loopback (tests/support/livekit.py), creates the room, runs
   .cache/bin/bench-guests (built by `make bench-guests`), waits for `ready`.
3. CPU of the publisher per wall second with nobody subscribed, from /proc/PID/stat (dynacast
   pauses every video layer some 10 s after publishing when nobody watches).
4. A Python livekit-rtc subscriber asks for guest-0's camera at 640x360, then 1280x720, then
   320x180 (the FFI dimension request workers/compositor uses) and reports per layer: time until
   the new size arrived, fps, frame size, mean colour; then all guests at 320x180 at once; then
   all guests at 1280x720 (all 3 layers of every guest flowing: the publisher's CPU, worst case);
   then guest-0's microphone: level and dominant frequency.
5. Closes the publisher's stdin, checks it exits 0, reads its frame log (pacing) and its
   keyframe-request counts.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BIN = ROOT / ".cache" / "bin" / "bench-guests"
MEDIA_CACHE = ROOT / ".cache" / "bench-guests-check"
ROOM = "bench-guests-check"
API_KEY = "bench-guests"
API_SECRET = "bench-guests-secret-0123456789abcdef0123456789abcdef"
FPS = 30
LOOP_SECONDS = 10
LAYERS = (("h720", 1280, 720, 1700), ("h360", 640, 360, 450), ("h180", 320, 180, 150))  # name, w, h, kbit/s
PALETTE = [
    (200, 40, 40),
    (40, 170, 60),
    (50, 80, 200),
    (210, 190, 40),
    (170, 60, 180),
    (40, 180, 190),
    (230, 130, 40),
    (120, 120, 120),
    (150, 90, 50),
    (90, 160, 120),
]


def colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def tone_hz(index: int) -> int:
    return 300 + 100 * index


# --- media -----------------------------------------------------------------------------------


def prepare_media(guests: int) -> Path:
    """Encode each guest's files once; later runs reuse them."""
    key = f"v1-{LOOP_SECONDS}s-" + "-".join(f"{n}{k}" for n, _, _, k in LAYERS)
    media = MEDIA_CACHE / key
    for index in range(guests):
        folder = media / f"guest-{index}"
        if (folder / "done").exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        r, g, b = colour(index)
        source = f"color=c=0x{r:02x}{g:02x}{b:02x}:s=1280x720:r={FPS}:d={LOOP_SECONDS},noise=alls=24:allf=t+u"
        split = "[0:v]split=3[a][b][c];[b]scale=640:360:flags=area[m];[c]scale=320:180:flags=area[l]"
        outputs: list[str] = []
        for label, (name, _, _, kbps) in zip(("[a]", "[m]", "[l]"), LAYERS, strict=True):
            # As a browser's real-time VP8: no hidden alt-ref frames, keyframe every 2 s, about constant rate.
            outputs += ["-map", label, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
                        "-b:v", f"{kbps}k", "-minrate", f"{kbps}k", "-maxrate", f"{kbps}k", "-auto-alt-ref", "0",
                        "-lag-in-frames", "0", "-g", str(FPS * 2), "-keyint_min", str(FPS * 2),
                        str(folder / f"{name}.ivf")]  # fmt: skip
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source,
             "-filter_complex", split, *outputs],
            check=True,
        )  # fmt: skip
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
             "-i", f"sine=frequency={tone_hz(index)}:sample_rate=48000:duration={LOOP_SECONDS}",
             "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-frame_duration", "20", str(folder / "audio.ogg")],
            check=True,
        )  # fmt: skip
        (folder / "done").write_text("ok\n")
    return media


# --- processes -------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def subscriber_token() -> str:
    from livekit import api

    grants = api.VideoGrants(room_join=True, room=ROOM, can_publish=False, can_subscribe=True, hidden=True)
    return api.AccessToken(API_KEY, API_SECRET).with_identity("checker").with_grants(grants).to_jwt()


# --- the subscriber --------------------------------------------------------------------------


@dataclass
class VideoLog:
    """Every frame received on one track: (monotonic time, width, height); the mean RGB of a sample."""

    frames: list[tuple[float, int, int]] = field(default_factory=list)
    colours: list[tuple[float, int, int, np.ndarray]] = field(default_factory=list)


def request_layer(publication: Any, width: int, height: int) -> None:
    """The FFI dimension request workers/compositor/program.py sends: the SFU forwards the layer that fits."""
    from livekit.rtc._ffi_client import FfiClient
    from livekit.rtc._proto import ffi_pb2

    request = ffi_pb2.FfiRequest()
    request.update_remote_track_publication_dimension.track_publication_handle = publication._ffi_handle.handle
    request.update_remote_track_publication_dimension.width = width
    request.update_remote_track_publication_dimension.height = height
    FfiClient.instance.request(request)


async def consume_video(track: Any, log: VideoLog) -> None:
    from livekit import rtc

    stream = rtc.VideoStream(track)
    n = 0
    async for event in stream:
        frame = event.frame
        now = time.monotonic()
        log.frames.append((now, frame.width, frame.height))
        if n % 15 == 0:  # colour of two frames a second: converting every frame would cost the CPU we measure
            rgba = np.frombuffer(frame.convert(rtc.VideoBufferType.RGBA).data, dtype=np.uint8)
            mean = rgba.reshape(-1, 4)[:, :3].mean(axis=0)
            log.colours.append((now, frame.width, frame.height, mean))
        n += 1


def summarise(log: VideoLog, since: float, until: float, width: int, height: int) -> dict[str, Any]:
    """Figures for frames of the wanted size received in [since, until)."""
    window = [(t, w, h) for t, w, h in log.frames if since <= t < until]
    wanted = [t for t, w, h in window if (w, h) == (width, height)]
    sizes = sorted({(w, h) for _, w, h in window})
    out: dict[str, Any] = {"sizes": sizes, "frames": len(wanted)}
    if wanted:
        out["switch_s"] = wanted[0] - since
        span = wanted[-1] - wanted[0]
        out["fps"] = (len(wanted) - 1) / span if span > 0 else 0.0
        gaps = np.diff(wanted)
        out["max_gap_ms"] = float(gaps.max() * 1000) if len(gaps) else 0.0
    means = [m for t, w, h, m in log.colours if since <= t < until and (w, h) == (width, height)]
    if means:
        out["rgb"] = tuple(round(float(v)) for v in np.mean(means, axis=0))
    return out


async def subscribe(
    url: str, guests: int, phase_seconds: float, publisher_pid: int, cpu_seconds_all: float
) -> dict[str, Any]:
    from livekit import rtc

    room = rtc.Room()
    tracks: dict[tuple[str, int], Any] = {}
    arrived = asyncio.Event()

    def on_subscribed(track: Any, publication: Any, participant: Any) -> None:
        tracks[(participant.identity, publication.kind)] = track
        arrived.set()

    room.on("track_subscribed", on_subscribed)
    await room.connect(url, subscriber_token(), rtc.RoomOptions(auto_subscribe=False))
    results: dict[str, Any] = {}
    try:
        # Every guest publishes a simulcast camera and a microphone.
        deadline = time.monotonic() + 20
        while True:
            pubs = {
                p.identity: {pub.kind: pub for pub in p.track_publications.values()}
                for p in room.remote_participants.values()
            }
            if len(pubs) >= guests and all(len(k) == 2 for k in pubs.values()):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"not every guest published within 20 s: {pubs}")
            await asyncio.sleep(0.2)
        cams = {ident: k[rtc.TrackKind.KIND_VIDEO] for ident, k in pubs.items()}
        results["published"] = {
            ident: f"{cam.width}x{cam.height} simulcast={cam.simulcasted} {cam.mime_type}"
            for ident, cam in sorted(cams.items())
        }

        async def wait_track(identity: str, kind: int) -> Any:
            while (identity, kind) not in tracks:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 20)
            return tracks[(identity, kind)]

        # guest-0, one layer after another.
        cam = cams["guest-0"]
        log0 = VideoLog()
        request_layer(cam, 640, 360)
        cam.set_subscribed(True)
        track = await wait_track("guest-0", rtc.TrackKind.KIND_VIDEO)
        request_layer(cam, 640, 360)  # again: a request made before the subscription may be lost
        task = asyncio.ensure_future(consume_video(track, log0))
        layers: list[dict[str, Any]] = []
        start = time.monotonic()
        for width, height in ((640, 360), (1280, 720), (320, 180), (1280, 720)):
            if layers:
                start = time.monotonic()
                request_layer(cam, width, height)
            await asyncio.sleep(phase_seconds)
            figures = summarise(log0, start, time.monotonic(), width, height)
            figures["asked"] = f"{width}x{height}"
            layers.append(figures)
        results["layers"] = layers

        # All guests at 320x180 together (guest-0 too).
        logs: dict[str, VideoLog] = {"guest-0": log0}
        tasks = [task]
        request_layer(cam, 320, 180)
        for ident, pub in cams.items():
            if ident == "guest-0":
                continue
            request_layer(pub, 320, 180)
            pub.set_subscribed(True)
        for ident, pub in cams.items():
            if ident == "guest-0":
                continue
            t = await wait_track(ident, rtc.TrackKind.KIND_VIDEO)
            request_layer(pub, 320, 180)
            logs[ident] = VideoLog()
            tasks.append(asyncio.ensure_future(consume_video(t, logs[ident])))
        await asyncio.sleep(2)  # first keyframe of every guest
        start = time.monotonic()
        await asyncio.sleep(phase_seconds)
        results["all"] = {ident: summarise(logs[ident], start, time.monotonic(), 320, 180) for ident in sorted(logs)}

        # Every guest at 1280x720: dynacast then enables all three layers of all guests, the publisher's
        # worst case. Frames are not looked at (no conversions here), the decoder still runs in this process.
        for t in tasks:
            t.cancel()
        for pub in cams.values():
            request_layer(pub, 1280, 720)
        await asyncio.sleep(3)  # the SFU's layer update, then a keyframe of each high layer
        c0, t0 = cpu_seconds(publisher_pid), time.monotonic()
        await asyncio.sleep(cpu_seconds_all)
        c1, t1 = cpu_seconds(publisher_pid), time.monotonic()
        results["cpu_all_layers"] = (c1 - c0) / (t1 - t0)
        for pub in cams.values():
            pub.set_subscribed(False)

        # guest-0's microphone.
        mic = pubs["guest-0"][rtc.TrackKind.KIND_AUDIO]
        mic.set_subscribed(True)
        audio_track = await wait_track("guest-0", rtc.TrackKind.KIND_AUDIO)
        stream = rtc.AudioStream.from_track(track=audio_track, sample_rate=48000, num_channels=1)
        chunks: list[np.ndarray] = []
        first = time.monotonic()
        skip_until = first + 1.0  # let jitter buffer and decoder settle
        async for event in stream:
            now = time.monotonic()
            if now < skip_until:
                continue
            chunks.append(np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64))
            if now > skip_until + 3:
                break
        samples = np.concatenate(chunks) / 32768.0
        rms = float(np.sqrt(np.mean(samples**2)))
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
        peak = float(np.fft.rfftfreq(len(samples), 1 / 48000)[int(np.argmax(spectrum))])
        results["audio"] = {
            "seconds": len(samples) / 48000,
            "rms_dbfs": 20 * np.log10(max(rms, 1e-9)),
            "peak_hz": peak,
            "expected_hz": tone_hz(0),
        }
        await stream.aclose()
    finally:
        await room.disconnect()
    return results


# --- the run ---------------------------------------------------------------------------------


def pacing(log_path: Path, interval: float) -> dict[int, dict[str, float]]:
    """Per guest, from the frame log: frames/s over the run, worst lateness of a write vs the schedule."""
    writes: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for line in log_path.read_text().splitlines():
        g, frame, ms = (int(x) for x in line.split())
        writes[g].append((frame, ms))
    out = {}
    for g, rows in sorted(writes.items()):
        times = np.array([ms for _, ms in rows], dtype=np.float64)
        k = np.arange(len(times))
        # Fit the schedule t0 + k*interval with t0 from the earliest writes: lateness = time - schedule.
        lateness = times - (times[0] + k * interval * 1000)
        lateness -= lateness.min()
        frames = [f for f, _ in rows]
        out[g] = {
            "frames": len(rows),
            "fps": (len(rows) - 1) / ((times[-1] - times[0]) / 1000),
            "late_p99_ms": float(np.percentile(lateness, 99)),
            "late_max_ms": float(lateness.max()),
            "loop": max(frames) + 1,
            "in_order": all(b == (a + 1) % (max(frames) + 1) for a, b in itertools.pairwise(frames)),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--guests", type=int, default=10)
    parser.add_argument("--cpu-seconds", type=float, default=20)
    parser.add_argument("--phase-seconds", type=float, default=6)
    args = parser.parse_args()

    if not BIN.exists():
        raise SystemExit(f"{BIN} missing: run `make bench-guests`")
    media = prepare_media(args.guests)

    from tests.support.livekit import LiveKitServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-guests-check-"))
    server = LiveKitServer.on_free_ports(api_key=API_KEY, api_secret=API_SECRET, log_path=tmp / "livekit.log")
    server.start()
    proc = None
    try:
        server.create_room(ROOM)
        log_path = tmp / "frames.log"
        env = dict(os.environ, LIVEKIT_API_SECRET=API_SECRET)  # the secret stays off the command line
        cmd = [str(BIN), "--url", server.url, "--api-key", API_KEY, "--room", ROOM, "--media", str(media),
               "--guests", str(args.guests), "--fps", str(FPS), "--log", str(log_path)]  # fmt: skip
        launched = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
        line = proc.stdout.readline().decode().strip()
        if line != "ready":
            raise SystemExit(f"bench-guests said {line!r}: {proc.stderr.read().decode()[-3000:]}")
        print(f"ready after: {time.monotonic() - launched:.2f} s ({args.guests} guests)")

        time.sleep(2)
        assert server.process is not None
        c0, s0, t0 = cpu_seconds(proc.pid), cpu_seconds(server.process.pid), time.monotonic()
        time.sleep(args.cpu_seconds)
        c1, s1, t1 = cpu_seconds(proc.pid), cpu_seconds(server.process.pid), time.monotonic()
        print(
            f"cpu bench-guests, no subscriber: {(c1 - c0) / (t1 - t0):.3f} core ({args.guests} guests, {t1 - t0:.0f} s)"
        )
        print(f"cpu livekit-server, no subscriber: {(s1 - s0) / (t1 - t0):.3f} core")

        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        results = asyncio.run(subscribe(server.url, args.guests, args.phase_seconds, proc.pid, args.cpu_seconds))
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
        print(f"cpu bench-guests, while subscribed (all phases): {(c1 - c0) / (t1 - t0):.3f} core ({t1 - t0:.0f} s)")
        print(
            f"cpu bench-guests, every guest subscribed at 1280x720 (all layers flowing): "
            f"{results['cpu_all_layers']:.3f} core ({args.cpu_seconds:.0f} s)"
        )

        for ident, desc in results["published"].items():
            print(f"published {ident}: {desc}")
        print(f"guest-0 expected rgb {colour(0)}")
        for f in results["layers"]:
            print(
                f"layer asked {f['asked']}: got sizes {f['sizes']}, {f['frames']} frames, "
                f"fps {f.get('fps', 0):.1f}, switch {f.get('switch_s', float('nan')):.2f} s, "
                f"max gap {f.get('max_gap_ms', float('nan')):.0f} ms, rgb {f.get('rgb')}"
            )
        for ident, f in results["all"].items():
            index = int(ident.split("-")[1])
            print(
                f"all at 320x180 {ident}: fps {f.get('fps', 0):.1f}, sizes {f['sizes']}, "
                f"rgb {f.get('rgb')} (expected {colour(index)})"
            )
        a = results["audio"]
        print(
            f"audio guest-0: {a['seconds']:.1f} s, rms {a['rms_dbfs']:.1f} dBFS, "
            f"peak {a['peak_hz']:.0f} Hz (expected {a['expected_hz']} Hz)"
        )

        proc.stdin.close()
        code = proc.wait(timeout=20)
        stderr = proc.stderr.read().decode()
        print(f"bench-guests exit code: {code}")
        for line in stderr.splitlines():
            print(f"bench-guests stderr: {line}")
        paced = pacing(log_path, 1 / FPS)
        for g, p in paced.items():
            print(
                f"log guest-{g}: {p['frames']} frames, {p['fps']:.2f} fps, late p99 {p['late_p99_ms']:.1f} ms, "
                f"max {p['late_max_ms']:.1f} ms, loop {p['loop']} frames, in order {p['in_order']}"
            )
        print(f"log: mean fps {statistics.mean(p['fps'] for p in paced.values()):.2f}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        server.stop()


if __name__ == "__main__":
    main()
