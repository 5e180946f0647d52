"""LiveKit rooms, access tokens and moderation for a stream's studio.

One room per stream, named `stream-<id>`: opened when the studio opens, deleted
when the show ends. The server does not auto-create rooms (docker/livekit.yaml),
so a token alone never brings a closed studio back.

Tokens are short-lived and carry only what the holder needs:

| who        | identity          | grants                                            |
|------------|-------------------|---------------------------------------------------|
| host       | host-<user id>    | join, publish, subscribe, data, room admin (own)  |
| guest      | guest-<guest id>  | join, publish, subscribe — via a valid invite      |
| compositor | compositor-<id>   | join, subscribe, hidden; no publish               |

A LiveKit token cannot be recalled once issued, so a removed guest is kept out
twice: the invite is revoked (no new token), and the room-join webhook kicks
any identity whose invite is no longer usable (an old token still in hand).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from livekit import api

from apps.accounts.models import User
from apps.core.ownership import ensure_owner
from apps.streams.models import Guest, Stream

T = TypeVar("T")

# Long enough to open the studio page and connect; LiveKit refreshes the token
# of a connected participant itself, so a show can run for hours.
TOKEN_TTL = timedelta(minutes=5)
# Host + 10 guests + compositor, with room for a screen share and a spare seat.
MAX_PARTICIPANTS = 16
# A studio left empty (host reloading, a break) keeps its room this long.
EMPTY_TIMEOUT_SECONDS = 3600
API_TIMEOUT_SECONDS = 10


def room_name(stream: Stream | int) -> str:
    return f"stream-{stream if isinstance(stream, int) else stream.pk}"


def stream_id_from_room(name: str) -> int | None:
    prefix, _, rest = name.partition("-")
    return int(rest) if prefix == "stream" and rest.isdigit() else None


def compositor_identity(stream: Stream) -> str:
    return f"compositor-{stream.pk}"


def guest_id_from_identity(identity: str) -> int | None:
    prefix, _, rest = identity.partition("-")
    return int(rest) if prefix == "guest" and rest.isdigit() else None


def http_url() -> str:
    """RoomService speaks HTTP on the same port as the websocket signal URL."""
    url: str = settings.LIVEKIT_URL
    return url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)


def _call(fn: Callable[[api.LiveKitAPI], Awaitable[T]]) -> T:
    """Run one RoomService call from sync code (views, services, Celery) with a fresh client."""

    async def run() -> T:
        import aiohttp

        lk = api.LiveKitAPI(
            http_url(),
            settings.LIVEKIT_API_KEY,
            settings.LIVEKIT_API_SECRET,
            timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS),
        )
        try:
            return await fn(lk)
        finally:
            await lk.aclose()

    return async_to_sync(run)()


def _token(*, identity: str, name: str, grants: api.VideoGrants, metadata: str = "") -> str:
    token = (
        api.AccessToken(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
        .with_identity(identity)
        .with_name(name)
        .with_grants(grants)
        .with_ttl(TOKEN_TTL)
    )
    if metadata:
        token = token.with_metadata(metadata)
    return token.to_jwt()


# --- rooms ------------------------------------------------------------------------


def rtc_open_room(*, stream: Stream, by: User | None) -> api.Room:
    """Create the stream's room (idempotent: an existing room is returned as is)."""
    ensure_owner(stream.owner_id, by)
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"stream": "This show has ended; its studio cannot open again."})
    request = api.CreateRoomRequest(
        name=room_name(stream), empty_timeout=EMPTY_TIMEOUT_SECONDS, max_participants=MAX_PARTICIPANTS
    )
    return _call(lambda lk: lk.room.create_room(request))


def rtc_close_room(*, stream: Stream, by: User | None) -> bool:
    """Delete the stream's room, disconnecting everyone. False when there was no room."""
    ensure_owner(stream.owner_id, by)
    try:
        _call(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room=room_name(stream))))
    except api.TwirpError as exc:
        if exc.code == "not_found":
            return False
        raise
    return True


def rtc_room_exists(*, stream: Stream) -> bool:
    response = _call(lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=[room_name(stream)])))
    return len(response.rooms) > 0


def rtc_participants(*, stream: Stream) -> list[api.ParticipantInfo]:
    try:
        response = _call(lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room=room_name(stream))))
    except api.TwirpError as exc:
        if exc.code == "not_found":
            return []
        raise
    return list(response.participants)


# --- tokens -----------------------------------------------------------------------


def rtc_host_token(*, stream: Stream, by: User) -> str:
    """The owner's studio token: publish, subscribe and moderate this room only.

    Every guest reads the participant name from the room: it is the username, never the login email.
    """
    ensure_owner(stream.owner_id, by)
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"stream": "This show has ended."})
    grants = api.VideoGrants(
        room_join=True,
        room=room_name(stream),
        room_admin=True,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
    )
    # The name every guest sees in the room: the username, never the login email.
    return _token(identity=stream.host_identity, name=by.public_name, grants=grants, metadata='{"role":"host"}')


