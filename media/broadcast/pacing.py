"""The program's clock, its figures, and the step-down ladder: what keeps a show on the wall clock.

A live show has no second take: a program that slows down when the machine is busy turns into
endless buffering on every platform. So the engine never lets media time fall behind wall time:

* frame slot n belongs to [n/fps, (n+1)/fps) of wall time since the first frame, always;
* every slot carries its audio, exactly ``rate*(n+1)//fps - rate*n//fps`` samples, whatever happens
  to its picture, so audio never gaps or drifts;
* a slot whose picture cannot be drawn or encoded in time has it *dropped* (the encoder is given
  the audio only; the video timestamps skip a slot), and a source hiccup *repeats* the previous
  picture for up to HOLD_SECONDS before the slate;
* if the machine stays too slow, the encoder *steps down*: a faster x264 preset first, then fewer
  frames per second, then a smaller picture (see ``ladder``), and says so in the snapshot.

``ProgramFigures`` keeps the counters and short windows the snapshot (``program_snapshot``, the
interface in SHOW-HEALTH-CONTRACT.md) is computed from; ``Governor`` decides the steps.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

# x264 presets from slowest to fastest: a step down moves right.
PRESETS = ("veryslow", "slower", "slow", "medium", "fast", "faster", "veryfast", "superfast", "ultrafast")
# Lowest frame rate the ladder goes to (a show at 12 fps still reads as video; below it, a slideshow).
MIN_STEP_FPS = 12
# Picture heights the ladder steps through below the configured one (16:9 canvases; a vertical canvas
# steps its width the same way).
STEP_HEIGHTS = (720, 540, 360)

WINDOW_SECONDS = 5.0  # real-time factor and fps are measured over this much wall time
TIMINGS_KEPT = 300  # render and encode durations kept for the percentiles (10 s at 30 fps)

# Step down when the program keeps below this share of real time (frames encoded against frames
# due at the current step) ...
STEP_DOWN_RTF = 0.90
# ... for this long. Long enough that a passing spike (another process's build, a GC) costs dropped
# frames only; short enough that a machine that stays too slow is fixed within the first minute.
STEP_DOWN_SECONDS = 30.0
# After a step, wait this long before judging again (never less than the window, which must fill with the
# new step's figures; no more than the step-down time itself).
STEP_SETTLE_SECONDS = 10.0
# Step back up after this long in real time with the busiest thread under STEP_UP_LOAD of the frame
# interval; a level stepped down from twice is not tried again (no see-saw all show long).
STEP_UP_SECONDS = 120.0
STEP_UP_LOAD = 0.5
MAX_RETRIES_PER_LEVEL = 1


@dataclass(frozen=True)
class Step:
    """One rung of the ladder: what the encoder runs at now."""

    preset: str
    fps: int
    width: int
    height: int
    level: int = 0
    reason: str = ""

    @property
    def label(self) -> str:
        return f"{min(self.width, self.height)}p{self.fps} ({self.preset})"


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def ladder(*, preset: str, fps: int, width: int, height: int, encoder: str = "libx264") -> list[Step]:
    """The configured setting, then each step down: faster presets, then fewer fps, then smaller pictures.

    A frame-rate step encodes every k-th slot (k = 2, 4, ...) so the cadence stays even; a picture step
    scales the program before the encoder (the rest of the show, the compositor included, is unchanged).
    """
    steps = [Step(preset, fps, width, height)]
    if encoder == "libx264" and preset in PRESETS:
        for faster in PRESETS[PRESETS.index(preset) + 1 :]:
            steps.append(Step(faster, fps, width, height))
    last = steps[-1]
    every = 2
    while fps // every >= MIN_STEP_FPS:
        steps.append(Step(last.preset, fps // every, width, height))
        every *= 2
    last = steps[-1]
    short = min(width, height)
    for target in STEP_HEIGHTS:
        if target < short:
            scale = target / short
            steps.append(Step(last.preset, last.fps, _even(width * scale), _even(height * scale)))
    return [Step(s.preset, s.fps, s.width, s.height, level=i) for i, s in enumerate(steps)]


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    ordered = sorted(values)
    return {
        "p50": round(ordered[len(ordered) // 2], 2),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
    }


class ProgramFigures:
    """Counters and windows for the program snapshot. Writers: the frame and encoder threads. Readers: any.

    * ``frames_encoded``: pictures encoded; ``media_seconds`` advances by 1/step-fps for each, so it is
      the picture time produced (the audio always covers the wall clock);
    * ``frames_dropped``: slots whose picture was dropped because the show was behind the clock or the
      encoder was still busy (the output skips that slot; its audio is there);
    * ``frames_late``: pictures drawn after their slot had ended (sent, on their slot's timestamp);
    * ``frames_duplicated``: slots that repeated the previous picture (the program source had nothing new).
    """

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.started_at: float | None = None
        self.frames_encoded = 0
        self.frames_late = 0
        self.frames_dropped = 0
        self.frames_duplicated = 0
        self.media_seconds = 0.0
        self.audio_seconds = 0.0
        self._marks: collections.deque[tuple[float, float, int]] = collections.deque()  # (wall, media, frames)
        self._render_ms: collections.deque[float] = collections.deque(maxlen=TIMINGS_KEPT)
        self._encode_ms: collections.deque[float] = collections.deque(maxlen=TIMINGS_KEPT)

    def start(self) -> None:
        self.started_at = self._clock()
        self._marks.append((self.started_at, 0.0, 0))

    def rendered(self, ms: float) -> None:
        with self._lock:
            self._render_ms.append(ms)

    def encoded(self, ms: float, frame_seconds: float) -> None:
        now = self._clock()
        with self._lock:
            self._encode_ms.append(ms)
            self.frames_encoded += 1
            self.media_seconds += frame_seconds
            self._mark(now)

    def audio(self, seconds: float) -> None:
        with self._lock:
            self.audio_seconds += seconds
            self._mark(self._clock())

    def _mark(self, now: float) -> None:
        marks = self._marks
        if not marks or now - marks[-1][0] >= 0.1:
            marks.append((now, self.media_seconds, self.frames_encoded))
        while len(marks) > 2 and now - marks[1][0] >= WINDOW_SECONDS:
            marks.popleft()

    def window(self) -> tuple[float, float, float]:
        """(real-time factor, fps, window seconds) over the last WINDOW_SECONDS of wall time."""
        now = self._clock()
        with self._lock:
            if not self._marks:
                return 1.0, 0.0, 0.0
            t, media, frames = self._marks[0]
            current_media, current_frames = self.media_seconds, self.frames_encoded
        span = now - t
        if span < 0.5:
            return 1.0, 0.0, span
        return (current_media - media) / span, (current_frames - frames) / span, span

    def timings(self) -> tuple[list[float], list[float]]:
        with self._lock:
            return list(self._render_ms), list(self._encode_ms)

    def snapshot(self, step: Step) -> dict[str, Any]:
        rtf, fps, _span = self.window()
        render, encode = self.timings()
        now = self._clock()
        return {
            "media_seconds": round(self.media_seconds, 3),
            "wall_seconds": round(now - self.started_at, 3) if self.started_at is not None else 0.0,
            "real_time_factor": round(rtf, 3),
            "fps": round(fps, 2),
            "frames_encoded": self.frames_encoded,
            "frames_late": self.frames_late,
            "frames_dropped": self.frames_dropped,
            "frames_duplicated": self.frames_duplicated,
            "render_ms": _percentiles(render),
            "encode_ms": _percentiles(encode),
            "step": asdict(step),
        }


class Governor:
    """Decides when the encoder steps down (and, much later, back up). One call a second: ``tick``."""

    def __init__(self, steps: list[Step], *, clock: Any = time.monotonic, step_down_seconds: float = STEP_DOWN_SECONDS):
        self.steps = steps
        self.level = 0
        self._clock = clock
        self.step_down_seconds = step_down_seconds
        self._behind_since: float | None = None
        self._easy_since: float | None = None
        self._settled_at = clock()
        self._left: collections.Counter[int] = collections.Counter()
        self.reason = ""

    def start_at(self, level: int, reason: str) -> None:
        """Begin further down the ladder (a worker that measured it cannot carry the asked setting)."""
        self.level = max(0, min(level, len(self.steps) - 1))
        self.reason = reason

    @property
    def step(self) -> Step:
        s = self.steps[self.level]
        return Step(s.preset, s.fps, s.width, s.height, level=self.level, reason=self.reason)

    def tick(self, rtf: float, load: float, window: float) -> Step | None:
        """Feed the last window's real-time factor and busiest-thread load (share of the frame interval);
        returns the new step when it changes."""
        now = self._clock()
        settle = max(WINDOW_SECONDS, min(STEP_SETTLE_SECONDS, self.step_down_seconds))
        if now - self._settled_at < settle or window < WINDOW_SECONDS * 0.8:
            return None
        if rtf < STEP_DOWN_RTF:
            self._easy_since = None
            self._behind_since = self._behind_since or now
            if now - self._behind_since >= self.step_down_seconds and self.level + 1 < len(self.steps):
                before = self.step
                self._left[self.level] += 1
                self.level += 1
                after = self.steps[self.level]
                self.reason = (
                    f"This server could not keep up with {before.label} (it made {rtf:.0%} of real time), "
                    f"so the program now goes out at {after.label}."
                )
                return self._changed()
            return None
        self._behind_since = None
        if self.level > 0 and rtf >= 0.99 and load < STEP_UP_LOAD:
            self._easy_since = self._easy_since or now
            if now - self._easy_since >= STEP_UP_SECONDS and self._left[self.level - 1] <= MAX_RETRIES_PER_LEVEL:
                self.level -= 1
                self.reason = (
                    f"The server has room again: the program goes out at {self.steps[self.level].label}."
                    if self.level
                    else ""
                )
                return self._changed()
        else:
            self._easy_since = None
        return None

    def _changed(self) -> Step:
        self._settled_at = self._clock()
        self._behind_since = self._easy_since = None
        return self.step
