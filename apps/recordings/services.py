"""Writes on recordings: rename and delete (recordings are created by the recorder)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.core.ownership import ensure_owner

from .models import Recording


@transaction.atomic
def recording_rename(*, recording: Recording, by: User | None, title: str) -> Recording:
    ensure_owner(recording.stream.owner_id, by)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Give the recording a title."})
    recording.title = title
    recording.full_clean(exclude=["file", "stream"])
    recording.save(update_fields=["title"])
    return recording


@transaction.atomic
def recording_delete(*, recording: Recording, by: User | None) -> None:
    """Delete the row, then the file once the delete is committed (a rollback keeps both)."""
    ensure_owner(recording.stream.owner_id, by)
    stored = recording.file
    recording.delete()
    if stored:
        transaction.on_commit(lambda: stored.storage.delete(stored.name))
