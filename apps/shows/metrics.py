"""A live show's Prometheus series, in the media pool process that runs it (apps/core/metrics.py: exposition).

Every series carries the show's ``stream_id`` (and a destination id, a canvas, a participant identity
such as ``guest-12``): ids and fixed words, never a title, URL or key. They are born with the show and
removed when it ends (``ShowMetrics.close``), so the endpoint lists only what is on air.
"""

from __future__ import annotations

import builtins
import contextlib
import threading
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

SHOW = ["stream_id"]
CANVAS = ["stream_id", "canvas"]
DESTINATION = ["stream_id", "destination_id"]
FRAME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1, 0.25, 0.5, 1.0)

SHOW_LIVE = Gauge("streamus_show_live", "1 while this process runs the show.", SHOW)
CONFIGURED_KBPS = Gauge(
    "streamus_show_configured_bitrate_kbps", "The show's configured video + audio bitrate (kbit/s).", SHOW
)
FALLING_BEHIND = Gauge(
    "streamus_show_falling_behind", "1 while the studio warns the host that the show is falling behind.", SHOW
)
REAL_TIME_FACTOR = Gauge(
    "streamus_show_real_time_factor",
    "Media seconds the program produced per wall second over the last 5 s (1 = real time).",
    CANVAS,
)
PROGRAM_FPS = Gauge("streamus_show_fps", "Frames the program encoded per second over the last 5 s.", CANVAS)
FRAMES = Counter(
    "streamus_show_frames",
    "Program frames by outcome: encoded, late (after their slot), dropped (slot given up), duplicated (held).",
    [*CANVAS, "outcome"],
)
RENDER_SECONDS = Histogram(
    "streamus_show_frame_render_seconds", "Time to draw (compose) one program frame.", CANVAS, buckets=FRAME_BUCKETS
)
ENCODE_SECONDS = Histogram(
    "streamus_show_frame_encode_seconds", "Time to encode one program frame.", CANVAS, buckets=FRAME_BUCKETS
)
ON_SLATE = Gauge("streamus_show_on_slate", "1 while the program source has nothing and the slate goes out.", CANVAS)
STEP_LEVEL = Gauge("streamus_show_step_level", "How many steps the encoder stepped down (0: as configured).", CANVAS)
AUDIO_LEVEL = Gauge("streamus_program_audio_level_dbfs", "Level of the program's mixed audio (RMS, dBFS).", CANVAS)

DESTINATION_STATE = Gauge(
    "streamus_destination_state",
    "1 for the destination's current state (connecting, live, error, stopped), 0 for the others.",
    [*DESTINATION, "state"],
)
DESTINATION_BITRATE = Gauge(
    "streamus_destination_bitrate_kbps", "What a destination receives, kbit/s over the last second.", DESTINATION
)
DESTINATION_FPS = Gauge("streamus_destination_fps", "Video frames a destination received last second.", DESTINATION)
DESTINATION_BYTES = Counter("streamus_destination_sent_bytes", "Bytes sent to a destination.", DESTINATION)
DESTINATION_RECONNECTS = Counter(
    "streamus_destination_reconnects", "Times a destination's connection failed and was tried again.", DESTINATION
)
DESTINATION_DROPS = Counter(
    "streamus_destination_dropped_frames",
    "Video frames a destination's queue dropped (whole GOPs) because it did not keep up.",
    DESTINATION,
)
DESTINATION_BEHIND = Gauge(
    "streamus_destination_falling_behind", "1 while a destination is shown to the host as falling behind.", DESTINATION
)

RECORDING_BYTES = Gauge("streamus_recording_bytes", "Size on disk of the show's recording so far.", SHOW)
RECORDING_LAG = Gauge("streamus_recording_fragment_lag_seconds", "Seconds since the recording last grew on disk.", SHOW)

TRACKS = Gauge("streamus_compositor_tracks", "Video tracks the compositor receives pictures from.", SHOW)
TRACK_FPS = Gauge(
    "streamus_compositor_track_fps", "Pictures per second received from a source.", ["stream_id", "source"]
)
TRACK_AGE = Gauge(
    "streamus_compositor_track_frame_age_seconds",
    "Age of the newest picture of a source when sampled.",
    ["stream_id", "source"],
)
TRACK_HEIGHT = Gauge(
    "streamus_compositor_track_height_pixels",
    "Height of the pictures received from a source: the simulcast layer the SFU forwards.",
    ["stream_id", "source"],
)
PARTICIPANT_LOSS = Gauge(
    "streamus_participant_packet_loss_ratio",
    "Share of a participant's packets lost on their way to the compositor, since subscribed.",
    ["stream_id", "participant", "kind"],
)
PARTICIPANT_JITTER = Gauge(
    "streamus_participant_jitter_seconds",
    "Interarrival jitter of a participant's track as the compositor receives it.",
    ["stream_id", "participant", "kind"],
)
COMPOSITOR_RTT = Gauge("streamus_compositor_rtt_seconds", "Round-trip time between the compositor and the SFU.", SHOW)


class ShowMetrics:
    """The series of one show in this process. Thread-safe: both canvases' health threads feed it."""

    def __init__(self, stream_id: int, *, configured_kbps: int) -> None:
        self.stream_id = str(stream_id)
        self._lock = threading.Lock()
        self._labelled: dict[Any, builtins.set[tuple[str, ...]]] = {}  # metric → label values used (removed at close)
        self._totals: dict[tuple[Any, tuple[str, ...]], float] = {}  # cumulative figures already counted
        self.set(SHOW_LIVE, 1)
        self.set(CONFIGURED_KBPS, configured_kbps)
        self.set(FALLING_BEHIND, 0)

    def child(self, metric: Any, *labels: str) -> Any:
        values = (self.stream_id, *labels)
        with self._lock:
            self._labelled.setdefault(metric, builtins.set()).add(values)
        return metric.labels(*values)

    def set(self, metric: Any, value: float, *labels: str) -> None:
        self.child(metric, *labels).set(value)

    def observe(self, metric: Any, value: float, *labels: str) -> None:
        self.child(metric, *labels).observe(value)

    def total(self, metric: Any, cumulative: float, *labels: str) -> None:
        """Advance a counter to a cumulative figure the engine keeps (a restarted figure counts from zero)."""
        key = (metric, labels)
        with self._lock:
            before = self._totals.get(key, 0.0)
            self._totals[key] = cumulative
        delta = cumulative - before if cumulative >= before else cumulative
        self.child(metric, *labels).inc(max(0.0, delta))

    def forget(self, metric: Any, *labels: str) -> None:
        """Remove one series (a participant who left, a destination removed while live)."""
        values = (self.stream_id, *labels)
        with self._lock:
            known = self._labelled.get(metric, builtins.set())
            if values not in known:
                return
            known.discard(values)
        metric.remove(*values)

    def labelled(self, metric: Any) -> builtins.set[tuple[str, ...]]:
        with self._lock:
            return {values[1:] for values in self._labelled.get(metric, builtins.set())}

    def close(self) -> None:
        """The show has ended here: every one of its series goes."""
        with self._lock:
            labelled, self._labelled = self._labelled, {}
            self._totals.clear()
        for metric, values in labelled.items():
            for labels in values:
                with contextlib.suppress(KeyError):
                    metric.remove(*labels)
