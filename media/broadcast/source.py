"""Program sources: what the broadcast engine encodes.

The contract (engineer D's LiveKit compositor implements it too)
---------------------------------------------------------------
A ``ProgramSource`` delivers the finished program as raw media:

* ``width``, ``height``, ``fps``, ``sample_rate``, ``channels`` are fixed for the
  life of the source and known before ``start()``. Width and height are even.
* ``start()`` prepares the source (threads, connections). It may be slow; it is
  called once, outside the frame loop.
* ``read(timeout)`` blocks up to ``timeout`` seconds for the next program frame
  and returns a ``ProgramFrame`` or ``None`` when it has nothing (the compositor
  restarting, a participant feed stalled). ``None`` is not the end: the engine
  sends its fallback slate for that frame slot and calls ``read`` again. The
  engine owns the output clock (frame N goes out at N / fps) and calls ``read``
  once per frame slot, so a source should hand out its newest frame and may
  drop older ones rather than queue them.
* ``ProgramFrame.video`` is one I420 (yuv420p) picture: a contiguous uint8
  numpy array of ``width * height * 3 // 2`` bytes, Y plane then U then V.
* ``ProgramFrame.audio`` is the audio that belongs to that frame: an int16
  numpy array of shape ``(samples, channels)``, interleaved, at
  ``sample_rate``. ``samples`` is about ``sample_rate / fps``; the engine
  re-blocks audio for the encoder, so exact sizes are not required.
* ``ProgramFrame.pts`` is the frame's time in seconds on the source's clock,
  which is the same clock for its video and its audio (informational: the
  engine stamps its own monotonic output timeline).
* ``skip(samples)`` is called instead of ``read`` for a slot whose picture the
  engine drops (it is behind the wall clock, or encodes fewer frames after a
  step down): the source moves its clock on by one frame without drawing and
  returns that slot's audio (``samples`` frames; ``None`` means silence). The
  program's audio therefore stays continuous whatever happens to its pictures.
* ``stop()`` releases everything; ``read`` after ``stop`` returns ``None``.
  ``stop`` is idempotent.

``read`` is called from the engine's frame thread: it must not touch the ORM
and should not do network I/O itself (receive on another thread, hand over the
latest frame).
"""

from __future__ import annotations

import abc
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@dataclass
class ProgramFrame:
    video: np.ndarray  # uint8, I420, width*height*3//2
    audio: np.ndarray  # int16, (samples, channels)
    pts: float  # seconds, source clock


class ProgramSource(abc.ABC):
    """See the module docstring for the contract."""

    width: int
    height: int
    fps: int
    sample_rate: int = 48000
    channels: int = 2

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def read(self, timeout: float) -> ProgramFrame | None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def skip(self, samples: int) -> np.ndarray | None:
        """This slot's picture is dropped: advance one frame, return its audio (None: silence)."""
        return None

    def live_sources(self) -> int | None:
        """How many of the program's inputs (people's cameras, screens) deliver pictures now; None: not a mix."""
        return None


def load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


def rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited range, what libx264 assumes for yuv420p without colour tags."""
    r, g, b = rgb
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    return round(y), round(u), round(v)


def rgb_image_to_i420(image: Image.Image) -> np.ndarray:
    """Convert a Pillow RGB image (even size) to a contiguous I420 buffer."""
    ycbcr = np.asarray(image.convert("RGB"), dtype=np.float32)
    r, g, b = ycbcr[..., 0], ycbcr[..., 1], ycbcr[..., 2]
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    u = u.reshape(u.shape[0] // 2, 2, u.shape[1] // 2, 2).mean(axis=(1, 3))
    v = v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2).mean(axis=(1, 3))
    planes = [np.clip(p, 0, 255).round().astype(np.uint8).ravel() for p in (y, u, v)]
    return np.concatenate(planes)


def solid_i420(width: int, height: int, rgb: tuple[int, int, int]) -> np.ndarray:
    y, u, v = rgb_to_yuv(rgb)
    frame = np.empty(width * height * 3 // 2, dtype=np.uint8)
    frame[: width * height] = y
    frame[width * height : width * height * 5 // 4] = u
    frame[width * height * 5 // 4 :] = v
    return frame


def tone(sample_rate: int, channels: int, start_sample: int, samples: int, freq: float, level: float) -> np.ndarray:
    t = (np.arange(start_sample, start_sample + samples) / sample_rate).astype(np.float64)
    mono = (np.sin(2 * math.pi * freq * t) * level * 32767).astype(np.int16)
    return np.repeat(mono[:, None], channels, axis=1)


class TestSceneSource(ProgramSource):
    """A generated program: moving bar over a coloured field, a clock, the title, a tone.

    Used until the compositor exists, by tests and by the benchmark. Frames are
    produced on demand (no thread): ``read`` paces nothing, the engine owns the
    clock. ``pause()`` / ``resume()`` make it return ``None`` like a compositor
    that went away, which is how the slate is exercised.
    """

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(
        self,
        *,
        width: int,
        height: int,
        fps: int,
        title: str = "",
        background: tuple[int, int, int] = (0, 160, 80),
        tone_hz: float = 440.0,
        sample_rate: int = 48000,
        channels: int = 2,
        moving: bool = True,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.sample_rate, self.channels = sample_rate, channels
        self.title = title
        self.background = background
        self.tone_hz = tone_hz
        self.moving = moving
        self._frame_index = 0
        self._sample_index = 0
        self._running = False
        self._paused = threading.Event()
        self._base = solid_i420(width, height, background)
        self._clock_second = -1
        self._clock_patch: np.ndarray | None = None
        self._font = load_font(max(12, height // 18))
        self._title_patch = self._render_text(title) if title else None

    def _render_text(self, text: str) -> np.ndarray:
        """White text on black rendered once into a luma patch (even size)."""
        bbox = self._font.getbbox(text)
        w = int(bbox[2] + 8) // 2 * 2
        h = int(bbox[3] + 8) // 2 * 2
        img = Image.new("L", (max(w, 2), max(h, 2)), 16)
        ImageDraw.Draw(img).text((4, 4), text, fill=235, font=self._font)
        return np.asarray(img, dtype=np.uint8)

    def start(self) -> None:
        self._running = True

    def stop(self) -> None:
        self._running = False

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def skip(self, samples: int) -> np.ndarray | None:
        if not self._running or self._paused.is_set():
            return None
        audio = tone(self.sample_rate, self.channels, self._sample_index, samples, self.tone_hz, 0.25)
        self._frame_index += 1
        self._sample_index += samples
        return audio

    def read(self, timeout: float) -> ProgramFrame | None:
        if not self._running or self._paused.is_set():
            # A real source would block up to `timeout`; we honour that so the
            # engine's pacing sees the same behaviour.
            time.sleep(min(timeout, 0.005))
            return None
        w, h = self.width, self.height
        frame = self._base.copy()
        y = frame[: w * h].reshape(h, w)
        if self.moving:
            bar_w = max(8, w // 16)
            x = (self._frame_index * max(2, w // (self.fps * 4))) % (w - bar_w)
            y[:, x : x + bar_w] = 235
        if self._title_patch is not None:
            ph, pw = self._title_patch.shape
            y[h - ph - 8 : h - 8, 8 : 8 + min(pw, w - 16)] = self._title_patch[:, : min(pw, w - 16)]
        second = self._frame_index // self.fps
        if second != self._clock_second:
            self._clock_second = second
            self._clock_patch = self._render_text(f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}")
        if self._clock_patch is not None:
            ph, pw = self._clock_patch.shape
            y[8 : 8 + ph, w - pw - 8 : w - 8] = self._clock_patch
        samples = (
            self.sample_rate * (self._frame_index + 1) // self.fps - self.sample_rate * self._frame_index // self.fps
        )
        audio = tone(self.sample_rate, self.channels, self._sample_index, samples, self.tone_hz, 0.25)
        pts = self._frame_index / self.fps
        self._frame_index += 1
        self._sample_index += samples
        return ProgramFrame(video=frame, audio=audio, pts=pts)
