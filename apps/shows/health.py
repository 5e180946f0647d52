"""A live show's health, from the media worker to Prometheus, the studio and the destination rows.

The broadcast engine samples once a second (media/broadcast/health.py): one ``program`` sample per
canvas (the session's program snapshot, SHOW-HEALTH-CONTRACT.md) and one ``destination`` sample per
pusher. ``HealthPublisher`` turns each round into:

* Prometheus series of this show (apps/shows/metrics.py), with the recording's growth on disk and the
  compositor's received tracks, audio level and WebRTC receive statistics;
* the verdict the host sees: the program is *falling behind* while its real-time factor stays under
  0.97, a live destination while it receives under 80 % of the configured bitrate, each for
  FALLING_BEHIND_SECONDS. When the encoder itself produced less than the configured bitrate meanwhile
  (a still picture needs few bits; the engine reports it as ``program_kbps``), the destination is held
  to 80 % of what was produced: it is not failing when it receives everything there is;
* studio events to the host's sockets: ``destination.health`` per destination (with its
  ``falling_behind``) and ``program.health`` once a second;
* a summary in Redis (``show:<id>:health``, expiring) and on each destination row (written when its
  state changes and at most every DB_SUMMARY_SECONDS otherwise), so the dashboard and the API read the
  state the studio shows.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from django.db import DatabaseError, close_old_connections, connection

from apps.core import events, realtime
from apps.core import redis as redis_client
from apps.destinations.models import DestinationState, StreamDestination, destination_state
from media.broadcast.pacing import WINDOW_SECONDS as RTF_WINDOW_SECONDS

from . import metrics

log = logging.getLogger(__name__)

# How often a destination's health summary is written to its row when nothing else changed.
DB_SUMMARY_SECONDS = 5.0
# The program is behind real time below this factor (media seconds per wall second over the engine's
# window of RTF_WINDOW_SECONDS) ...
MIN_REAL_TIME_FACTOR = 0.97
# ... a destination below this share of the configured bitrate (or of what the encoder produced) ...
MIN_BITRATE_SHARE = 0.8
# ... for this long before the host is warned: a passing hiccup is not a warning.
FALLING_BEHIND_SECONDS = 5.0
# WebRTC statistics cost an SDK round trip per track: read them this often, not every second.
RECEIVE_STATS_SECONDS = 5.0
# The Redis summary outlives a missed sample or two, not a dead show.
SUMMARY_TTL_SECONDS = 10
PROGRAM_BEHIND = "Falling behind: the server cannot keep up — lower the resolution or remove a destination"
DESTINATION_BEHIND = "Falling behind: a destination receives less than the show sends — check its connection"
# A destination's state while its show runs, in the one vocabulary of the dashboard, the studio and the
# API (apps/destinations/models.py: destination_state): the pusher's own word stays as `pusher_state`.
STATES = (DestinationState.CONNECTING, DestinationState.LIVE, DestinationState.RECONNECTING, DestinationState.ERROR)


def summary_key(stream_id: int) -> str:
    return f"show:{stream_id}:health"


class Compositor(Protocol):
    """What the publisher reads from the show's compositor (media/compositor/program.py)."""

    programs: dict[str, Any]

    def track_stats(self) -> dict[str, dict[str, float]]: ...

    def receive_stats(self, timeout: float = 1.0) -> dict[str, Any]: ...


class _Hold:
    """A condition that counts only once it has held for FALLING_BEHIND_SECONDS."""

    def __init__(self) -> None:
        self.since: float | None = None

    def update(self, bad: bool, now: float) -> bool:
        if not bad:
            self.since = None
            return False
        if self.since is None:
            self.since = now
        return now - self.since >= FALLING_BEHIND_SECONDS


