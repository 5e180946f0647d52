"""Per-destination health, sampled once a second outside the frame loop.

The sampler turns the pushers' counters into rates (bitrate, fps) and hands a
list of plain dicts to a callback; the Django side publishes them to the
studio's Channels group and stores a summary on the destination row. A
sample never contains the stream key or the ingest URL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from workers.broadcast.supervise import name_native_thread

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 1.0

HealthCallback = Callable[[list[dict[str, Any]]], None]


class HealthSampler:
    def __init__(self, snapshots: Callable[[], list[dict[str, Any]]], callback: HealthCallback) -> None:
        self._snapshots = snapshots
        self._callback = callback
        self._stop = threading.Event()
        self._previous: dict[int, tuple[float, dict[str, Any]]] = {}
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)

    def sample(self) -> list[dict[str, Any]]:
        """One step: snapshot every pusher and compute rates since the previous step."""
        now = time.monotonic()
        out = []
        for snap in self._snapshots():
            did = snap["destination_id"]
            prev_t, prev = self._previous.get(did, (now, snap))
            dt = max(now - prev_t, 1e-6)
            sample = dict(snap)
            sample.pop("bytes_sent", None)
            sample["bitrate_kbps"] = round((snap["bytes_sent"] - prev["bytes_sent"]) * 8 / 1000 / dt, 1)
            sample["fps"] = round((snap["frames_sent"] - prev["frames_sent"]) / dt, 1)
            self._previous[did] = (now, snap)
            out.append(sample)
        return out

    def _run(self) -> None:
        name_native_thread()
        self.sample()
        try:
            while not self._stop.wait(SAMPLE_SECONDS):
                try:
                    self._callback(self.sample())
                except Exception:  # a broken publisher must not end the show
                    log.exception("health publish failed")
        finally:
            # Per-thread resources of the callback (a database connection) are released on this thread.
            thread_exit = getattr(self._callback, "thread_exit", None)
            if thread_exit is not None:
                thread_exit()
