"""Celery adapters: take ids, call a service."""

from __future__ import annotations

from celery import shared_task

from .services import clip_process, upload_sweep_stale

# Normalising a long clip takes a while on two cores; the default 5-minute limit is for short jobs.
CLIP_TIME_LIMIT_S = 4 * 3600


@shared_task(name="library.process_clip", time_limit=CLIP_TIME_LIMIT_S, soft_time_limit=CLIP_TIME_LIMIT_S - 60)
def process_clip(clip_id: int) -> bool:
    return clip_process(clip_id=clip_id)


@shared_task(name="library.sweep_stale_uploads")
def sweep_stale_uploads() -> int:
    return upload_sweep_stale()
