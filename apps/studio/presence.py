"""Who is in the studio right now: open studio sockets (Redis) and the LiveKit room (its webhooks).

Sockets: each open studio socket is its own member of one Redis sorted set per stream (`identity`,
NUL, the socket's channel name), scored by when it expires. A live socket renews itself every
RENEW_SECONDS; one that died without running its disconnect (a handshake that timed out under load,
a killed web process) stops renewing and drops out after TTL_SECONDS. Counters (+1 on connect, -1
on disconnect) leaked instead: 19 ghosts stayed online after 177 sockets closed. The set can be
rebuilt (a Redis restart loses it; sockets renew into it), which is why it is not in the database.
It also says how many sockets one seat holds (MAX_SOCKETS_PER_SEAT).

Room: LiveKit reports joins and leaves through signed webhooks (apps/rtc/webhooks.py verifies
them; `room_event_apply` records them). A join by a guest whose invite no longer works is undone
at once: that is how a removed guest's old LiveKit token stops working. A track published by
someone the host muted is muted at once too: a reload or a second device cannot undo the host's mute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import cast

from django.db import transaction
from django.utils import timezone
from livekit import api

from apps.core import events, realtime
from apps.core import redis as redis_client
from apps.rtc import services as rtc
from apps.rtc.models import RoomParticipant
from apps.streams.models import Guest, Stream

log = logging.getLogger(__name__)

# A live socket renews its membership this often; one that stops renewing is gone after TTL_SECONDS.
RENEW_SECONDS = 20.0
TTL_SECONDS = 60.0
# Sockets one seat (the host, or one guest) may hold at once: a few tabs and a phone, not hundreds.
MAX_SOCKETS_PER_SEAT = 5
_SEPARATOR = "\x00"


def presence_key(stream_id: int) -> str:
    # ":online" held the old counters (a hash): a different key, so the two never meet during a deploy.
    return f"streamus:studio:{stream_id}:sockets"


def _identities(members: Sequence[bytes | str]) -> list[str]:
    return [(m.decode() if isinstance(m, bytes) else m).split(_SEPARATOR, 1)[0] for m in members]


def online(stream_id: int, *, now: float | None = None) -> set[str]:
    """Identities with at least one live studio socket."""
    try:
        members = redis_client.client().zrangebyscore(
            presence_key(stream_id), time.time() if now is None else now, "+inf"
        )
    except redis_client.RedisUnavailable:
        return set()
    return set(_identities(cast("list[bytes]", members)))


def people_online(*, now: float | None = None) -> int:
    """Identities with at least one live studio socket, over every studio (beat's `streamus_studio_people`)."""
    client = redis_client.client()
    now = time.time() if now is None else now
    total = 0
    for key in client.scan_iter(match=presence_key(0).replace(":0:", ":*:"), count=500):
        total += len(set(_identities(cast("list[bytes]", client.zrangebyscore(key, now, "+inf")))))
    return total


async def _write(stream_id: int, identity: str, socket: str, now: float | None, *, add: bool) -> list[str]:
    """Add (or renew, or remove) one socket and drop the expired ones; the identities of the live sockets."""
    now = time.time() if now is None else now
    key, member = presence_key(stream_id), f"{identity}{_SEPARATOR}{socket}"
    pipe = redis_client.async_client().pipeline(transaction=True)
    pipe.zremrangebyscore(key, "-inf", now)
    if add:
        pipe.zadd(key, {member: now + TTL_SECONDS})
    else:
        pipe.zrem(key, member)
    pipe.zrange(key, 0, -1)
    pipe.expire(key, int(TTL_SECONDS) + 1)
    results = await pipe.execute()
    return _identities(results[-2])


async def socket_join(stream_id: int, identity: str, socket: str, *, now: float | None = None) -> int:
    """Count this socket in; how many live sockets its identity has now (this one included)."""
    try:
        return (await _write(stream_id, identity, socket, now, add=True)).count(identity)
    except redis_client.RedisUnavailable:
        log.warning("presence update failed for stream %s", stream_id)
        return 1


async def socket_renew(stream_id: int, identity: str, socket: str, *, now: float | None = None) -> None:
    try:
        await _write(stream_id, identity, socket, now, add=True)
    except redis_client.RedisUnavailable:
        log.warning("presence renewal failed for stream %s", stream_id)


async def socket_leave(stream_id: int, identity: str, socket: str, *, now: float | None = None) -> bool:
    """Count this socket out; True while its identity still has another live socket."""
    try:
        return identity in await _write(stream_id, identity, socket, now, add=False)
    except redis_client.RedisUnavailable:
        log.warning("presence update failed for stream %s", stream_id)
        return False


def _kind(identity: str) -> str:
    prefix = identity.partition("-")[0]
    return {
        "host": RoomParticipant.Kind.HOST,
        "guest": RoomParticipant.Kind.GUEST,
        "compositor": RoomParticipant.Kind.COMPOSITOR,
    }.get(prefix, RoomParticipant.Kind.OTHER)


@transaction.atomic
def room_event_apply(*, event: api.WebhookEvent) -> str:
    """Apply one verified LiveKit webhook. Returns what was done (for logs and tests)."""
    if event.event not in {"participant_joined", "participant_left", "track_published"}:
        return "ignored"
    stream_id = rtc.stream_id_from_room(event.room.name)
    if stream_id is None or not Stream.objects.filter(pk=stream_id).exists():
        return "ignored"
    participant = event.participant
    identity = participant.identity
    now = timezone.now()
    guest_id = rtc.guest_id_from_identity(identity)
    guest = Guest.objects.filter(pk=guest_id, stream_id=stream_id).first() if guest_id else None
    group = realtime.stream_group(stream_id)

    if event.event == "track_published":
        return _hold_host_mute(guest, event.track)

    if event.event == "participant_joined":
        if not rtc.identity_allowed(stream_id=stream_id, identity=identity):
            # An old token of a removed guest: out again, and no presence recorded.
            # Right away, not on commit: nothing here is written, and every moment counts.
            rtc.kick_if_not_allowed(stream_id=stream_id, identity=identity)
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
            realtime.publish_on_commit(
                group,
                events.PARTICIPANT_JOINED,
                # The LiveKit name is the guest's display name or the host's username (never an email).
                participant={
                    "id": identity,
                    "guest_id": guest.pk if guest else None,
                    "name": participant.name,
                    "in_room": True,
                },
            )
        return "joined"

    # participant_left: only the session we recorded (a quick rejoin may already have replaced it).
    updated = RoomParticipant.objects.filter(
        stream_id=stream_id, identity=identity, sid__in=[participant.sid, ""]
    ).update(present=False, left_at=now)
    if updated and _kind(identity) != RoomParticipant.Kind.COMPOSITOR:
        realtime.publish_on_commit(
            group,
            events.PARTICIPANT_LEFT,
            participant={"id": identity, "guest_id": guest.pk if guest else None, "in_room": False},
        )
    return "left" if updated else "ignored"


def _hold_host_mute(guest: Guest | None, track: api.TrackInfo) -> str:
    """A track published by someone the host muted starts muted too (a reload, a new device, another client).

    The host's mute is a lock on the guest's row (apps/studio/services.py); a new LiveKit session
    publishes fresh, unmuted tracks, so the room is told again. Only the host lifts the lock.
    """
    kind = "audio" if track.type == api.TrackType.AUDIO else "video"
    if guest is None or not getattr(guest, f"{kind}_locked"):
        return "ignored"
    try:
        rtc.rtc_mute(stream=guest.stream, by=None, identity=guest.identity, kind=kind, muted=True)
    except Exception as exc:  # noqa: BLE001 - LiveKit unreachable: the program's mix still leaves them out
        log.warning("LiveKit mute of %s failed: %s", guest.identity, type(exc).__name__)
        return "ignored"
    return "muted"