class HealthPublisher:
    def __init__(
        self,
        stream_id: int,
        *,
        video_kbps: int = 0,
        audio_kbps: int = 0,
        spool: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream_id = stream_id
        self.configured_kbps = video_kbps + audio_kbps
        self.spool = spool
        self.compositor: Compositor | None = None  # set by the runner once the program source exists
        self.metrics = metrics.ShowMetrics(stream_id, configured_kbps=self.configured_kbps)
        self._clock = clock
        self._lock = threading.Lock()
        self._last_db: dict[int, tuple[float, str, str, bool]] = {}
        self._programs: dict[str, dict[str, Any]] = {}  # canvas → latest program sample
        self._destinations: dict[int, dict[str, Any]] = {}  # destination id → latest sample
        self._program_holds: dict[str, _Hold] = {}
        self._destination_holds: dict[int, _Hold] = {}
        self._track_frames: dict[str, tuple[float, float]] = {}  # source → (time, frames received)
        self._next_receive_stats = 0.0

    # -- the engine's callbacks (health threads: one per canvas) --
    def __call__(self, samples: list[dict[str, Any]]) -> None:
        now = self._clock()
        canvas = "landscape"
        with self._lock:
            for sample in samples:
                canvas = str(sample.get("canvas") or "landscape")
                if sample.get("kind") == "program":
                    self._program(canvas, sample, now)
            for sample in samples:
                if sample.get("kind", "destination") == "destination":
                    self._destination(sample, now)
            behind = any(p["falling_behind"] for p in self._programs.values())
            slow = [d for d in self._destinations.values() if d["falling_behind"]]
            program = dict(self._programs.get("landscape") or next(iter(self._programs.values()), {}))
            destinations = dict(self._destinations)
        self.metrics.set(metrics.FALLING_BEHIND, 1 if behind or slow else 0)
        if canvas == "landscape":
            self._compositor(now)
            self._recording(now)
        group = realtime.hosts_group(self.stream_id)
        for sample in samples:
            if sample.get("kind", "destination") == "destination":
                did = sample["destination_id"]
                shown = destinations[did]
                realtime.publish(group, events.DESTINATION_HEALTH, destination={"id": did, **shown})
                # The row keeps the pusher's own sample (destination_state() reads its word), and the verdict.
                self._summarize(did, {**sample, "falling_behind": shown["falling_behind"]})
        if program and canvas == "landscape":
            program.pop("kind", None)
            program["falling_behind"] = behind or bool(slow)
            # The verdict's sentence, then (once the encoder has stepped down) why and to what: the host reads
            # both, and the reason stays while the show runs at the lower step.
            message = PROGRAM_BEHIND if behind else (DESTINATION_BEHIND if slow else "")
            reason = program.get("reason") or ""
            program["message"] = f"{message}. {reason}" if message and reason else (message or reason)
            program["destinations_behind"] = sorted(d["destination_id"] for d in slow)
            realtime.publish(group, events.PROGRAM_HEALTH, program=program)
            self._store_summary(program, destinations)

    def _program(self, canvas: str, sample: dict[str, Any], now: float) -> None:
        hold = self._program_holds.setdefault(canvas, _Hold())
        rtf = float(sample.get("real_time_factor", 1.0))
        # Not judged before the first window has filled: the factor of a show's first seconds counts the
        # time before its first picture (the compositor joining the room), which is no verdict.
        judged = float(sample.get("wall_seconds", 0.0)) >= RTF_WINDOW_SECONDS
        behind = hold.update(judged and rtf < MIN_REAL_TIME_FACTOR, now)
        # The encoder's own explanation when it stepped down (preset, fps, size), for the host.
        reason = str((sample.get("step") or {}).get("reason") or "")
        self._programs[canvas] = {**sample, "falling_behind": behind, "reason": reason}
        m = self.metrics
        m.set(metrics.REAL_TIME_FACTOR, rtf, canvas)
        m.set(metrics.PROGRAM_FPS, float(sample.get("fps", 0.0)), canvas)
        for outcome in ("encoded", "late", "dropped", "duplicated"):
            m.total(metrics.FRAMES, float(sample.get(f"frames_{outcome}", 0)), canvas, outcome)
        m.set(metrics.ON_SLATE, 1 if sample.get("on_slate") else 0, canvas)
        m.set(metrics.STEP_LEVEL, float((sample.get("step") or {}).get("level", 0)), canvas)

    def _destination(self, sample: dict[str, Any], now: float) -> None:
        did = int(sample["destination_id"])
        kbps, fps = float(sample.get("bitrate_kbps", 0.0)), float(sample.get("fps", 0.0))
        expected = float(self.configured_kbps)
        produced = sample.get("program_kbps")
        if produced is not None and 0 < float(produced) < expected:
            expected = float(produced)
        slow = sample.get("state") == "live" and expected > 0 and kbps < MIN_BITRATE_SHARE * expected
        behind = self._destination_holds.setdefault(did, _Hold()).update(slow, now)
        state = destination_state(stream_status="live", status="", health=sample)
        self._destinations[did] = {
            **sample,
            "pusher_state": sample.get("state"),
            "state": state,
            "state_label": str(DestinationState(state).label),
            "falling_behind": behind,
        }
        m, label = self.metrics, str(did)
        for word in STATES:
            m.set(metrics.DESTINATION_STATE, 1 if state == word else 0, label, str(word))
        m.set(metrics.DESTINATION_BITRATE, kbps, label)
        m.set(metrics.DESTINATION_FPS, fps, label)
        m.set(metrics.DESTINATION_BEHIND, 1 if behind else 0, label)
        m.total(metrics.DESTINATION_BYTES, float(sample.get("bytes_sent", 0)), label)
        m.total(metrics.DESTINATION_RECONNECTS, float(sample.get("reconnects", 0)), label)
        m.total(metrics.DESTINATION_DROPS, float(sample.get("frames_dropped", 0)), label)

    def forget_destination(self, destination_id: int) -> None:
        """A destination removed while live: its series and verdict go (the runner calls this)."""
        with self._lock:
            self._destinations.pop(destination_id, None)
            self._destination_holds.pop(destination_id, None)
        label = str(destination_id)
        for metric in (
            metrics.DESTINATION_BITRATE,
            metrics.DESTINATION_FPS,
            metrics.DESTINATION_BEHIND,
            metrics.DESTINATION_BYTES,
            metrics.DESTINATION_RECONNECTS,
            metrics.DESTINATION_DROPS,
        ):
            self.metrics.forget(metric, label)
        for word in STATES:
            self.metrics.forget(metrics.DESTINATION_STATE, label, str(word))

    # -- engine timings (frame and encoder threads): histograms --
    def frame_timing(self, canvas: str) -> Callable[[str, float], None]:
        render = self.metrics.child(metrics.RENDER_SECONDS, canvas)
        encode = self.metrics.child(metrics.ENCODE_SECONDS, canvas)

        def observe(kind: str, seconds: float) -> None:
            (render if kind == "render" else encode).observe(seconds)

        return observe

    # -- what the engine does not sample: the recording on disk, the compositor --
    def _recording(self, now: float) -> None:
        if self.spool is None:
            return
        try:
            files = [p for p in self.spool.iterdir() if p.suffix in (".mp4", ".webm") and p.is_file()]
            newest = max(files, key=lambda p: p.stat().st_mtime, default=None)
            if newest is None:
                return
            stat = newest.stat()
        except OSError:
            return
        self.metrics.set(metrics.RECORDING_BYTES, stat.st_size)
        self.metrics.set(metrics.RECORDING_LAG, max(0.0, time.time() - stat.st_mtime))

    def _compositor(self, now: float) -> None:
        compositor = self.compositor
        if compositor is None:
            return
        m = self.metrics
        for canvas, program in compositor.programs.items():
            mixer = getattr(program, "mixer", None)
            if mixer is not None:
                m.set(metrics.AUDIO_LEVEL, float(mixer.level_dbfs), canvas)
        tracks = compositor.track_stats()
        m.set(metrics.TRACKS, len(tracks))
        for source, stats in tracks.items():
            then, frames_then = self._track_frames.get(source, (now, stats["frames"]))
            fps = (stats["frames"] - frames_then) / (now - then) if now > then else 0.0
            self._track_frames[source] = (now, stats["frames"])
            m.set(metrics.TRACK_FPS, max(0.0, fps), source)
            m.set(metrics.TRACK_AGE, stats["age"], source)
            m.set(metrics.TRACK_HEIGHT, stats["height"], source)
        for (source,) in m.labelled(metrics.TRACK_AGE) - {(s,) for s in tracks}:
            for metric in (metrics.TRACK_FPS, metrics.TRACK_AGE, metrics.TRACK_HEIGHT):
                m.forget(metric, source)
            self._track_frames.pop(source, None)
        if now >= self._next_receive_stats:
            self._next_receive_stats = now + RECEIVE_STATS_SECONDS
            self._receive_stats(compositor.receive_stats())

    def _receive_stats(self, stats: dict[str, Any]) -> None:
        m = self.metrics
        seen: set[tuple[str, str]] = set()
        for identity, kinds in (stats.get("participants") or {}).items():
            for kind, figures in kinds.items():
                seen.add((identity, kind))
                total = figures["packets_lost"] + figures["packets_received"]
                m.set(metrics.PARTICIPANT_LOSS, figures["packets_lost"] / total if total else 0.0, identity, kind)
                m.set(metrics.PARTICIPANT_JITTER, figures["jitter"], identity, kind)
        for identity, kind in m.labelled(metrics.PARTICIPANT_JITTER) - seen:
            m.forget(metrics.PARTICIPANT_JITTER, identity, kind)
            m.forget(metrics.PARTICIPANT_LOSS, identity, kind)
        if "rtt" in stats:
            m.set(metrics.COMPOSITOR_RTT, float(stats["rtt"]))

    # -- summaries --
    def _store_summary(self, program: dict[str, Any], destinations: dict[int, dict[str, Any]]) -> None:
        summary = {"program": program, "destinations": {str(k): v for k, v in destinations.items()}, "at": time.time()}
        try:
            redis_client.client().set(summary_key(self.stream_id), json.dumps(summary), ex=SUMMARY_TTL_SECONDS)
        except redis_client.RedisUnavailable as exc:
            log.warning("show health summary not stored: %s", type(exc).__name__)

    def _summarize(self, did: int, sample: dict[str, Any]) -> None:
        now = self._clock()
        status = {
            "live": StreamDestination.Status.CONNECTED,
            "error": StreamDestination.Status.ERROR,
            "refused": StreamDestination.Status.ERROR,
        }.get(sample["state"], StreamDestination.Status.DISCONNECTED)
        state = (status, sample["last_error"], bool(sample.get("falling_behind")))
        last = self._last_db.get(did)
        if last and now - last[0] < DB_SUMMARY_SECONDS and last[1:] == state:
            return
        try:
            StreamDestination.objects.filter(pk=did).update(
                status=status, last_error=sample["last_error"], health=sample
            )
        except DatabaseError as exc:
            # The database is restarting: the row catches up on the next sample. A connection the server cut
            # is dropped here, or this thread would keep failing on it after the database is back.
            log.warning("destination %s summary not stored: %s", did, type(exc).__name__)
            close_old_connections()
            return
        self._last_db[did] = (now, *state)

    def close(self) -> None:
        """The show has ended in this process: its series go, and so does the summary."""
        self.metrics.close()
        with contextlib.suppress(*redis_client.RedisUnavailable):
            redis_client.client().delete(summary_key(self.stream_id))

    def thread_exit(self) -> None:
        """Called on the health thread as it ends: its database connection is its own."""
        connection.close()
