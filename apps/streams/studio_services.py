"""Writes the studio makes that the stream services do not cover: a guest joining, muting.

Same rules as `services.py`: keyword-only, atomic, ValidationError with a message
a person can act on. Realtime events go out on commit through
`apps.streams.consumers.publish` so a rolled-back write never reaches a browser.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.ownership import ensure_owner

from .models import Guest, Stream

MAX_DISPLAY_NAME = 80


@transaction.atomic
def guest_join(*, guest: Guest, display_name: str) -> Guest:
    """A guest opened their link and told us their name. Rejoining keeps the first join time."""
    name = " ".join(display_name.split())
    if not name:
        raise ValidationError({"display_name": "Tell the host your name."})
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationError({"display_name": f"Keep your name under {MAX_DISPLAY_NAME} characters."})
    guest = Guest.objects.select_for_update().select_related("stream").get(pk=guest.pk)
    if not guest.is_usable:
        raise ValidationError("This invite link no longer works.", code="revoked")
    if guest.stream.status == Stream.Status.ENDED:
        raise ValidationError("This show has ended.", code="ended")
    guest.display_name = name
    if guest.joined_at is None:
        guest.joined_at = timezone.now()
    guest.save(update_fields=["display_name", "joined_at"])
    return guest


@transaction.atomic
def guest_set_media(
    *, guest: Guest, by: User | Guest | None, audio: bool | None = None, video: bool | None = None
) -> Guest:
    """Mute / unmute a guest's microphone or hide their camera.

    `by` is the host (a User owning the stream) or the guest themself; nobody else.
    """
    if isinstance(by, Guest):
        if by.pk != guest.pk:
            raise ValidationError("Guests can only mute themselves.", code="forbidden")
    else:
        ensure_owner(guest.stream.owner_id, by)
    guest = Guest.objects.select_for_update().get(pk=guest.pk)
    fields = []
    if audio is not None:
        guest.audio_enabled = bool(audio)
        fields.append("audio_enabled")
    if video is not None:
        guest.video_enabled = bool(video)
        fields.append("video_enabled")
    if fields:
        guest.save(update_fields=fields)
    return guest
