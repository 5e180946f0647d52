"""Celery adapters for live shows: take ids, call the service in apps/streams/broadcast.py."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.streams import broadcast


# acks_late + reject_on_worker_lost: a media worker killed mid-show leaves the
# message unacknowledged, so the broker hands it out again and the show resumes;
# the per-stream lock in run_show makes sure it resumes exactly once. The time
# limits are the longest show we accept, not the default task limits.
@shared_task(
    name="media.run_show",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=settings.MAX_SHOW_SECONDS + 600,
    soft_time_limit=settings.MAX_SHOW_SECONDS + 300,
)
def run_show_task(stream_id: int) -> str:
    return broadcast.run_show(stream_id=stream_id)


@shared_task(name="streams.resume_orphan_shows", ignore_result=True)
def resume_orphan_shows_task() -> list[int]:
    return broadcast.broadcast_resume_orphans()
