"""Celery adapters for recordings: take ids, call a service."""

from __future__ import annotations

from celery import shared_task

from .services import participant_recording_finalize


@shared_task(name="recordings.finalize_participant", time_limit=3600, soft_time_limit=3500)
def finalize_participant_recording(recording_id: int) -> bool:
    return participant_recording_finalize(recording_id=recording_id)
