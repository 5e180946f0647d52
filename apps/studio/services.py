"""Actions on the people in a studio: joining, the stage, microphones and cameras, leaving.

Each action owns all of its side effects, whoever asks (studio socket, REST API, dashboard,
admin, beat): it writes the rows, then — once the transaction commits — tells every studio
socket (`participant.*`), republishes the scene when what is on air changed (the compositor
follows it), and makes the LiveKit room agree (mute, kick). A LiveKit that is down does not undo
the write: the room catches up through its join webhook (apps/studio/presence.py).

Keyword-only, atomic, ValidationError with a message a person can act on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.tiers import limits_for
from apps.core import events, realtime
from apps.core.ownership import ensure_owner
from apps.rtc import services as rtc
from apps.streams.models import Guest, Stream

from . import scene
from .payloads import guest_payload

log = logging.getLogger(__name__)

MAX_DISPLAY_NAME = 80
REMOVED = "The host removed you."
REVOKED = "Your invite is no longer valid."
EXPIRED = "Your invite has expired."


def _room(call: Callable[[], Any], what: str) -> None:
    """Make the LiveKit room agree with what was just committed; the row stays the truth if it cannot."""
    try:
        call()
    except ValidationError:
        pass  # not in the room right now: nothing to mute or kick
    except Exception as exc:  # noqa: BLE001 - LiveKit unreachable; its join webhook re-applies the row later
        log.warning("LiveKit %s failed: %s", what, type(exc).__name__)


def _announce(guest: Guest, event: str = events.PARTICIPANT_UPDATED) -> None:
    realtime.publish_on_commit(realtime.stream_group(guest.stream_id), event, participant=guest_payload(guest))


def _locked_guest(guest: Guest) -> Guest:
    return Guest.objects.select_for_update().select_related("stream", "stream__owner").get(pk=guest.pk)


# --- joining ---------------------------------------------------------------------------------


@transaction.atomic
def guest_join(*, guest: Guest, display_name: str) -> Guest:
    """A guest opened their link and told us their name. Rejoining keeps the first join time."""
    name = " ".join(display_name.split())
    if not name:
        raise ValidationError({"display_name": "Tell the host your name."})
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationError({"display_name": f"Keep your name under {MAX_DISPLAY_NAME} characters."})
    guest = _locked_guest(guest)
    if not guest.is_usable:
        raise ValidationError("This invite link no longer works.", code="revoked")
    if guest.stream.status == Stream.Status.ENDED:
        raise ValidationError("This show has ended.", code="ended")
    guest.display_name = name
    if guest.joined_at is None:
        guest.joined_at = timezone.now()
    guest.save(update_fields=["display_name", "joined_at"])
    # The host's studio shows the name as soon as it is known.
    _announce(guest)
    if guest.on_stage:
        scene.scene_publish(stream_id=guest.stream_id)  # the name tag on air changes too
    return guest


GUEST_FIELDS = frozenset({"display_name", "role", "user", "expires_at"})
ROLE_CHANGED = "Your role in this studio changed: open your invite link again."


@transaction.atomic
def guest_update(*, guest: Guest, by: User | None, **fields: Any) -> Guest:
    """Edit an invite (the admin): its name, role, account or expiry, with what each means for a seat in use.

    A new name shows at once in every studio and on the name tag on air; a new role or account ends the
    seat's sessions so that its sockets reconnect with the new rights (the link keeps working); an expiry
    moved into the past ends the session now, as the expiry sweep would.
    """
    unknown = set(fields) - GUEST_FIELDS
    if unknown:
        raise TypeError(f"Unknown invite fields: {', '.join(sorted(unknown))}")
    ensure_owner(guest.stream.owner_id, by)
    guest = _locked_guest(guest)
    before = {name: getattr(guest, name) for name in fields}
    for name, value in fields.items():
        setattr(guest, name, value)
    if "display_name" in fields:
        guest.display_name = " ".join(str(guest.display_name or "").split())
    guest.full_clean(exclude=["token_hash", "stream"])
    changed = [name for name in fields if getattr(guest, name) != before[name]]
    if not changed:
        return guest
    guest.save(update_fields=changed)
    in_use = guest.joined_at is not None and guest.ended_at is None and guest.revoked_at is None
    if not in_use:
        return guest
    if guest.is_expired:
        return guests_expire_one(guest)
    if "role" in changed or "user" in changed:
        _end_sessions(guest, ROLE_CHANGED)
        return guest
    _announce(guest)
    if guest.on_stage and "display_name" in changed:
        scene.scene_publish(stream_id=guest.stream_id)  # the name tag on air
    return guest


def _end_sessions(guest: Guest, reason: str) -> None:
    """On commit: the seat's studio and comment sockets closed with `reason` (the link itself stays valid)."""
    stream_id, guest_id = guest.stream_id, guest.pk
    transaction.on_commit(
        lambda: realtime.publish(realtime.guest_group(stream_id, guest_id), events.SESSION_ENDED, reason=reason),
        robust=True,
    )


