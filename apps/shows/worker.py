"""What a media worker (``celery worker -Q media``) does besides running shows: hand over, and resume.

Handing over (SIGTERM: a deploy, a scale-down, Ctrl-C of ``make run``)
    Celery's main process starts a warm shutdown: it stops taking tasks and waits for the running ones.
    A show would run for hours, so the main process tells its pool processes (SIGTERM) and each show
    running there hands over (apps/shows/runner.py): its pushers close, its lease is released and the
    show is queued again, so another media worker takes it within seconds (the slate covers the
    compositor joining); then this worker stores its recording segment and exits. All of it within
    ``settings.MEDIA_STOP_GRACE_SECONDS``, which the compose and Kubernetes files give the worker.
    A second SIGTERM in a pool process ends it at once (the default action).

Measuring itself (honest capacity, apps/shows/capacity.py)
    At start the main process calibrates this machine (a few seconds of one core: x264, the compositor's
    drawing, VP8 decoding) and then publishes it every few seconds, so going live can refuse what no
    worker would carry in real time.

Resuming (a media worker killed outright: SIGKILL, out of memory, the machine gone)
    Its shows' leases lapse within ``runner.LEASE_TTL_MS``. Every media worker's main process looks once
    a second (``shows_resume_orphans``) for live shows nobody holds and queues each again, once, so a free
    worker resumes it within seconds. The unacknowledged message of the dead worker is harmless when it
    comes back: the lease lets one run happen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any

import psutil
from celery import signals
from django.db import DatabaseError, close_old_connections

from apps.core import redis as redis_client
from media.broadcast.capacity import PROBE_EVERY_SECONDS, Calibration, calibrate, probe_available

from . import capacity, runner

log = logging.getLogger(__name__)

MEDIA_QUEUE = "media"
# How often every media worker looks for shows nobody runs.
SUPERVISE_SECONDS = 1.0

_is_media_worker = False
_supervisor: Supervisor | None = None


def _consumes_media(worker: Any) -> bool:
    try:
        queues = worker.app.amqp.queues.consume_from or {}
        return MEDIA_QUEUE in queues
    except AttributeError:
        return False


class Supervisor:
    """The main process's thread: resumes orphaned shows, one step a second; keeps the capacity record."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.calibration: Calibration | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="media-supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def step(self) -> list[int]:
        from .services import shows_resume_orphans

        try:
            return shows_resume_orphans()
        except (DatabaseError, *redis_client.RedisUnavailable) as exc:
            log.warning("Media supervisor: %s; trying again.", type(exc).__name__)
            close_old_connections()
            return []

    def publish_capacity(self) -> None:
        if self.calibration is None:
            return
        with contextlib.suppress(*redis_client.RedisUnavailable):  # published again in a few seconds
            capacity.publish(self.hostname, self.calibration)

    def _run(self) -> None:
        try:
            self.calibration = calibrate()
            log.info("Media worker %s calibrated: %s", self.hostname, self.calibration)
        except Exception:
            log.exception("Media worker %s: calibration failed", self.hostname)
        published, probed = 0.0, time.monotonic()
        while not self._stop.wait(SUPERVISE_SECONDS):
            self.step()
            if self.calibration is not None and time.monotonic() - probed >= PROBE_EVERY_SECONDS:
                self.calibration.note_available(probe_available(self.calibration.cores))
                probed = time.monotonic()
            if time.monotonic() - published >= capacity.PUBLISH_SECONDS:
                self.publish_capacity()
                published = time.monotonic()
        close_old_connections()


@signals.worker_init.connect
def _on_worker_init(sender: Any = None, **kwargs: Any) -> None:
    global _is_media_worker
    _is_media_worker = _consumes_media(sender)


@signals.worker_ready.connect
def _on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    global _supervisor
    if _is_media_worker and _supervisor is None:
        _supervisor = Supervisor(sender.hostname).start()


@signals.worker_process_init.connect
def _on_pool_process_init(**kwargs: Any) -> None:
    """In each pool process of a media worker: the first SIGTERM means 'hand your show over'."""
    if not _is_media_worker:
        return

    def hand_over(signum: int, frame: Any) -> None:
        runner.HANDOVER.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process

    signal.signal(signal.SIGTERM, hand_over)


@signals.worker_shutting_down.connect
def _on_shutting_down(how: str = "", **kwargs: Any) -> None:
    """Main process, warm shutdown: every pool process hands its show over (cold: they are ended anyway)."""
    if not _is_media_worker or how != "Warm":
        return
    for child in psutil.Process(os.getpid()).children():
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue


@signals.worker_shutdown.connect
def _on_worker_shutdown(**kwargs: Any) -> None:
    if _supervisor is not None:
        _supervisor.stop()
