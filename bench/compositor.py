"""Compositor benchmark (renderer level): 10 guests composed into a 1080p30 grid with logo, lower thirds and banner.

    .venv/bin/python -m bench.compositor [--frames 150] [--no-write]

Measured side by side in one run, on the same frames:

* render: our renderer (workers/compositor/renderer.py) composing ten 640x360
  I420 sources (the simulcast layer the SFU sends for a ~460x260 tile) into
  1920x1080 with overlays, unthrottled: speed x real time, CPU per media second;
* overlays: the same without logo / lower thirds / banner; their share of the
  run's encode CPU;
* encode: a bare FFmpeg x264 encode (veryfast, 4500 kbps) of the raw 1080p30
  program; (render + encode) / encode is the compositor's cost over one encode
  (without the WebRTC receive and decode, which this renderer-level run leaves out);
* baseline: FFmpeg alone doing the same picture from ten files (xstack + overlay
  + drawbox + encode), CPU per media second.

Prints ``metric: value`` lines and rewrites the "Compositor" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench._results import record_section

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT, FPS = 1920, 1080, 30
SOURCE_W, SOURCE_H = 640, 360
GUESTS = 10


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _graph(overlays: bool) -> dict:
    from media.scene.layout import Asset, Options, Participant, compose

    people = [Participant(id=f"guest-{i}", name=f"Guest number {i}") for i in range(GUESTS)]
    options = Options(
        name_tags=overlays,
        logo=Asset("asset:logo", x=0.85, y=0.03, scale=0.12, aspect=2.0) if overlays else None,
        banner_text="StreamUs benchmark: ten guests, one encode" if overlays else "",
    )
    return compose(layout="grid", on_stage=people, canvas=(WIDTH, HEIGHT), options=options).to_dict()


def _sources(frame_index: int) -> dict:
    """Ten moving sources: a bar sweeps across each so the encoder has real work."""
    import numpy as np

    from media.broadcast.source import solid_i420
    from media.compositor.renderer import SourceFrame

    sources = {}
    for i in range(GUESTS):
        data = solid_i420(SOURCE_W, SOURCE_H, ((i * 47) % 255, (i * 91) % 255, (i * 137) % 255))
        y = data[: SOURCE_W * SOURCE_H].reshape(SOURCE_H, SOURCE_W)
        x = (frame_index * 8 + i * 40) % (SOURCE_W - 32)
        y[:, x : x + 32] = 235
        y[(frame_index * 4) % SOURCE_H, :] = np.uint8(16)
        sources[f"guest-{i}"] = SourceFrame(SOURCE_W, SOURCE_H, data, 0.0)
    return sources


def measure_render(frames: int, overlays: bool) -> tuple[float, float, list]:
    """(wall seconds, CPU seconds, rendered frames) for `frames` frames."""
    from PIL import Image

    from media.compositor.renderer import Renderer

    logo = Image.new("RGBA", (400, 200), (255, 255, 255, 230))
    renderer = Renderer(WIDTH, HEIGHT, load_asset=lambda source: logo)
    graph = _graph(overlays)
    inputs = [_sources(i) for i in range(min(frames, 30))]  # prepared outside the timing
    renderer.render(graph, inputs[0], now=0.0)  # warm the caches (overlays drawn once, index maps)
    out = []
    cpu0, wall0 = _cpu(), time.perf_counter()
    for i in range(frames):
        out.append(renderer.render(graph, inputs[i % len(inputs)], now=0.0).copy() if i < 30 else None)
    return time.perf_counter() - wall0, _cpu() - cpu0, [f for f in out if f is not None]


def measure_encode(frames: list, total: int) -> float:
    """CPU seconds of a bare x264 encode of `total` raw 1080p frames (cycling the given ones)."""
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
        "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
        "-b:v", "4500k", "-maxrate", "4500k", "-bufsize", "9000k", "-g", str(2 * FPS), "-f", "null", "-",
    ]  # fmt: skip
    before = _children_cpu()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(total):
        proc.stdin.write(frames[i % len(frames)].tobytes())
    proc.stdin.close()
    proc.wait()
    return _children_cpu() - before


def measure_ffmpeg_baseline(seconds: float, workdir: Path) -> float:
    """CPU seconds of FFmpeg composing ten file inputs into the same 1080p grid with overlays, plus encode."""
    clip = workdir / "guest.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size={SOURCE_W}x{SOURCE_H}:rate={FPS}", "-t", str(seconds), "-c:v", "libx264",
         "-preset", "ultrafast", "-g", str(FPS), str(clip)],
        check=True,
    )  # fmt: skip
    inputs: list[str] = []
    for _ in range(GUESTS):
        inputs += ["-i", str(clip)]
    tile_w, tile_h = 448, 252
    layout = "|".join(f"{(i % 4) * (tile_w + 16) + 40}_{(i // 4) * (tile_h + 16) + 120}" for i in range(GUESTS))
    scaled = "".join(f"[{i}:v]scale={tile_w}:{tile_h}[s{i}];" for i in range(GUESTS))
    stack = "".join(f"[s{i}]" for i in range(GUESTS))
    graph = (
        f"{scaled}{stack}xstack=inputs={GUESTS}:layout={layout}:fill=0x101018,"
        f"pad={WIDTH}:{HEIGHT}:0:0:0x101018,"
        "drawbox=x=1632:y=32:w=230:h=115:color=white@0.9:t=fill,"
        "drawbox=x=0:y=1000:w=1920:h=80:color=0x5B4BFF@0.92:t=fill[v]"
    )
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", *inputs, "-filter_complex", graph, "-map", "[v]",
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4500k", "-maxrate", "4500k", "-bufsize", "9000k",
        "-g", str(2 * FPS), "-f", "null", "-",
    ]  # fmt: skip
    before = _children_cpu()
    subprocess.run(cmd, check=True)
    return _children_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamus.settings")
    media_seconds = args.frames / FPS

    wall_full, cpu_full, frames = measure_render(args.frames, overlays=True)
    _wall_bare, cpu_bare, _ = measure_render(args.frames, overlays=False)
    encode_cpu = measure_encode(frames, args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        baseline_cpu = measure_ffmpeg_baseline(media_seconds, Path(tmp))

    overlay_cpu = max(0.0, cpu_full - cpu_bare)
    metrics = [
        ("machine_nproc", os.cpu_count()),
        ("frames", args.frames),
        ("render_speed_x_realtime", round(media_seconds / wall_full, 2)),
        ("render_cpu_per_media_second", round(cpu_full / media_seconds, 3)),
        ("render_cpu_per_media_second_without_overlays", round(cpu_bare / media_seconds, 3)),
        ("encode_cpu_per_media_second_x264_veryfast", round(encode_cpu / media_seconds, 3)),
        ("overlays_share_of_encode_cpu", round(overlay_cpu / encode_cpu, 3) if encode_cpu else None),
        ("render_plus_encode_over_encode", round((cpu_full + encode_cpu) / encode_cpu, 3) if encode_cpu else None),
        ("ffmpeg_xstack_baseline_cpu_per_media_second", round(baseline_cpu / media_seconds, 3)),
        (
            "ours_over_ffmpeg_baseline",
            round((cpu_full + encode_cpu) / baseline_cpu, 3) if baseline_cpu else None,
        ),
    ]
    for key, value in metrics:
        print(f"{key}: {value}", flush=True)
    if not args.no_write:
        _write(dict(metrics), metrics)


def _write(values: dict, metrics: list) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = "\n".join(
        [
            "## Compositor",
            "",
            f"Run {stamp} with `.venv/bin/python -m bench.compositor` on {os.cpu_count()} x "
            f"{platform.processor() or platform.machine()} (shared with other work while it ran).",
            "Renderer level: ten 640x360 I420 sources into a 1920x1080@30 grid with logo, ten lower thirds and a "
            "banner, then a bare x264 veryfast 4500 kbps encode of the same frames; the WebRTC receive/decode of the "
            "live path is not in these numbers (see 'Compositor, live' for the whole show with ten LiveKit guests).",
            "",
            "| what | value | target |",
            "|---|---|---|",
            f"| unthrottled render speed (x real time) | {values['render_speed_x_realtime']} | ≥ 2.0 |",
            f"| overlays' share of encode CPU | {values['overlays_share_of_encode_cpu']} | ≤ 0.10 |",
            f"| (render + encode) / encode | {values['render_plus_encode_over_encode']} | ≤ 2.0 (with decode) |",
            f"| ours / FFmpeg xstack baseline (CPU) | {values['ours_over_ffmpeg_baseline']} | |",
            "",
            "```",
            *[f"{k}: {v}" for k, v in metrics],
            "```",
            "",
        ]
    )
    record_section("Compositor", section)


if __name__ == "__main__":
    main()