def rtc_guest_token(*, invite_token: str) -> tuple[Guest, str]:
    """A guest's studio token, only through an invite that still works; returns the guest too."""
    from apps.streams.services import guest_from_token

    guest = guest_from_token(invite_token)
    if guest.stream.status == Stream.Status.ENDED:
        raise ValidationError("This show has ended.", code="ended")
    grants = api.VideoGrants(
        room_join=True,
        room=room_name(guest.stream),
        can_publish=True,
        can_subscribe=True,
        can_publish_data=False,  # guests talk to the studio through its websocket, never the data channel
    )
    metadata = f'{{"role":"{guest.role}","guest_id":{guest.pk}}}'
    return guest, _token(
        identity=guest.identity, name=guest.display_name or str(guest), grants=grants, metadata=metadata
    )


def rtc_compositor_token(*, stream: Stream) -> str:
    """For the media process: a hidden subscriber that others never see and that publishes nothing."""
    grants = api.VideoGrants(
        room_join=True,
        room=room_name(stream),
        hidden=True,
        can_publish=False,
        can_subscribe=True,
        can_publish_data=False,
    )
    return _token(identity=compositor_identity(stream), name="StreamUs compositor", grants=grants)


# --- moderation -------------------------------------------------------------------


def _find_participant(stream: Stream, identity: str) -> api.ParticipantInfo:
    try:
        return _call(
            lambda lk: lk.room.get_participant(api.RoomParticipantIdentity(room=room_name(stream), identity=identity))
        )
    except api.TwirpError as exc:
        if exc.code == "not_found":
            raise ValidationError({"participant": "That participant is not in the studio."}, code="not_found") from exc
        raise


def rtc_mute(*, stream: Stream, by: User | None, identity: str, kind: str, muted: bool = True) -> list[str]:
    """Mute (or unmute) a participant's microphone (`kind="audio"`) or camera (`"video"`).

    Returns the sids of the tracks changed. The room only: the guest's row, the studio and the
    program are the caller's (apps.studio.services.guest_set_media).
    """
    ensure_owner(stream.owner_id, by)
    if kind not in {"audio", "video"}:
        raise ValidationError({"kind": "Mute audio or video."})
    participant = _find_participant(stream, identity)
    wanted = api.TrackType.AUDIO if kind == "audio" else api.TrackType.VIDEO
    changed = []
    for track in participant.tracks:
        if track.type != wanted:
            continue
        request = api.MuteRoomTrackRequest(room=room_name(stream), identity=identity, track_sid=track.sid, muted=muted)
        _call(lambda lk, request=request: lk.room.mute_published_track(request))  # type: ignore[misc]
        changed.append(track.sid)
    return changed


def rtc_set_can_publish(*, stream: Stream, by: User | None, identity: str, can_publish: bool) -> None:
    """Unpublish all of a participant's tracks (and stop new ones) or allow publishing again."""
    ensure_owner(stream.owner_id, by)
    _find_participant(stream, identity)
    # Only publishing changes: the data channel stays as the token granted it (the host's only).
    can_publish_data = guest_id_from_identity(identity) is None
    permission = api.ParticipantPermission(
        can_subscribe=True, can_publish=can_publish, can_publish_data=can_publish_data
    )
    request = api.UpdateParticipantRequest(room=room_name(stream), identity=identity, permission=permission)
    _call(lambda lk: lk.room.update_participant(request))


def rtc_kick(*, stream_id: int, identity: str) -> bool:
    """Disconnect an identity from the stream's room; False when it was not there."""
    try:
        _call(
            lambda lk: lk.room.remove_participant(
                api.RoomParticipantIdentity(room=room_name(stream_id), identity=identity)
            )
        )
    except api.TwirpError as exc:
        if exc.code == "not_found":
            return False
        raise
    return True


def rtc_remove_participant(*, stream: Stream, by: User | None, identity: str) -> bool:
    """Disconnect any participant (they may rejoin while their token or invite allows)."""
    ensure_owner(stream.owner_id, by)
    return rtc_kick(stream_id=stream.pk, identity=identity)


def identity_allowed(*, stream_id: int, identity: str) -> bool:
    """May this identity stay in this stream's room? Checked on every join the SFU reports."""
    guest_id = guest_id_from_identity(identity)
    if guest_id is None:
        # Host and compositor tokens are only minted for the owner and the media worker.
        return True
    guest = Guest.objects.filter(pk=guest_id, stream_id=stream_id).first()
    return guest is not None and guest.is_usable


def kick_if_not_allowed(*, stream_id: int, identity: str) -> bool:
    """True when the identity was removed because its invite no longer works."""
    if identity_allowed(stream_id=stream_id, identity=identity):
        return False
    rtc_kick(stream_id=stream_id, identity=identity)
    return True


def describe(participant: api.ParticipantInfo) -> dict[str, Any]:
    return {"identity": participant.identity, "name": participant.name, "sid": participant.sid}
