"""Writes on streams and their guests.

Every function is keyword-only, runs in a transaction and raises Django's
ValidationError with a message a creator can act on. The HTMX pages, the REST
API and the mobile app all call these; nothing else writes these rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.tiers import Tier, limits_for
from apps.core import ratelimit
from apps.core.crypto import hash_token
from apps.core.ownership import ensure_owner

from .models import RESOLUTIONS, Guest, Stream

# Output settings: editable only before the show goes live, since the
# encoder is configured from them once, at go-live.
SETTINGS_FIELDS = frozenset(
    {
        "resolution",
        "fps",
        "video_bitrate_kbps",
        "audio_bitrate_kbps",
        "layout",
        "recording_enabled",
        "recording_format",
        "vertical_canvas",
        "brand_kit",
    }
)
# Fields a creator may change at any time before the show ends.
TEXT_FIELDS = frozenset({"title", "description"})
UPDATABLE_FIELDS = TEXT_FIELDS | SETTINGS_FIELDS | {"scheduled_start"}


def _tier_name(user: Any) -> str:
    return dict(Tier.CHOICES).get(getattr(user, "tier", Tier.FREE), "Free")


def _check_tier_ceiling(stream: Stream) -> None:
    """The program resolution and frame rate must fit the owner's plan."""
    limits = limits_for(stream.owner)
    if stream.resolution not in RESOLUTIONS:
        return  # full_clean reports the bad choice itself
    if not limits.allows_resolution(stream.height, int(stream.fps)):
        field = "resolution" if stream.height > limits.max_height else "fps"
        raise ValidationError(
            {
                field: (
                    f"The {_tier_name(stream.owner)} plan streams and records up to {limits.ceiling_label}; "
                    f"{stream.resolution} at {stream.fps} fps needs a higher plan."
                )
            },
            code="tier_limit",
        )


def _check_brand_kit(stream: Stream) -> None:
    kit = stream.brand_kit
    if kit is not None and kit.owner_id != stream.owner_id:
        raise ValidationError({"brand_kit": "Choose one of your own brand kits."})


def _validate(stream: Stream) -> None:
    stream.full_clean()
    _check_tier_ceiling(stream)
    _check_brand_kit(stream)


def _reject_unknown(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Unknown stream fields: {', '.join(sorted(unknown))}")


@transaction.atomic
def stream_create(
    *, owner: User, title: str, description: str = "", scheduled_start: datetime | None = None, **settings_fields: Any
) -> Stream:
    _reject_unknown(settings_fields, SETTINGS_FIELDS)
    stream = Stream(owner=owner, title=title, description=description, scheduled_start=scheduled_start)
    for name, value in settings_fields.items():
        setattr(stream, name, value)
    _validate(stream)
    stream.save()
    return stream


@transaction.atomic
def stream_update(*, stream: Stream, by: User | None, **fields: Any) -> Stream:
    """Change a stream. Output settings and schedule only while it is still scheduled."""
    ensure_owner(stream.owner_id, by)
    _reject_unknown(fields, UPDATABLE_FIELDS)
    stream = Stream.objects.select_for_update().select_related("owner").get(pk=stream.pk)
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"status": "This stream has ended and can no longer be edited."})
    changed = {name for name, value in fields.items() if getattr(stream, name) != value}
    locked = sorted(changed & (SETTINGS_FIELDS | {"scheduled_start"}))
    if locked and stream.status != Stream.Status.SCHEDULED:
        raise ValidationError(
            dict.fromkeys(locked, "Output settings cannot change while the stream is live."), code="locked"
        )
    for name, value in fields.items():
        setattr(stream, name, value)
    _validate(stream)
    # Only the fields asked for: the studio writes `scene` on this row while the show runs.
    stream.save(update_fields=[*fields, "updated_at"])
    return stream


@transaction.atomic
def stream_delete(*, stream: Stream, by: User | None) -> None:
    ensure_owner(stream.owner_id, by)
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if stream.is_live:
        raise ValidationError({"status": "End the stream before deleting it."}, code="live")
    stream.delete()


@transaction.atomic
def stream_go_live(*, stream: Stream, by: User | None) -> Stream:
    """scheduled → live. The row lock makes two clicks (or two devices) go live once."""
    ensure_owner(stream.owner_id, by)
    locked = Stream.objects.select_for_update().get(pk=stream.pk)
    locked.transition(Stream.Status.LIVE)
    locked.save(update_fields=["status", "started_at", "updated_at"])
    from apps.streams.broadcast import broadcast_start  # media stack: imported only when a show starts

    broadcast_start(stream=locked, by=by)  # refuses (rolls back) what this worker cannot carry
    return locked


