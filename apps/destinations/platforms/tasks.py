"""Celery adapters for connected accounts (discovered via streamus/celery.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="destinations.refresh_platform_tokens", ignore_result=True)
def refresh_platform_tokens_task() -> int:
    """Beat: refresh access tokens about to expire, so a show never starts on a dead token."""
    from apps.destinations.platform_services import refresh_expiring_tokens

    return refresh_expiring_tokens()
