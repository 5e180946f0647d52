"""Celery adapters for the studio: take ids, call a service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="studio.expire_guests", ignore_result=True)
def expire_guests_task() -> list[int]:
    """Beat's sweep behind the guests' own timers: a guest whose invite expired leaves the studio everywhere."""
    return services.guests_expire()
