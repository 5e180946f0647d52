"""What this media worker can encode in real time, and honest refusal of what it cannot.

Encoders are detected by opening each candidate for real on a tiny picture:
FFmpeg builds list h264_nvenc even on machines without a GPU, so a name in
the list proves nothing.
"""

from __future__ import annotations

import functools
import os
from fractions import Fraction

import av

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
