"""LiveKit webhooks: who joined or left a studio, as the SFU saw it.

LiveKit signs each webhook with a JWT (our API key and secret) whose `sha256`
claim is the hash of the body; anything that does not verify is refused.
A join by a guest whose invite no longer works (revoked, expired) is undone
at once: that is how a removed guest's old LiveKit token stops working.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from livekit import api

from apps.streams.models import Guest, Stream

from . import services
from .models import RoomParticipant

log = logging.getLogger(__name__)


def receive(*, body: str, authorization: str) -> api.WebhookEvent:
    """The verified event, or PermissionDenied."""
    token = authorization.removeprefix("Bearer ").strip()
    if not token:
        raise PermissionDenied("Missing webhook signature.")
    receiver = api.WebhookReceiver(api.TokenVerifier(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET))
    try:
        return receiver.receive(body, token)
    except Exception as exc:  # jwt, hash and parse errors all mean "not from our SFU"
        raise PermissionDenied("Invalid webhook signature.") from exc


def publish(stream_id: int, event: dict[str, Any]) -> None:
    """Send an event to the stream's studio group (after commit, so a rolled-back write never shows)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(f"stream-{stream_id}", event)

    transaction.on_commit(send)


def _kind(identity: str) -> str:
    prefix = identity.partition("-")[0]
    return {
        "host": RoomParticipant.Kind.HOST,
        "guest": RoomParticipant.Kind.GUEST,
        "compositor": RoomParticipant.Kind.COMPOSITOR,
    }.get(prefix, RoomParticipant.Kind.OTHER)


@transaction.atomic
def webhook_apply(*, event: api.WebhookEvent) -> str:
    """Apply one verified event. Returns what was done (for logs and tests)."""
    if event.event not in {"participant_joined", "participant_left"}:
        return "ignored"
    stream_id = services.stream_id_from_room(event.room.name)
    if stream_id is None or not Stream.objects.filter(pk=stream_id).exists():
        return "ignored"
    participant = event.participant
    identity = participant.identity
    now = timezone.now()
    guest_id = services.guest_id_from_identity(identity)
    guest = Guest.objects.filter(pk=guest_id, stream_id=stream_id).first() if guest_id else None

    if event.event == "participant_joined":
        if not services.identity_allowed(stream_id=stream_id, identity=identity):
            # An old token of a removed guest: out again, and no presence recorded.
            # Right away, not on commit: nothing here is written, and every moment counts.
            services.kick_if_not_allowed(stream_id=stream_id, identity=identity)
            log.info("rtc.kicked", extra={"stream_id": stream_id, "identity": identity})
            return "kicked"
        RoomParticipant.objects.update_or_create(
            stream_id=stream_id,
            identity=identity,
            defaults={
                "guest": guest,
                "name": participant.name,
                "kind": _kind(identity),
                "sid": participant.sid,
                "present": True,
                "joined_at": now,
                "left_at": None,
            },
        )
        if guest is not None and guest.joined_at is None:
            Guest.objects.filter(pk=guest.pk, joined_at__isnull=True).update(joined_at=now)
        if _kind(identity) != RoomParticipant.Kind.COMPOSITOR:
            publish(
                stream_id,
                {
                    "type": "participant.joined",
                    # The studio protocol's participant shape (apps.streams.consumers), merged by id.
                    "participant": {
                        "id": identity,
                        "guest_id": guest.pk if guest else None,
                        "name": participant.name,
                        "in_room": True,
                    },
                },
            )
        return "joined"

    # participant_left: only the session we recorded (a quick rejoin may already have replaced it).
    updated = RoomParticipant.objects.filter(
        stream_id=stream_id, identity=identity, sid__in=[participant.sid, ""]
    ).update(present=False, left_at=now)
    if updated and _kind(identity) != RoomParticipant.Kind.COMPOSITOR:
        publish(
            stream_id,
            {
                "type": "participant.left",
                "participant": {"id": identity, "guest_id": guest.pk if guest else None, "in_room": False},
            },
        )
    return "left" if updated else "ignored"
