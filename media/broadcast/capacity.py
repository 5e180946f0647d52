"""What this media worker can carry in real time, measured on itself, and honest refusal of what it cannot.

Encoders are detected by opening each candidate for real on a tiny picture:
FFmpeg builds list h264_nvenc even on machines without a GPU, so a name in
the list proves nothing.

Calibration (``calibrate``): a media worker measures, on its own CPU, what one
core spends per pixel to encode camera-like pictures with x264 at each preset,
to draw a ten-tile program (the compositor's renderer), and to decode the
guests' VP8. A show's demand (``demand``) follows from its settings: canvas
pixels x fps for the encode and the drawing, each guest's simulcast layer x
its frame rate for decoding, times ``live_factor``, which running shows keep
honest (what they really cost against what was predicted, ``Calibration.learn``).
A show fits when its demand stays under the worker's cores less HEADROOM;
``nearest_fit`` walks the step-down ladder (media/broadcast/pacing.py) for the
first setting that does.
"""

from __future__ import annotations

import functools
import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

from media.broadcast.pacing import Step, ladder

HARDWARE_ENCODERS = ("h264_nvenc", "h264_qsv", "h264_vaapi")
SOFTWARE_ENCODER = "libx264"
# Pixels per second one core of x264 (veryfast) carries in real time alongside
# the rest of a show. Measured here: ~150 Mpx/s per core on the flat test scene
# (1080p30 in 0.41 core); camera content with motion costs ~3x that, and the
# compositor and pushers need the rest, so we count 40 Mpx/s per core: a
# 2-core worker takes 1080p30 (62 Mpx/s) and refuses 1080p60 and above.
SOFTWARE_PIXELS_PER_CORE = 40_000_000
# A hardware encoder session handles 4K60 (≈ 500 Mpx/s).
HARDWARE_PIXELS_PER_SECOND = 3840 * 2160 * 60


class CapacityError(Exception):
    """A show this worker cannot carry; the message is shown to the creator."""


