"""Writes on stream destinations.

The stream key arrives in plaintext exactly once, here, and leaves encrypted;
nothing in this module logs or returns it.

While a show is live its runner follows these rows (apps/shows/runner.py): a destination added,
enabled, changed, disabled or deleted — from the dashboard, the API or the admin — starts or
stops its push within a second, because every write here wakes the runner on commit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.tiers import Tier, limits_for
from apps.core import realtime
from apps.core.ownership import ensure_owner
from apps.streams.models import Stream

from . import netguard
from .models import DEFAULT_INGEST_URLS, Platform, StreamDestination, reject_key_in_url

UPDATABLE_FIELDS = frozenset({"platform", "rtmp_url", "stream_key", "name", "canvas", "enabled"})
# Ports the protocols use when the URL names none.
DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443}


def _resolve_url(platform: str, rtmp_url: str) -> str:
    rtmp_url = (rtmp_url or "").strip()
    if rtmp_url:
        return rtmp_url
    if platform in DEFAULT_INGEST_URLS:
        return DEFAULT_INGEST_URLS[Platform(platform)]
    raise ValidationError({"rtmp_url": "A custom destination needs its rtmp:// or rtmps:// ingest URL."})


def check_reachable_host(destination: StreamDestination) -> None:
    """SSRF guard: the URL's host must resolve to public addresses only (checked again at connect time)."""
    if destination.rtmp_url in DEFAULT_INGEST_URLS.values():
        return  # our own constants; resolving them here would only make saving depend on DNS
    parts = urlsplit(destination.rtmp_url)
    try:
        netguard.check_host(parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 1935))
    except netguard.PrivateAddressError as exc:
        raise ValidationError({"rtmp_url": str(exc)}, code="private_address") from exc


def _endpoint(url: str) -> tuple[str, str, int | None]:
    """Where a key is sent: scheme, host and port of the ingest URL (the path may change freely)."""
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _validate(destination: StreamDestination, key: str = "") -> None:
    if destination.platform not in Platform.values:
        raise ValidationError({"platform": f"Choose one of {', '.join(Platform.values)}."})
    # full_clean checks scheme, credentials, a key in the URL and length before we spend a DNS lookup.
    destination.full_clean(exclude=["stream"])
    if key:
        try:
            reject_key_in_url(destination.rtmp_url, key)
        except ValidationError as exc:
            raise ValidationError({"rtmp_url": exc}) from None
    check_reachable_host(destination)
    if destination.platform != Platform.CUSTOM and not destination.has_stream_key:
        raise ValidationError(
            {"stream_key": f"Paste the stream key from {Platform(destination.platform).label}."}, code="required"
        )


def destination_limit_check(*, stream: Stream) -> None:
    """Refuse one more destination past the owner's tier limit.

    Every path that adds a destination calls this with the stream row locked
    (select_for_update), so concurrent adds cannot both slip under the limit.
    """
    limits = limits_for(stream.owner)
    if stream.destinations.count() >= limits.destinations_per_stream:
        tier = dict(Tier.CHOICES).get(stream.owner.tier, "Free")
        raise ValidationError(
            {
                "platform": f"The {tier} plan allows {limits.destinations_per_stream} destinations per stream; "
                "remove one or upgrade to add more."
            },
            code="tier_limit",
        )


@transaction.atomic
def destination_create(
    *,
    stream: Stream,
    by: User | None,
    platform: str,
    rtmp_url: str = "",
    stream_key: str = "",
    name: str = "",
    canvas: str = "landscape",
    enabled: bool = True,
) -> StreamDestination:
    ensure_owner(stream.owner_id, by)
    # Lock the stream so concurrent creates cannot both slip under the tier limit.
    stream = Stream.objects.select_for_update().select_related("owner").get(pk=stream.pk)
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"stream": "This stream has ended; add destinations to a new one."})
    destination_limit_check(stream=stream)
    destination = StreamDestination(
        stream=stream,
        platform=platform,
        name=name.strip(),
        canvas=canvas,
        enabled=enabled,
    )
    destination.rtmp_url = _resolve_url(platform, rtmp_url)
    destination.set_stream_key(stream_key or "")
    _validate(destination, (stream_key or "").strip())
    destination.save()
    realtime.wake_show_on_commit(stream.pk)
    return destination


@transaction.atomic
def destination_update(*, destination: StreamDestination, by: User | None, **fields: Any) -> StreamDestination:
    """Change a destination. A blank or missing `stream_key` keeps the stored key, unless the URL now points at
    another server (scheme, host or port): then the key must be given again."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"Unknown destination fields: {', '.join(sorted(unknown))}")
    ensure_owner(destination.stream.owner_id, by)
    destination = StreamDestination.objects.select_for_update().get(pk=destination.pk)
    stream_key = fields.pop("stream_key", "") or ""
    before = _endpoint(destination.rtmp_url)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
    for field, value in fields.items():
        setattr(destination, field, value)
    if "rtmp_url" in fields or "platform" in fields:
        destination.rtmp_url = _resolve_url(destination.platform, fields.get("rtmp_url", destination.rtmp_url))
    if stream_key.strip():
        destination.set_stream_key(stream_key)
    _validate(destination, stream_key.strip())
    if not stream_key.strip() and destination.has_stream_key and _endpoint(destination.rtmp_url) != before:
        # The key was given for one server. Whoever changes where it goes must know it: a stolen session
        # (or a 5-minute API token) must not redirect a long-lived key to a server of its choosing.
        raise ValidationError(
            {"stream_key": "The ingest server changed: paste the stream key again to send it there."},
            code="key_required",
        )
    destination.save()
    realtime.wake_show_on_commit(destination.stream_id)
    return destination


@transaction.atomic
def destination_delete(*, destination: StreamDestination, by: User | None) -> None:
    ensure_owner(destination.stream.owner_id, by)
    stream_id = destination.stream_id
    destination.delete()
    realtime.wake_show_on_commit(stream_id)


@transaction.atomic
def destination_live_set(*, destination: StreamDestination, by: User | None, on: bool) -> StreamDestination:
    """Start or stop one destination's push while its stream is live (it stays enabled / disabled after)."""
    ensure_owner(destination.stream.owner_id, by)
    if not destination.stream.is_live:
        raise ValidationError({"status": "The stream is not live; the destination starts when it goes live."})
    return destination_update(destination=destination, by=by, enabled=on)
