"""The show's health, sampled once a second outside the frame loop.

The sampler turns the pushers' counters into rates (bitrate, fps) and hands a
list of plain dicts to a callback: one ``"kind": "program"`` sample (the
session's ``program_snapshot()``: media against wall time, frame counters,
timings, the encoder's step; SHOW-HEALTH-CONTRACT.md) first, then one
``"kind": "destination"`` sample per pusher; each names its ``canvas``. The
Django side (apps/shows/health.py) turns them into metrics, studio events and a
summary on the destination row. A sample never contains the stream key or the
ingest URL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from media.broadcast.supervise import name_native_thread

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 1.0

HealthCallback = Callable[[list[dict[str, Any]]], None]


class HealthSampler:
    def __init__(
        self,
        snapshots: Callable[[], list[dict[str, Any]]],
        callback: HealthCallback,
        *,
        program: Callable[[], dict[str, Any]] | None = None,
        canvas: str = "landscape",
    ) -> None:
        self._snapshots = snapshots
        self._program = program
        self._canvas = canvas
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
        """One step: the program's snapshot, then every pusher's with its rates since the previous step."""
        now = time.monotonic()
        out = []
        if self._program is not None:
            out.append({"kind": "program", "canvas": self._canvas, **self._program()})
        for snap in self._snapshots():
            did = snap["destination_id"]
            prev_t, prev = self._previous.get(did, (now, snap))
            dt = max(now - prev_t, 1e-6)
            # bytes_sent stays: the media process counts it (streamus_destination_sent_bytes_total).
            sample = {"kind": "destination", "canvas": self._canvas, **snap}
            sample["bitrate_kbps"] = round((snap["bytes_sent"] - prev["bytes_sent"]) * 8 / 1000 / dt, 1)
            sample["fps"] = round((snap["frames_sent"] - prev["frames_sent"]) / dt, 1)
            if "published_bytes" in snap:
                sample.pop("published_bytes")
                produced = snap["published_bytes"] - prev.get("published_bytes", snap["published_bytes"])
                sample["program_kbps"] = round(produced * 8 / 1000 / dt, 1)
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
