"""Honest capacity: what the media workers measured on themselves, kept in Redis, asked before going live.

Each media worker calibrates at start (media/broadcast/capacity.py: x264 per preset, the compositor's
drawing, VP8 decoding, on one of its own cores) and publishes its calibration every PUBLISH_SECONDS
under ``media:capacity:<worker>`` (expiring soon after the worker is gone). Each running show says
what it costs (``media:capacity:<worker>:show:<id>``, the worker's busy cores) and refreshes the
calibration with it (``learn_from_show``).

``admission(stream)`` answers for a stream about to go live: the best worker's nearest setting that
fits. Going live refuses a show whose nearest fit needs a lower resolution or frame rate (the message
names it); a show that fits with a faster x264 preset only goes live, and the worker starts it there.
With no calibrated worker (none started yet) nothing is measured, and only the encoders are checked.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, cast

from apps.core import redis as redis_client
from apps.streams.models import Stream
from media.broadcast.capacity import Calibration, demand, nearest_fit, room
from media.broadcast.pacing import Step, ladder

log = logging.getLogger(__name__)

KEY_PREFIX = "media:capacity:"
PUBLISH_SECONDS = 5.0
RECORD_TTL_SECONDS = 15  # a worker gone stops counting this soon
LEARN_SECONDS = 30.0  # how often a running show reports what it costs


def _get(name: str) -> bytes | None:
    return cast("bytes | None", redis_client.client().get(name))


def key(worker: str) -> str:
    return f"{KEY_PREFIX}{worker}"


def live_key(worker: str) -> str:
    return f"{KEY_PREFIX}{worker}:live"


def show_key(worker: str, stream_id: int) -> str:
    return f"{KEY_PREFIX}{worker}:show:{stream_id}"


def publish(worker: str, calibration: Calibration) -> None:
    """The media worker's main process, every PUBLISH_SECONDS: its calibration (with what its shows learnt)."""
    client = redis_client.client()
    learnt = _get(live_key(worker))
    if learnt:
        data = json.loads(learnt)
        calibration.live_factor = float(data["live_factor"])
        calibration.live_samples = int(data["live_samples"])
    record = {**calibration.to_dict(), "published_at": time.time()}
    client.set(key(worker), json.dumps(record), ex=RECORD_TTL_SECONDS)


def records() -> dict[str, tuple[Calibration, float]]:
    """Every calibrated media worker: its calibration and the cores its running shows use."""
    client = redis_client.client()
    out: dict[str, tuple[Calibration, float]] = {}
    busy: dict[str, float] = {}
    for raw_key in client.scan_iter(f"{KEY_PREFIX}*"):
        name = raw_key.decode()[len(KEY_PREFIX) :]
        if ":show:" in name:
            worker = name.split(":show:")[0]
            busy[worker] = busy.get(worker, 0.0) + float(_get(raw_key) or 0)
            continue
        if name.endswith(":live"):
            continue
        raw = _get(raw_key)
        if raw:
            out[name] = (Calibration.from_dict(json.loads(raw)), 0.0)
    return {name: (cal, busy.get(name, 0.0)) for name, (cal, _b) in out.items()}


def show_running(worker: str, stream_id: int, cores: float | None) -> None:
    """A running show's cost on its worker (None: it has ended), kept for a little longer than it reports."""
    client = redis_client.client()
    if cores is None:
        client.delete(show_key(worker, stream_id))
    else:
        client.set(show_key(worker, stream_id), f"{cores:.3f}", ex=int(LEARN_SECONDS * 2 + 5))


def guests_of(stream: Stream) -> int:
    from apps.studio.scene import stage_people

    return max(1, len(stage_people(stream)))


