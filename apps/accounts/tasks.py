"""Celery adapters for accounts: the nightly purge of expired credentials."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="accounts.purge_expired_credentials", ignore_result=True)
def purge_expired_credentials() -> dict[str, int]:
    return services.credentials_purge_expired()