# --- the stage -------------------------------------------------------------------------------


@transaction.atomic
def guest_bring_on_stage(*, guest: Guest, by: User | None) -> Guest:
    ensure_owner(guest.stream.owner_id, by)
    # Lock the stream so two concurrent "bring on stage" clicks cannot both pass the count.
    stream = Stream.objects.select_for_update().select_related("owner").get(pk=guest.stream_id)
    guest = _locked_guest(guest)
    if not guest.is_usable:
        raise ValidationError({"guest": "This invite has been revoked or has expired."})
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"stream": "This stream has ended."})
    if guest.on_stage:
        return guest
    limit = limits_for(stream.owner).guests_on_stage
    if Guest.objects.filter(stream=stream, on_stage=True).count() >= limit:
        raise ValidationError(
            {"on_stage": f"At most {limit} guests can be on stage at once; send someone backstage first."},
            code="tier_limit",
        )
    guest.on_stage = True
    guest.save(update_fields=["on_stage"])
    _announce(guest)
    scene.scene_publish(stream_id=stream.pk)
    return guest


@transaction.atomic
def guest_send_backstage(*, guest: Guest, by: User | None) -> Guest:
    ensure_owner(guest.stream.owner_id, by)
    guest = _locked_guest(guest)
    if guest.on_stage:
        guest.on_stage = False
        guest.save(update_fields=["on_stage"])
        _announce(guest)
        scene.scene_publish(stream_id=guest.stream_id)
    return guest


def guest_set_stage(*, guest: Guest, by: User | None, on_stage: bool) -> Guest:
    if on_stage:
        return guest_bring_on_stage(guest=guest, by=by)
    return guest_send_backstage(guest=guest, by=by)


# --- microphones and cameras -----------------------------------------------------------------


def _apply_media(guest: Guest, audio: bool | None, video: bool | None, *, lock: bool | None) -> list[str]:
    fields = []
    for kind, wanted in (("audio", audio), ("video", video)):
        if wanted is None:
            continue
        setattr(guest, f"{kind}_enabled", bool(wanted))
        fields.append(f"{kind}_enabled")
        if lock is not None:
            # A host mute locks; a host unmute lifts the lock (the guest's own switch decides again).
            setattr(guest, f"{kind}_locked", bool(lock and not wanted))
            fields.append(f"{kind}_locked")
    return fields


@transaction.atomic
def guest_set_media(*, guest: Guest, by: User | None, audio: bool | None = None, video: bool | None = None) -> Guest:
    """The host mutes / unmutes a guest's microphone (`audio`) or hides / shows their camera (`video`).

    A host mute is locked: the guest cannot undo it themselves (`guest_set_own_media`), only ask.
    The SFU mutes the published tracks, the program's mix and picture follow, every studio is told.
    """
    ensure_owner(guest.stream.owner_id, by)
    guest = _locked_guest(guest)
    fields = _apply_media(guest, audio, video, lock=True)
    if not fields:
        return guest
    guest.save(update_fields=fields)
    _announce(guest)
    scene.scene_publish(stream_id=guest.stream_id)
    stream, identity = guest.stream, guest.identity
    for kind, wanted in (("audio", audio), ("video", video)):
        if wanted is None or wanted:
            # LiveKit never unmutes anyone remotely (the SFU refuses it): a host's unmute lifts the lock,
            # and the guest's own client follows their row (participant.updated) and unmutes itself.
            continue

        def mute(kind: str = kind) -> None:
            _room(
                lambda: rtc.rtc_mute(stream=stream, by=None, identity=identity, kind=kind, muted=True),
                f"mute {kind} of {identity}",
            )

        transaction.on_commit(mute, robust=True)
    return guest


