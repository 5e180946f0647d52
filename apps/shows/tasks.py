"""Celery adapters for live shows: take ids, call the runner or a service of this app."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from . import runner, services
from . import worker as _media_worker  # noqa: F401 - connects the media worker's hand-over and resume signals


# acks_late + reject_on_worker_lost: a media worker killed mid-show leaves the
# message unacknowledged, so the broker hands it out again and the show resumes;
# the per-stream lease in run_show makes sure it resumes exactly once. The time
# limits are the longest show we accept, not the default task limits.
@shared_task(
    bind=True,
    name="media.run_show",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=settings.MAX_SHOW_SECONDS + 600,
    soft_time_limit=settings.MAX_SHOW_SECONDS + 300,
)
def run_show_task(self: Any, stream_id: int) -> str:
    return runner.run_show(stream_id=stream_id, worker=self.request.hostname)


@shared_task(name="streams.resume_orphan_shows", ignore_result=True)
def resume_orphan_shows_task() -> list[int]:
    return services.shows_resume_orphans()