def _opens(name: str) -> bool:
    try:
        ctx = av.CodecContext.create(name, "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height, ctx.pix_fmt = 256, 144, "yuv420p"
        ctx.time_base = Fraction(1, 30)
        ctx.open()
        return True
    except (av.FFmpegError, ValueError, AssertionError):  # any failure means "not usable here"
        return False


@functools.cache
def available_encoders() -> tuple[str, ...]:
    return tuple(name for name in (*HARDWARE_ENCODERS, SOFTWARE_ENCODER) if _opens(name))


def software_pixels_per_second(cores: int | None = None) -> int:
    return (cores or os.cpu_count() or 1) * SOFTWARE_PIXELS_PER_CORE


def choose_encoder(
    width: int,
    height: int,
    fps: int,
    *,
    canvases: int = 1,
    encoders: tuple[str, ...] | None = None,
    cores: int | None = None,
) -> str:
    """The encoder for this show, or CapacityError with a message a creator can act on.

    `canvases` is 2 when the show also has a vertical 9:16 program: a second encode of the same size.
    """
    encoders = available_encoders() if encoders is None else encoders
    rate = width * height * fps * canvases
    hardware = [e for e in encoders if e in HARDWARE_ENCODERS]
    if hardware and rate <= HARDWARE_PIXELS_PER_SECOND:
        return hardware[0]
    if SOFTWARE_ENCODER in encoders and rate <= software_pixels_per_second(cores):
        return SOFTWARE_ENCODER
    label = (f"{height}p{fps}" if height < 2160 else f"4K{fps}") + (" in two canvases" if canvases > 1 else "")
    if not hardware:
        limit = software_pixels_per_second(cores)
        return _refuse(
            f"This media server cannot encode {label} in real time: it has no hardware encoder "
            f"(NVENC, Quick Sync or VAAPI) and its {cores or os.cpu_count()} CPU cores carry about "
            f"{limit / 1e6:.0f} Mpx/s with x264 ({label} needs {rate / 1e6:.0f}). Choose a lower resolution or "
            "frame rate."
        )
    return _refuse(f"{label} is beyond what this media server's encoders carry in real time.")


def _refuse(message: str) -> str:
    raise CapacityError(message)


# --- calibration ------------------------------------------------------------------------------------

# Share of the worker's cores a show may not plan to use: the rest is for what the model does not count
# (audio, pushers, the recorder, Python and its GIL between the frame and encoder threads) and for bursts
# (fades, clips, comment cards). Measured: on a 2-core EPYC a ten-guest 1080p30 veryfast show planned at
# 1.37 of 2 cores held only 0.97x real time with 25 % kept back; with 35 % it starts at superfast instead.
HEADROOM = 0.35
CALIBRATION_SIZE = (1280, 720)  # big enough for x264's per-pixel cost to be representative, quick to run
CALIBRATION_FRAMES = 24
CALIBRATION_PRESETS = ("veryfast", "superfast", "ultrafast")
PROBE_SECONDS = 0.3  # how long the availability probe keeps every core busy
PROBE_EVERY_SECONDS = 30.0  # how often an idle-or-busy media worker probes again
# What the worker plans on is the (lower) median of its last AVAILABLE_HISTORY probes (5 minutes), and at
# start of START_PROBES probes a second apart: on a shared machine (CPU steal, neighbours' bursts) one lucky
# 0.3 s says little about the next minute. Measured: admitted on one probe, a ten-guest 1080p30 show held
# only 0.94-0.96x real time on this 2-core VM under load 14-17 (docs/RELIABILITY.md). The median, not the
# least: one busy moment (a clip being transcoded, a neighbour's build) must not refuse every go-live for
# the next five minutes, while a machine that stays busy is still seen as busy.
AVAILABLE_HISTORY = 10
AVAILABLE_FLOOR = 0.5  # the least share of its own cores a worker plans on, whatever a probe saw
START_PROBES = 3
GUEST_FPS = 30  # what guests' cameras send (the SFU forwards their frame rate, whatever the program's)
SIMULCAST_LAYERS = ((320, 180), (640, 360), (1280, 720))  # what guests publish (apps/rtc, bench/guests)
# How far one running show's figures move the live factor (an exponential average; 1 = trust the last).
LEARN_WEIGHT = 0.3


@dataclass
class Calibration:
    """One media worker's measured costs, in CPU nanoseconds per pixel on one of its cores."""

    cores: float
    encode_ns_per_px: dict[str, float]
    render_ns_per_px: float
    decode_ns_per_px: float
    measured_at: float = field(default_factory=time.time)
    live_factor: float = 1.0  # what running shows really cost against these figures
    live_samples: int = 0
    available: float | None = None  # the least cores this worker got when it asked, lately (``note_available``)
    available_history: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def encode_cost(self, preset: str) -> float:
        if preset in self.encode_ns_per_px:
            return self.encode_ns_per_px[preset]
        # Slower presets than those measured: x264's own rule of thumb, about 1.6x per preset step.
        from media.broadcast.pacing import PRESETS

        measured = [p for p in PRESETS if p in self.encode_ns_per_px]
        if not measured or preset not in PRESETS:
            return max(self.encode_ns_per_px.values(), default=0.0)
        slowest = measured[0]
        steps = PRESETS.index(slowest) - PRESETS.index(preset)
        return self.encode_ns_per_px[slowest] * 1.6 ** max(0, steps)

    def note_available(self, cores: float) -> None:
        """One availability probe's answer: ``available`` is the lower median of the last AVAILABLE_HISTORY."""
        self.available_history = [*self.available_history, cores][-AVAILABLE_HISTORY:]
        self.available = statistics.median_low(self.available_history)

    def learn(self, *, predicted: float, observed: float) -> None:
        """A running show cost `observed` cores where `demand` said `predicted`: move the live factor."""
        if predicted <= 0 or observed <= 0:
            return
        ratio = min(4.0, max(0.25, observed / predicted * self.live_factor))
        self.live_factor = round((1 - LEARN_WEIGHT) * self.live_factor + LEARN_WEIGHT * ratio, 3)
        self.live_samples += 1


def guest_layer(canvas_px: int, guests: int) -> tuple[int, int]:
    """The simulcast layer each guest is received at: the smallest that covers their tile (a grid share)."""
    tile = canvas_px / max(1, guests)
    for w, h in SIMULCAST_LAYERS:
        if w * h >= tile * 0.8:
            return w, h
    return SIMULCAST_LAYERS[-1]


def demand(
    cal: Calibration, *, width: int, height: int, fps: int, preset: str, guests: int, canvases: int = 1
) -> float:
    """CPU cores a show at these settings needs to keep real time on this worker."""
    px = width * height
    encode = cal.encode_cost(preset) * px * fps * canvases
    render = cal.render_ns_per_px * px * fps * canvases
    lw, lh = guest_layer(px, guests)
    decode = cal.decode_ns_per_px * lw * lh * GUEST_FPS * guests
    return (encode + render + decode) / 1e9 * cal.live_factor


def room(cal: Calibration, busy: float = 0.0) -> float:
    """Cores a new show may plan on, less HEADROOM: the worker's cores less what its running shows use, and
    no more than it could get lately when it asked (``available``: neighbours on a shared machine, a CPU
    quota, the shows already running)."""
    own = cal.cores * (1 - HEADROOM) - busy
    # Neighbours can take a share of the machine, not all of it: a probe during someone's burst (a build, a
    # transcode) said "0.0 free" and refused a one-person 480p show. Beyond AVAILABLE_FLOOR of its cores
    # the worker plans anyway, and the encoder's governor steps down if the show then falls behind.
    measured = max(cal.available, cal.cores * AVAILABLE_FLOOR) * (1 - HEADROOM) if cal.available is not None else own
    return max(0.0, min(own, measured))


def nearest_fit(
    cal: Calibration,
    *,
    width: int,
    height: int,
    fps: int,
    preset: str,
    guests: int,
    canvases: int = 1,
    busy: float = 0.0,
) -> Step | None:
    """The first rung of the step-down ladder that fits in `room`; None if not even the last one does."""
    free = room(cal, busy)
    for step in ladder(preset=preset, fps=fps, width=width, height=height):
        need = demand(
            cal,
            width=step.width,
            height=step.height,
            fps=step.fps,
            preset=step.preset,
            guests=guests,
            canvases=canvases,
        )
        if need <= free:
            return step
    return None


def usable_cores() -> float:
    """Cores this process may use: its CPU affinity, and a cgroup quota when one is set."""
    cores = float(len(os.sched_getaffinity(0)))
    for path, parse in (
        ("/sys/fs/cgroup/cpu.max", lambda t: t.split()),
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", lambda t: [t.strip(), _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")]),
    ):
        try:
            quota, period = parse(_read(path))
        except (OSError, ValueError):
            continue
        if quota not in ("max", "-1") and float(period) > 0:
            cores = min(cores, float(quota) / float(period))
    return cores


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def _camera_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """Camera-like I420 pictures: texture, noise and motion, so x264 works as hard as on people."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width]
    base = ((xx * 3 + yy * 2) % 256).astype(np.uint8)
    frames = []
    for i in range(count):
        y = np.roll(base, i * 7, axis=1) // 2 + rng.integers(0, 96, size=(height, width), dtype=np.uint8)
        uv = np.full(width * height // 2, 128, dtype=np.uint8)
        uv[: width * height // 4] = 96 + (i * 3) % 64
        frames.append(np.concatenate([y.ravel(), uv]))
    return frames


def _cpu_ns(run: Any) -> float:
    started = time.thread_time_ns()
    run()
    return float(time.thread_time_ns() - started)


def _encode_ns_per_px(preset: str, frames: list[np.ndarray], width: int, height: int) -> float:
    ctx = av.CodecContext.create("libx264", "w")
    assert isinstance(ctx, av.VideoCodecContext)
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base, ctx.framerate = Fraction(1, 30), Fraction(30, 1)
    ctx.bit_rate = 4_000_000
    ctx.thread_count = 1  # one core's worth, measured on this thread
    ctx.options = {"preset": preset, "tune": "zerolatency"}
    ctx.open()
    pictures = [av.VideoFrame.from_ndarray(f.reshape(height * 3 // 2, width), format="yuv420p") for f in frames]

    def run() -> None:
        for i, picture in enumerate(pictures):
            picture.pts = i
            ctx.encode(picture)
        ctx.encode(None)

    return _cpu_ns(run) / (len(frames) * width * height)


def _decode_ns_per_px(frames: list[np.ndarray], width: int, height: int) -> float:
    """VP8, as guests send it (the SFU's simulcast layers), decoded by one core."""
    encoder = av.CodecContext.create("libvpx", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.bit_rate = 800_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8"}
    encoder.open()
    packets = []
    for i, f in enumerate(frames):
        picture = av.VideoFrame.from_ndarray(f.reshape(height * 3 // 2, width), format="yuv420p")
        picture.pts = i
        packets += encoder.encode(picture)
    packets += encoder.encode(None)
    decoder = av.CodecContext.create("vp8", "r")
    assert isinstance(decoder, av.VideoCodecContext)
    decoder.thread_count = 1

    def run() -> None:
        for packet in packets:
            decoder.decode(packet)

    return _cpu_ns(run) / (len(frames) * width * height)


def _render_ns_per_px(width: int, height: int, guests: int = 10, frames: int = 12) -> float:
    """The compositor drawing a ten-tile grid from guest pictures at their simulcast layer."""
    from media.compositor.renderer import Renderer, SourceFrame
    from media.scene.layout import Participant, compose

    people = [Participant(id=f"guest-{i}", name=f"Guest {i}") for i in range(guests)]
    graph = compose(layout="grid", on_stage=people, canvas=(width, height)).to_dict()
    lw, lh = guest_layer(width * height, guests)
    picture = _camera_frames(lw, lh, 1)[0]
    now = time.monotonic()
    sources = {p.id: SourceFrame(lw, lh, picture, now) for p in people}
    renderer = Renderer(width, height, stale_after=3600.0)
    out = renderer.new_frame()
    renderer.render(graph, sources, now=now, out=out)  # warm the caches (scaling maps, name tags)

    def run() -> None:
        for _ in range(frames):
            renderer.render(graph, sources, now=now, out=out)

    return _cpu_ns(run) / (frames * width * height)


def probe_available(cores: float, seconds: float = PROBE_SECONDS) -> float:
    """Cores this process gets right now when every one of them asks: one busy x264 thread per core for
    `seconds`, their CPU time over the wall time. A neighbour's load, a cgroup's weight or quota and the
    shows already running all show in it."""
    width, height = 640, 360
    frames = _camera_frames(width, height, 4)
    threads = max(1, round(cores))
    got = [0.0] * threads
    start = threading.Barrier(threads + 1)

    def busy(index: int) -> None:
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base, ctx.thread_count = Fraction(1, 30), 1
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency"}
        ctx.open()
        pictures = [av.VideoFrame.from_ndarray(f.reshape(height * 3 // 2, width), format="yuv420p") for f in frames]
        start.wait()
        began, cpu0, n = time.monotonic(), time.thread_time(), 0
        while time.monotonic() - began < seconds:
            picture = pictures[n % len(pictures)]
            picture.pts = n
            ctx.encode(picture)
            n += 1
        got[index] = time.thread_time() - cpu0

    workers = [threading.Thread(target=busy, args=(i,), name="capacity-probe", daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    for worker in workers:
        worker.join()
    return round(min(cores, sum(got) / seconds), 3)


def calibrate(presets: tuple[str, ...] = CALIBRATION_PRESETS) -> Calibration:
    """Measure this machine: a few seconds of one core. Run it on a thread of its own, not in a frame loop."""
    width, height = CALIBRATION_SIZE
    frames = _camera_frames(width, height, CALIBRATION_FRAMES)
    encode = {preset: round(_encode_ns_per_px(preset, frames, width, height), 3) for preset in presets}
    small = _camera_frames(640, 360, CALIBRATION_FRAMES)
    cores = usable_cores()
    calibration = Calibration(
        cores=cores,
        encode_ns_per_px=encode,
        render_ns_per_px=round(_render_ns_per_px(width, height), 3),
        decode_ns_per_px=round(_decode_ns_per_px(small, 640, 360), 3),
    )
    for index in range(START_PROBES):
        if index:
            time.sleep(1.0)  # spread over a few seconds: a burst of the neighbours' is not the machine
        calibration.note_available(probe_available(cores))
    return calibration