@transaction.atomic
def guest_set_own_media(*, guest: Guest, audio: bool | None = None, video: bool | None = None) -> Guest:
    """A guest switches their own microphone or camera. Muting is always allowed; undoing a host's mute is not."""
    guest = _locked_guest(guest)
    if not guest.is_usable:
        raise ValidationError("This invite link no longer works.", code="revoked")
    if (audio and guest.audio_locked) or (video and guest.video_locked):
        what = "microphone" if audio and guest.audio_locked else "camera"
        raise ValidationError(
            f"The host turned off your {what}. Ask to be unmuted; the host decides.", code="host_muted"
        )
    fields = _apply_media(guest, audio, video, lock=None)
    if not fields:
        return guest
    guest.save(update_fields=fields)
    _announce(guest)
    scene.scene_publish(stream_id=guest.stream_id)
    return guest


def guest_request_unmute(*, guest: Guest) -> None:
    """A guest the host muted asks to speak: the host's studio shows the request."""
    if not guest.is_usable:
        raise ValidationError("This invite link no longer works.", code="revoked")
    if not (guest.audio_locked or guest.video_locked):
        raise ValidationError("You are not muted by the host: unmute yourself.", code="not_muted")
    realtime.publish(realtime.hosts_group(guest.stream_id), events.UNMUTE_REQUESTED, participant=guest_payload(guest))


# --- the host's own seat -----------------------------------------------------------------------


def host_seat_set(*, stream: Stream, by: User | None, on_stage: bool | None = None, muted: bool | None = None) -> dict:
    """The host steps on or off the stage, or mutes their own microphone in the program's mix."""
    changes: dict[str, Any] = {}
    if on_stage is not None:
        changes["host_on_stage"] = on_stage
    if muted is not None:
        changes["host_muted"] = muted
    return scene.scene_set(stream=stream, by=by, **changes)


# --- leaving ---------------------------------------------------------------------------------


def _end_everywhere(guest: Guest, reason: str, *, was_on_stage: bool) -> None:
    """On commit: out of the LiveKit room, their studio and comment sockets closed, everyone told."""
    stream_id, identity, guest_id = guest.stream_id, guest.identity, guest.pk

    def end() -> None:
        realtime.publish(realtime.guest_group(stream_id, guest_id), events.SESSION_ENDED, reason=reason)
        realtime.publish(
            realtime.stream_group(stream_id),
            events.PARTICIPANT_LEFT,
            participant={"id": identity, "guest_id": guest_id},
        )
        _room(lambda: rtc.rtc_kick(stream_id=stream_id, identity=identity), f"kick {identity}")

    transaction.on_commit(end, robust=True)
    if was_on_stage:
        scene.scene_publish(stream_id=stream_id)


@transaction.atomic
def guest_revoke(*, guest: Guest, by: User | None, reason: str = REVOKED) -> Guest:
    """Withdraw an invite. Whoever was using it is taken out of the studio at once, everywhere."""
    ensure_owner(guest.stream.owner_id, by)
    guest = _locked_guest(guest)
    was_on_stage = guest.on_stage
    now = timezone.now()
    guest.revoked_at = guest.revoked_at or now
    guest.ended_at = now
    guest.on_stage = False
    guest.save(update_fields=["revoked_at", "ended_at", "on_stage"])
    _end_everywhere(guest, reason, was_on_stage=was_on_stage)
    return guest


@transaction.atomic
def guest_delete(*, guest: Guest, by: User | None) -> None:
    """Delete an invite row (the admin). A seat in use is ended everywhere first, as a revoke would."""
    ensure_owner(guest.stream.owner_id, by)
    guest = _locked_guest(guest)
    if guest.joined_at is not None and guest.ended_at is None and guest.revoked_at is None:
        _end_everywhere(guest, REVOKED, was_on_stage=guest.on_stage)
    guest.delete()


def guest_remove(*, guest: Guest, by: User | None) -> Guest:
    """The host takes someone out of the show: the same as a revoke, with the host's words."""
    return guest_revoke(guest=guest, by=by, reason=REMOVED)


