"""Fan-out benchmark: CPU and memory of one show as destinations are added, against one encode per destination.

    .venv/bin/python -m bench.fanout [--seconds 10] [--width 854 --height 480 --fps 30]

Each configuration runs in its own child process against real nginx-rtmp
ingests on loopback (tests/support/rtmp.py); the parent measures the child's
whole process tree with psutil (our engine plus the recorder's FFmpeg; the
ingests are the "platforms" and are not counted):

* ours: 1, 3 and 5 destinations + recording — one encode, N pushers;
* naive: 1, 3 and 5 FFmpeg processes, each encoding the same kind of source
  at the same settings and pushing to one destination (what "ffmpeg per
  destination" tools do).

Prints ``metric: value`` lines and rewrites the "Fan-out" section of
bench/RESULTS.md with the numbers and the machine they came from.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench._results import record_section

ROOT = Path(__file__).resolve().parent.parent
WARMUP_SECONDS = 3.0  # encoder and pushers settle (first GOP, TCP windows) before we measure


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


class TreeMeter:
    """CPU seconds and RSS of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.start: dict[int, float] = {}

    def _tree(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return [self.root, *self.root.children(recursive=True)]
        return []

    def _cpu(self) -> dict[int, float]:
        out = {}
        for p in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
        return out

    def begin(self) -> None:
        self.start = self._cpu()

    def cpu_seconds(self) -> float:
        now = self._cpu()
        return sum(v - self.start.get(pid, 0.0) for pid, v in now.items())

    def rss_mb(self) -> float:
        total = 0
        for p in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total / 2**20


# --- child: our engine ------------------------------------------------------------


def run_child(args: argparse.Namespace) -> None:
    from media.broadcast.pusher import DestinationSpec
    from media.broadcast.session import BroadcastSession, ShowConfig
    from media.broadcast.source import TestSceneSource

    urls = json.loads(args.urls)
    config = ShowConfig(
        width=args.width,
        height=args.height,
        fps=args.fps,
        video_kbps=args.video_kbps,
        audio_kbps=128,
        preset=args.preset,
        recording_path=Path(args.recording),
    )
    source = TestSceneSource(width=args.width, height=args.height, fps=args.fps, title="Fan-out benchmark")
    session = BroadcastSession(config, source)
    session.start([DestinationSpec(i, url, f"bench{i}") for i, url in enumerate(urls)])
    deadline = time.monotonic() + 15
    while any(p.stats.state != "live" for p in session.pushers.values()):
        if time.monotonic() > deadline:
            raise SystemExit("destinations did not go live")
        time.sleep(0.05)
    print("ready", flush=True)
    # The parent asks for the frame count at the start and end of its window ("mark"), then says "stop".
    for line in sys.stdin:
        if line.strip() == "mark":
            print(session.frames_encoded, flush=True)
        else:
            break
    session.stop()


# --- parent -----------------------------------------------------------------------


def measure_ours(servers: list, n: int, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    cmd = [
        sys.executable,
        "-m",
        "bench.fanout",
        "--child",
        "--urls",
        json.dumps([s.url for s in servers[:n]]),
        "--recording",
        str(tmp / f"ours-{n}.mp4"),
        "--width",
        str(args.width),
        "--height",
        str(args.height),
        "--fps",
        str(args.fps),
        "--video-kbps",
        str(args.video_kbps),
        "--preset",
        args.preset,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise SystemExit(f"benchmark child failed: {line!r}")

    def frames() -> float:
        proc.stdin.write("mark\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        return int(proc.stdout.readline()) / args.fps  # type: ignore[union-attr]

    def stop() -> None:
        proc.stdin.write("stop\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    return _measure(proc, args, stop=stop, media_seconds=frames, streams=1)


def measure_naive(servers: list, n: int, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    """N FFmpeg processes, each generating, encoding and pushing its own copy (a shell holds them as one tree)."""
    per = []
    for i, server in enumerate(servers[:n]):
        per.append(
            " ".join(
                [
                    "ffmpeg -hide_banner -loglevel error -re",
                    f"-f lavfi -i testsrc2=size={args.width}x{args.height}:rate={args.fps}",
                    "-f lavfi -i sine=frequency=440:sample_rate=48000",
                    f"-c:v libx264 -preset {args.preset} -tune zerolatency -threads 1",
                    f"-b:v {args.video_kbps}k -g {args.fps * 2} -keyint_min {args.fps * 2} -sc_threshold 0",
                    "-c:a aac -b:a 128k -f flv",
                    f"{server.url}/naive{n}x{i}",
                ]
            )
            + " &"
        )
    script = "\n".join(per) + "\nwait\n"
    proc = subprocess.Popen(["bash", "-c", script], cwd=tmp, start_new_session=True, stderr=subprocess.DEVNULL)
    # Measure once every FFmpeg is running and publishing.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        tree = psutil.Process(proc.pid).children(recursive=True)
        if sum(1 for p in tree if p.name() == "ffmpeg") == n and all(
            any(s.recordings(f"naive{n}x{i}")) for i, s in enumerate(servers[:n])
        ):
            break
        time.sleep(0.1)

    def stop() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)

    def media_seconds() -> float:
        from tests.support.rtmp import packet_times

        total = 0.0
        for i, s in enumerate(servers[:n]):
            files = s.recordings(f"naive{n}x{i}")
            times = packet_times(files[-1]) if files else []
            total += times[-1] if times else 0.0
        return total

    # On a loaded machine encoders fall behind real time and then spend less CPU than they need;
    # results are scaled to "per second of output" so neither side is flattered by starving.
    return _measure(proc, args, stop=stop, media_seconds=media_seconds, streams=n)


def _measure(
    proc: subprocess.Popen, args: argparse.Namespace, *, stop, media_seconds=None, streams=1
) -> dict[str, float]:  # type: ignore[type-arg,no-untyped-def]
    meter = TreeMeter(proc.pid)
    time.sleep(WARMUP_SECONDS)
    media0 = media_seconds() if media_seconds else 0.0
    meter.begin()
    t0 = time.monotonic()
    rss = []
    while time.monotonic() - t0 < args.seconds:
        time.sleep(0.5)
        rss.append(meter.rss_mb())
    wall = time.monotonic() - t0
    cpu = meter.cpu_seconds() / wall
    realtime = 1.0
    if media_seconds:
        realtime = max(0.05, (media_seconds() - media0) / (streams * wall))
        cpu /= realtime
    stop()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    return {"cpu_cores": cpu, "rss_mb": max(rss) if rss else 0.0, "realtime": realtime}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--video-kbps", type=int, default=2500)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--recording", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return

    sys.path.insert(0, str(ROOT))
    from tests.support.rtmp import RtmpServer

    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmpdir:
        tmp = Path(tmpdir)
        servers = [RtmpServer(tmp / f"nginx-{i}") for i in range(5)]
        for s in servers:
            s.start()
        try:
            results: dict[str, dict[str, float]] = {}
            # Ours twice, interleaved, averaged: the machine is shared and a single 10 s window is noisy
            # next to per-destination costs of a few thousandths of a core.
            runs: dict[int, list[dict[str, float]]] = {1: [], 3: [], 5: []}
            for _ in range(args.repeats):
                for n in (1, 3, 5):
                    runs[n].append(measure_ours(servers, n, args, tmp))
            for n, measured in runs.items():
                results[f"ours_{n}"] = {
                    key: sum(m[key] for m in measured) / len(measured) for key in ("cpu_cores", "rss_mb", "realtime")
                }
            for n in (1, 3, 5):
                results[f"naive_{n}"] = measure_naive(servers, n, args, tmp)
        finally:
            for s in servers:
                with contextlib.suppress(Exception):
                    s.kill()

    metrics: list[tuple[str, str]] = [
        ("machine_nproc", str(os.cpu_count())),
        ("machine_cpu", cpu_model()),
        ("program", f"{args.width}x{args.height}@{args.fps} x264 {args.preset} {args.video_kbps} kbps + AAC 128 kbps"),
        ("measured_seconds_per_config", f"{args.seconds:g}"),
        ("repeats_ours", str(args.repeats)),
    ]
    for n in (1, 3, 5):
        metrics.append((f"cpu_cores_ours_{n}_dest_plus_recording", f"{results[f'ours_{n}']['cpu_cores']:.3f}"))
        metrics.append((f"ours_{n}_speed_vs_realtime", f"{results[f'ours_{n}']['realtime']:.2f}"))
    for n in (1, 3, 5):
        metrics.append((f"cpu_cores_naive_{n}_dest", f"{results[f'naive_{n}']['cpu_cores']:.3f}"))
        metrics.append((f"naive_{n}_speed_vs_realtime", f"{results[f'naive_{n}']['realtime']:.2f}"))
    ours1, ours5 = results["ours_1"]["cpu_cores"], results["ours_5"]["cpu_cores"]
    naive1, naive5 = results["naive_1"]["cpu_cores"], results["naive_5"]["cpu_cores"]
    metrics += [
        ("cpu_ratio_ours_5_over_1", f"{ours5 / ours1:.3f}"),
        ("cpu_ratio_ours_3_over_1", f"{results['ours_3']['cpu_cores'] / ours1:.3f}"),
        ("cpu_ratio_naive_5_over_1", f"{naive5 / naive1:.3f}"),
        ("rss_mb_ours_1", f"{results['ours_1']['rss_mb']:.1f}"),
        ("rss_mb_ours_5", f"{results['ours_5']['rss_mb']:.1f}"),
        ("rss_mb_per_added_destination_ours", f"{(results['ours_5']['rss_mb'] - results['ours_1']['rss_mb']) / 4:.2f}"),
        (
            "rss_mb_per_added_destination_naive",
            f"{(results['naive_5']['rss_mb'] - results['naive_1']['rss_mb']) / 4:.2f}",
        ),
    ]
    for name, value in metrics:
        print(f"{name}: {value}")
    if not args.no_write:
        write_results(metrics)


def write_results(metrics: list[tuple[str, str]]) -> None:
    values = dict(metrics)
    section = "\n".join(
        [
            "## Fan-out",
            "",
            f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} with `.venv/bin/python -m bench.fanout` on "
            f"{values['machine_nproc']} x {values['machine_cpu']} (shared with other work while it ran).",
            f"Program: {values['program']}. Process-tree CPU (psutil, user+system, all descendants) over "
            f"{values['measured_seconds_per_config']} s per configuration after a {WARMUP_SECONDS:g} s warm-up; "
            "ours = one encode + N pushers + recorder (FFmpeg remux), naive = N FFmpeg encodes. CPU is divided "
            "by the speed each side actually reached (seconds of output per wall second), so a side starved by "
            "other load on the machine is not flattered; the speeds are listed below.",
            "",
            "| what | value | target |",
            "|---|---|---|",
            f"| CPU(5) / CPU(1), ours | {values['cpu_ratio_ours_5_over_1']} | ≤ 1.15 |",
            f"| CPU(3) / CPU(1), ours | {values['cpu_ratio_ours_3_over_1']} | |",
            f"| CPU(5) / CPU(1), naive | {values['cpu_ratio_naive_5_over_1']} | ≈ 5 |",
            f"| RSS per added destination, ours (MB) | {values['rss_mb_per_added_destination_ours']} | ≤ 70 |",
            f"| RSS per added destination, naive (MB) | {values['rss_mb_per_added_destination_naive']} | |",
            "",
            "```",
            *[f"{k}: {v}" for k, v in metrics],
            "```",
            "",
            "",
        ]
    )
    record_section("Fan-out", section)


if __name__ == "__main__":
    main()