@dataclass
class Admission:
    worker: str
    asked: Step
    fit: Step | None  # None: not even the last step of the ladder fits
    need: float  # cores the asked setting needs there
    room: float  # cores free for it there

    @property
    def needs_other_settings(self) -> bool:
        """The nearest fit changes what the viewer gets (frame rate or picture), not only x264's preset."""
        return self.fit is None or (self.fit.fps, self.fit.width, self.fit.height) != (
            self.asked.fps,
            self.asked.width,
            self.asked.height,
        )

    def refusal(self, stream: Stream, guests: int) -> str:
        people = f"{guests} {'person' if guests == 1 else 'people'} on stage"
        asked = f"{stream.resolution} at {self.asked.fps} fps"
        head = (
            f"The media server cannot carry {asked} with {people} in real time right now: it needs about "
            f"{self.need:.1f} CPU cores and {self.room:.1f} are free."
        )
        if self.fit is None:
            return f"{head} Try a lower resolution and frame rate, fewer people on stage, or later."
        return (
            f"{head} It can carry {min(self.fit.width, self.fit.height)}p at {self.fit.fps} fps: choose that, "
            "or go live with fewer people on stage."
        )


def admission(stream: Stream, *, worker: str | None = None) -> Admission | None:
    """The best worker's answer (or `worker`'s own), or None when no media worker has calibrated."""
    width, height = stream.size
    fps = int(stream.fps)
    guests = guests_of(stream)
    canvases = 2 if stream.vertical_canvas else 1
    from django.conf import settings

    preset = settings.BROADCAST_X264_PRESET
    best: Admission | None = None
    try:
        found = records()
    except redis_client.RedisUnavailable:
        return None
    for name, (cal, busy) in found.items():
        if worker is not None and name != worker:
            continue
        fit = nearest_fit(
            cal,
            width=width,
            height=height,
            fps=fps,
            preset=preset,
            guests=guests,
            canvases=canvases,
            busy=busy,
        )
        need = demand(cal, width=width, height=height, fps=fps, preset=preset, guests=guests, canvases=canvases)
        option = Admission(name, Step(preset, fps, width, height), fit, need, room(cal, busy))
        if best is None or _better(option, best):
            best = option
    return best


def _better(a: Admission, b: Admission) -> bool:
    if (a.fit is None) != (b.fit is None):
        return a.fit is not None
    if a.fit is not None and b.fit is not None and a.fit.level != b.fit.level:
        return a.fit.level < b.fit.level
    return a.room - a.need > b.room - b.need


def ladder_of(config: Any) -> list[Step]:
    return ladder(preset=config.preset, fps=config.fps, width=config.width, height=config.height)


def learn_from_show(
    worker: str, *, stream: Stream, step: Step, canvases: int, observed: float, real_time_factor: float
) -> None:
    """What a running show at `step` cost: `observed` cores while it made `real_time_factor` of real time.

    Behind real time, it would have needed more than it got: the prediction is held against what it
    needed (the larger of the two, scaled up by how far behind it was)."""
    raw = _get(key(worker))
    if not raw:
        return
    cal = Calibration.from_dict(json.loads(raw))
    predicted = demand(
        cal,
        width=step.width,
        height=step.height,
        fps=step.fps,
        preset=step.preset,
        guests=guests_of(stream),
        canvases=canvases,
    )
    needed = observed if real_time_factor >= 0.97 else max(observed, predicted) / max(real_time_factor, 0.2)
    learn(worker, predicted=predicted, observed=needed)
    show_running(worker, stream.pk, observed)


def learn(worker: str, *, predicted: float, observed: float) -> None:
    """A running show on `worker` cost `observed` cores where `predicted` was planned."""
    client = redis_client.client()
    raw = _get(key(worker))
    if not raw:
        return
    cal = Calibration.from_dict(json.loads(raw))
    learnt = _get(live_key(worker))
    if learnt:
        data: dict[str, Any] = json.loads(learnt)
        cal.live_factor, cal.live_samples = float(data["live_factor"]), int(data["live_samples"])
    cal.learn(predicted=predicted, observed=observed)
    client.set(live_key(worker), json.dumps({"live_factor": cal.live_factor, "live_samples": cal.live_samples}))
    log.info(
        "Media worker %s: shows cost %.2fx the calibration (%d samples).", worker, cal.live_factor, cal.live_samples
    )