@transaction.atomic
def stream_end(*, stream: Stream, by: User | None) -> Stream:
    """live → ended. Guests still on stage step off; their invites stay for the record."""
    ensure_owner(stream.owner_id, by)
    locked = Stream.objects.select_for_update().get(pk=stream.pk)
    locked.transition(Stream.Status.ENDED)
    locked.save(update_fields=["status", "ended_at", "updated_at"])
    from apps.streams.broadcast import broadcast_stop

    broadcast_stop(stream=locked, by=by)
    Guest.objects.filter(stream=locked, on_stage=True).update(on_stage=False)
    return locked


# --- guests ---------------------------------------------------------------------

MAX_INVITE_TTL = timedelta(days=30)
MIN_INVITE_TTL = timedelta(minutes=1)
# Invites a creator may make per hour: plenty for a show, too few to mint links in bulk.
INVITES_PER_HOUR = 100


@transaction.atomic
def guest_invite(
    *,
    stream: Stream,
    by: User | None,
    role: str = Guest.Role.GUEST,
    display_name: str = "",
    ttl: timedelta | None = None,
) -> tuple[Guest, str]:
    """Create an invite and return it with its token. The token is shown once; only its hash is kept."""
    ensure_owner(stream.owner_id, by)
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"stream": "This stream has ended; guests can no longer be invited."})
    ttl = Guest.DEFAULT_TTL if ttl is None else ttl
    if ttl < MIN_INVITE_TTL or ttl > MAX_INVITE_TTL:
        raise ValidationError({"ttl": f"An invite must last between a minute and {MAX_INVITE_TTL.days} days."})
    owner = stream.owner
    # Keyed by account id and sign-up time, so a reused id (a recreated test database) starts afresh.
    if not ratelimit.hit(f"invites:{owner.pk}:{owner.date_joined.timestamp()}", INVITES_PER_HOUR, 3600):
        raise ValidationError(
            f"You have created {INVITES_PER_HOUR} invites in the last hour; try again later.", code="rate_limited"
        )
    token = Guest.new_token()
    guest = Guest(stream=stream, role=role, display_name=display_name.strip(), expires_at=timezone.now() + ttl)
    guest.set_token(token)
    guest.full_clean()
    guest.save()
    return guest, token


@transaction.atomic
def guest_revoke(*, guest: Guest, by: User | None, reason: str = "Your invite is no longer valid.") -> Guest:
    ensure_owner(guest.stream.owner_id, by)
    guest = Guest.objects.select_for_update().get(pk=guest.pk)
    if guest.revoked_at is None:
        guest.revoked_at = timezone.now()
    guest.on_stage = False
    guest.save(update_fields=["revoked_at", "on_stage"])
    # Close their studio websocket now rather than at its next periodic re-check.
    from apps.streams.consumers import end_guest_session  # the consumer module imports these services

    end_guest_session(guest.stream_id, guest.pk, reason)
    return guest


def guest_from_token(token: str) -> Guest:
    """The guest a join link belongs to, or a ValidationError saying why the link does not work."""
    guest = (
        Guest.objects.select_related("stream", "stream__owner").filter(token_hash=hash_token(token or "")).first()
        if token
        else None
    )
    if guest is None:
        raise ValidationError("This invite link is not valid.", code="invalid")
    if guest.is_revoked:
        raise ValidationError("This invite link has been revoked.", code="revoked")
    if guest.is_expired:
        raise ValidationError("This invite link has expired.", code="expired")
    return guest


@transaction.atomic
def guest_bring_on_stage(*, guest: Guest, by: User | None) -> Guest:
    ensure_owner(guest.stream.owner_id, by)
    # Lock the stream so two concurrent "bring on stage" clicks cannot both pass the count.
    stream = Stream.objects.select_for_update().select_related("owner").get(pk=guest.stream_id)
    guest = Guest.objects.select_for_update().get(pk=guest.pk)
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
    return guest


@transaction.atomic
def guest_send_backstage(*, guest: Guest, by: User | None) -> Guest:
    ensure_owner(guest.stream.owner_id, by)
    guest = Guest.objects.select_for_update().get(pk=guest.pk)
    if guest.on_stage:
        guest.on_stage = False
        guest.save(update_fields=["on_stage"])
    return guest
