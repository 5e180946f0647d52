"""Writes on streams and invites, before anyone is in the studio.

Every function is keyword-only, runs in a transaction and raises Django's
ValidationError with a message a creator can act on. The HTMX pages, the REST
API, the admin and the mobile app all call these. What happens to people once
they are in the studio (stage, mute, remove, revoke) is apps/studio/services.py;
going live and ending is apps/shows/services.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.tiers import Tier, limits_for
from apps.core import events, ratelimit, realtime
from apps.core.crypto import hash_token
from apps.core.ownership import ensure_owner

from .models import RESOLUTIONS, Guest, Stream

# Output settings, in the order forms and the API show them. All but the brand kit are locked once
# the show is live: the encoder is configured from them at go-live. A brand kit changes the picture,
# not the encoder, so it may change on air (the runner republishes the scene).
SETTINGS_FIELD_ORDER = (
    "resolution",
    "fps",
    "video_bitrate_kbps",
    "audio_bitrate_kbps",
    "layout",
    "recording_enabled",
    "recording_format",
    "vertical_canvas",
    "brand_kit",
)
SETTINGS_FIELDS = frozenset(SETTINGS_FIELD_ORDER)
LOCKED_WHILE_LIVE = SETTINGS_FIELDS - {"brand_kit"}
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


def _validate(stream: Stream, exclude: Iterable[str] = ()) -> None:
    """Every reason to refuse `stream` at once (fields, the model's own rules, the plan, the kit), so a form
    shows all of them after one submit. Fields in `exclude` were already refused by the caller."""
    errors: dict[str, list[str]] = {}

    def collect(check: Callable[[], None]) -> None:
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(m for m in messages if m not in errors.get(field, []))

    skip = set(exclude)
    collect(lambda: stream.full_clean(exclude=skip or None, validate_constraints=False))
    if not skip & {"resolution", "fps"}:
        collect(lambda: _check_tier_ceiling(stream))
    if "brand_kit" not in skip:
        collect(lambda: _check_brand_kit(stream))
    if errors:
        raise ValidationError(errors)


def stream_check(*, owner: User, stream: Stream | None = None, exclude: Iterable[str] = (), **fields: Any) -> None:
    """Raise every reason `fields` would be refused for a new stream of `owner` (or changes to `stream`),
    without writing: forms ask this so a creator sees all the problems after one submit."""
    candidate = Stream(owner=owner) if stream is None else copy.copy(stream)
    for name, value in fields.items():
        if name in UPDATABLE_FIELDS:
            setattr(candidate, name, value)
    _validate(candidate, exclude=exclude)


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
    locked = sorted(changed & (LOCKED_WHILE_LIVE | {"scheduled_start"}))
    if locked and stream.status != Stream.Status.SCHEDULED:
        raise ValidationError(
            dict.fromkeys(locked, "Output settings cannot change while the stream is live."), code="locked"
        )
    for name, value in fields.items():
        setattr(stream, name, value)
    _validate(stream)
    # Only the fields asked for: the studio writes `scene` on this row while the show runs.
    stream.save(update_fields=[*fields, "updated_at"])
    if changed:
        # An open studio reloads its state: the title, the layout or the brand kit may have changed; a live
        # show's runner looks at once and republishes the scene (apps/shows/runner.py).
        realtime.publish_on_commit(realtime.stream_group(stream.pk), events.STREAM_UPDATED, stream={"id": stream.pk})
        realtime.wake_show_on_commit(stream.pk)
    return stream


@transaction.atomic
def stream_delete(*, stream: Stream, by: User | None) -> None:
    ensure_owner(stream.owner_id, by)
    stream = Stream.objects.select_for_update().get(pk=stream.pk)
    if stream.is_live:
        raise ValidationError({"status": "End the stream before deleting it."}, code="live")
    stream.delete()


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


def invite_link(token: str) -> str:
    """The link a guest opens: always on SITE_URL (never a request's Host header, which a client chooses)."""
    from django.conf import settings
    from django.urls import reverse

    return settings.SITE_URL.rstrip("/") + reverse("guest_join", kwargs={"token": token})


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