@transaction.atomic
def guests_expire(*, now: datetime | None = None) -> list[int]:
    """End the sessions of guests whose invite expired (beat, and each guest's socket at the moment itself).

    Idempotent: a guest is ended once (`ended_at`); a guest who never joined has nothing to end.
    """
    now = now or timezone.now()
    due = list(
        Guest.objects.select_for_update(skip_locked=True)
        .select_related("stream")
        .filter(expires_at__lte=now, ended_at__isnull=True, revoked_at__isnull=True)
    )
    for guest in due:
        guests_expire_one(guest, now=now)
    return [g.pk for g in due]


def guests_expire_one(guest: Guest, *, now: datetime | None = None) -> Guest:
    """End one expired seat (a locked row): out of the studio everywhere if it was in use."""
    was_on_stage = guest.on_stage
    guest.ended_at = now or timezone.now()
    guest.on_stage = False
    guest.save(update_fields=["ended_at", "on_stage"])
    if guest.joined_at is not None:
        _end_everywhere(guest, EXPIRED, was_on_stage=was_on_stage)
    return guest


# --- the LiveKit room --------------------------------------------------------------------------


def public_livekit_url() -> str:
    """The LiveKit URL browsers and the mobile app connect to (LIVEKIT_PUBLIC_URL, else LIVEKIT_URL)."""
    return settings.LIVEKIT_PUBLIC_URL or settings.LIVEKIT_URL


@dataclass(frozen=True)
class RoomAccess:
    """What a client needs to join the stream's LiveKit room."""

    url: str
    token: str
    identity: str
    room: str


def host_room_open(*, stream: Stream, by: User) -> RoomAccess:
    """Open the stream's room (idempotent) and hand its host a short-lived token."""
    rtc.rtc_open_room(stream=stream, by=by)
    token = rtc.rtc_host_token(stream=stream, by=by)
    return RoomAccess(url=public_livekit_url(), token=token, identity=stream.host_identity, room=rtc.room_name(stream))


def guest_room_access(*, invite_token: str) -> tuple[Guest, RoomAccess]:
    """A seated guest's token for the stream's room, the room opened for them if the host has not yet.

    LiveKit never creates a room from a token (`auto_create: false`), so a guest who arrives before the
    host opens the studio (or a show started from the API) would otherwise wait outside forever.
    """
    guest, token = rtc.rtc_guest_token(invite_token=invite_token)
    try:
        rtc.rtc_open_room(stream=guest.stream, by=None)
    except ValidationError:
        raise
    except Exception:  # noqa: BLE001 - LiveKit unreachable: the token works once it is back; the page retries
        log.warning("could not open the room of stream %s for a guest", guest.stream_id, exc_info=True)
    return guest, RoomAccess(
        url=public_livekit_url(), token=token, identity=guest.identity, room=rtc.room_name(guest.stream_id)
    )


# --- screen share ------------------------------------------------------------------------------


@transaction.atomic
def share_set(*, stream: Stream, identity: str, on: bool) -> dict[str, Any]:
    """Someone in the studio starts or stops sharing their screen: the screen-share layout shows it.

    The scene is written as the system (`by=None`): the caller has established that `identity` is
    the person asking (nobody shares for someone else). Guests must be on stage to take the program
    over, and never take it from someone already sharing; the layout follows the share and the layout
    before it comes back when it ends (apps/studio/scene.py, the same for a host's scene.set).
    """
    stream = Stream.objects.select_for_update(of=("self",)).select_related("owner", "brand_kit").get(pk=stream.pk)
    guest_id = rtc.guest_id_from_identity(identity)
    if on and guest_id is not None and not Guest.objects.filter(pk=guest_id, stream=stream, on_stage=True).exists():
        raise ValidationError("Only people on stage can share their screen; the host brings you on stage.")
    sharing = (stream.scene or {}).get("screen_share")
    if on and guest_id is not None and sharing and sharing != identity:
        # A guest never takes the screen away from someone else (the host's slides, another guest's demo).
        raise ValidationError("Someone else is sharing their screen; wait until they stop.")
    if not on and sharing != identity:
        return scene.scene_state(stream)  # someone else's share stays up
    return scene.scene_set(stream=stream, by=None, screen_share=identity if on else None)
