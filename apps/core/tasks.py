"""Celery adapters of the core app."""

from __future__ import annotations

import time

from celery import shared_task

from apps.core import metrics
from apps.core import redis as redis_client

# Long enough to outlive a few missed beats; beat's endpoint reports the time itself, the alert judges it.
HEARTBEAT_TTL_SECONDS = 3600


@shared_task(name="core.beat_heartbeat", ignore_result=True, expires=60)
def beat_heartbeat_task() -> None:
    """Scheduled by beat, run by a default worker: the time it ran proves beat, broker and workers move."""
    redis_client.client().set(metrics.HEARTBEAT_KEY, f"{time.time():.3f}", ex=HEARTBEAT_TTL_SECONDS)
