"""Celery adapters for chat ingest: take ids, run the runner, hand over to the next slice."""

from __future__ import annotations

import asyncio

from celery import shared_task
from django.conf import settings

from apps.engagement.ingest import runner
from apps.streams.models import Stream


# A slice stays under the default task time limit (300 s); the next slice is queued
# before this one returns so a show's chat is never left unread for long. Beat's kick
# restarts a chain a crashed worker dropped (the Redis lease stops doubles).
@shared_task(name="engagement.ingest_stream", ignore_result=True, acks_late=True)
def ingest_stream_task(stream_id: int) -> dict[str, str]:
    outcome = asyncio.run(runner.ingest_stream(stream_id, slice_seconds=settings.ENGAGEMENT_INGEST_SLICE_SECONDS))
    live = Stream.objects.filter(pk=stream_id, status=Stream.Status.LIVE).exists()
    finished = outcome and all(reason in {"finished", "auth"} for reason in outcome.values())
    if outcome and live and not finished:
        ingest_stream_task.delay(stream_id)
    return outcome


@shared_task(name="engagement.kick_ingest", ignore_result=True)
def kick_ingest_task() -> int:
    """For beat: make sure every live show has a runner (a running one keeps its lease; the new task exits)."""
    ids = list(Stream.objects.filter(status=Stream.Status.LIVE).values_list("pk", flat=True))
    for stream_id in ids:
        if not runner.realtime.redis_client_str().exists(runner.lease_key(stream_id)):
            ingest_stream_task.delay(stream_id)
    return len(ids)
