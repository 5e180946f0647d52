from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.core import crypto

MAX_URL_LENGTH = 1024
MAX_KEY_LENGTH = 512
# The platforms' ingest hosts: after their application (/live2, /rtmp, /app) comes only the stream key.
PLATFORM_INGEST_DOMAINS = ("youtube.com", "facebook.com", "live-video.net", "twitch.tv")
# Query parameters that carry a credential.
_SECRET_QUERY_NAME = re.compile(r"(?i)key|token|secret|sig|auth|pass")
# Path segments that are instance names, not keys (Wowza's default instance).
_INSTANCE_NAMES = frozenset({"_definst_"})


def _looks_like_key(segment: str) -> bool:
    """A path segment shaped like a generated key: long, mixing digits, cases or separators."""
    if len(segment) < 8 or segment.lower() in _INSTANCE_NAMES:
        return False
    kinds = [r"\d", r"[a-z]", r"[A-Z]", r"[-_.]"]
    return sum(bool(re.search(kind, segment)) for kind in kinds) >= 2


def reject_key_in_url(value: str, key: str = "") -> None:
    """Refuse a URL that carries the stream key (in its path or query): it would be stored and shown in clear.

    The message says where the key goes instead, and never repeats the key.
    """
    parts = urlsplit(value)
    segments = [s for s in parts.path.split("/") if s]
    host = (parts.hostname or "").lower()
    on_platform = any(host == d or host.endswith("." + d) for d in PLATFORM_INGEST_DOMAINS)
    extra = segments[1:]
    if extra and (on_platform or _looks_like_key(extra[-1]) or (key and key in extra)):
        raise ValidationError(
            f"This URL seems to end with your stream key. Enter the URL up to /{segments[0]} here, and paste "
            "the key in the Stream key field: it is stored encrypted and never shown again.",
            code="key_in_url",
        )
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    if any(_SECRET_QUERY_NAME.search(name) for name in names) or (key and key in parts.query):
        raise ValidationError(
            "This URL carries a key or token in its query. Enter the URL without it here, and paste the key in "
            "the Stream key field: it is stored encrypted and never shown again.",
            code="key_in_url",
        )


def validate_ingest_url(value: str) -> None:
    """rtmp:// or rtmps:// with a host, no credentials in the URL, sane length."""
    if len(value) > MAX_URL_LENGTH:
        raise ValidationError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValidationError("The URL contains spaces or control characters.")
    parts = urlsplit(value)
    if parts.scheme not in {"rtmp", "rtmps"}:
        raise ValidationError("Use an rtmp:// or rtmps:// ingest URL.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError("Put credentials in the stream key field, not in the URL.")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValidationError("The URL has an invalid port.") from exc
    if not parts.hostname:
        raise ValidationError("The URL has no host.")
    if port == 0:
        raise ValidationError("The URL has an invalid port.")
    reject_key_in_url(value)


class Platform(models.TextChoices):
    YOUTUBE = "youtube", "YouTube"
    FACEBOOK = "facebook", "Facebook"
    TWITCH = "twitch", "Twitch"
    CUSTOM = "custom", "Custom RTMP"


# Default ingest for each platform, filled in when the creator leaves the URL blank.
DEFAULT_INGEST_URLS = {
    Platform.YOUTUBE: "rtmps://a.rtmps.youtube.com:443/live2",
    Platform.FACEBOOK: "rtmps://live-api-s.facebook.com:443/rtmp",
    Platform.TWITCH: "rtmps://ingest.global-contribute.live-video.net:443/app",
}


class Canvas(models.TextChoices):
    LANDSCAPE = "landscape", "Landscape 16:9"
    VERTICAL = "vertical", "Vertical 9:16"


class PlatformState(models.TextChoices):
    """Where the platform side of a connected destination is (YouTube broadcast, Facebook live video)."""

    NONE = "", "Not created"
    # Created ahead of the show (YouTube scheduled broadcast, Facebook SCHEDULED_UNPUBLISHED).
    SCHEDULED = "scheduled", "Scheduled"
    CREATED = "created", "Created, waiting for video"
    LIVE = "live", "Live on the platform"
    COMPLETE = "complete", "Ended"
    FAILED = "failed", "Failed"


class PrivacyStatus(models.TextChoices):
    PUBLIC = "public", "Public"
    UNLISTED = "unlisted", "Unlisted"
    PRIVATE = "private", "Private"


class DestinationState(models.TextChoices):
    """The one vocabulary for where a destination is, on every page, socket event and API answer."""

    READY = "ready", "Ready"
    CONNECTING = "connecting", "Connecting"
    LIVE = "live", "Live"
    RECONNECTING = "reconnecting", "Reconnecting"
    ERROR = "error", "Error"
    ENDED = "ended", "Ended"


def destination_state(*, stream_status: str, status: str, health: dict[str, Any] | None) -> str:
    """Where a destination is, from the show's status, the row's status and the pusher's last health sample.

    Before the show: ready; after it: ended. During it: live while packets flow; connecting until the
    first connection; reconnecting while the pusher retries after a failure (it never gives up while
    the show runs, the last error is shown beside it); error when the show refused it outright (its
    checks, the platform) or its server refused the stream key (the pusher then only asks again tens of
    seconds apart: media/broadcast/pusher.py).
    """
    if stream_status == "ended":
        return DestinationState.ENDED
    if stream_status != "live":
        return DestinationState.READY
    sample = health or {}
    pusher = sample.get("state")
    if pusher == "live":
        return DestinationState.LIVE
    if pusher == "error" or (pusher == "connecting" and sample.get("reconnects")):
        return DestinationState.RECONNECTING
    if status == StreamDestination.Status.ERROR:
        return DestinationState.ERROR
    return DestinationState.CONNECTING


class DestinationQuerySet(models.QuerySet["StreamDestination"]):
    def owned_by(self, user: Any) -> DestinationQuerySet:
        return self.filter(stream__owner=user)


class StreamDestination(models.Model):
    class Status(models.TextChoices):
        DISCONNECTED = "disconnected", "Disconnected"
        CONNECTED = "connected", "Connected"
        ERROR = "error", "Error"

    stream = models.ForeignKey("streams.Stream", on_delete=models.CASCADE, related_name="destinations")
    platform = models.CharField(max_length=16, choices=Platform.choices, default=Platform.CUSTOM)
    name = models.CharField(max_length=80, blank=True)
    rtmp_url = models.CharField("ingest URL", max_length=MAX_URL_LENGTH, validators=[validate_ingest_url])
    # Fernet ciphertext; decrypted only in the media process at push time.
    stream_key_encrypted = models.TextField(blank=True, editable=False)
    # Last characters of the key, kept apart so masking never needs a decrypt.
    stream_key_hint = models.CharField(max_length=4, blank=True, editable=False)
    canvas = models.CharField(max_length=16, choices=Canvas.choices, default=Canvas.LANDSCAPE)
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DISCONNECTED)
    last_error = models.TextField(blank=True)
    # Summary of the last health sample (bitrate, fps, sent, dropped, reconnects...).
    health = models.JSONField(default=dict, blank=True)
    # --- a connected channel instead of a typed URL + key (platform_services fills these) ---
    account = models.ForeignKey(
        "destinations.ConnectedAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="destinations",
    )
    # Facebook: the page id to go live on ("me" for the profile). Empty for YouTube and Twitch.
    platform_target_id = models.CharField(max_length=128, blank=True)
    # Per-destination title/description; empty means "use the stream's".
    title_override = models.CharField(max_length=140, blank=True)
    description_override = models.TextField(blank=True, max_length=5000)
    privacy = models.CharField(max_length=16, choices=PrivacyStatus.choices, default=PrivacyStatus.PUBLIC)
    # Twitch category (game) name, set on the channel at go-live.
    category = models.CharField(max_length=140, blank=True)
    # YouTube liveBroadcast id or Facebook live video id; YouTube liveStream id.
    platform_broadcast_id = models.CharField(max_length=128, blank=True)
    platform_stream_id = models.CharField(max_length=128, blank=True)
    # What the chat ingest reads: YouTube liveChatId, Twitch channel login, Facebook live video id.
    chat_id = models.CharField(max_length=256, blank=True)
    platform_state = models.CharField(max_length=16, choices=PlatformState.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DestinationQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def state(self) -> str:
        """ready / connecting / live / reconnecting / error / ended (`destination_state`)."""
        return destination_state(stream_status=self.stream.status, status=self.status, health=self.health)

    @property
    def state_label(self) -> str:
        return str(DestinationState(self.state).label)

    @property
    def display_name(self) -> str:
        return self.name or self.get_platform_display()

    # --- the stream key --------------------------------------------------------
    def set_stream_key(self, key: str) -> None:
        key = key.strip()
        if len(key) > MAX_KEY_LENGTH:
            raise ValidationError({"stream_key": f"The stream key is longer than {MAX_KEY_LENGTH} characters."})
        if any(ch.isspace() or ord(ch) < 32 for ch in key):
            raise ValidationError({"stream_key": "The stream key contains spaces or control characters."})
        self.stream_key_encrypted = crypto.encrypt(key) if key else ""
        self.stream_key_hint = key[-4:] if len(key) > 8 else ""

    @property
    def has_stream_key(self) -> bool:
        return bool(self.stream_key_encrypted)

    @property
    def masked_stream_key(self) -> str:
        if not self.stream_key_encrypted:
            return ""
        return crypto.MASK_CHAR * 4 + self.stream_key_hint

    def decrypt_stream_key(self) -> str:
        """Only the media process calls this, right before a push starts."""
        return crypto.decrypt(self.stream_key_encrypted) if self.stream_key_encrypted else ""


# --- connected platform accounts (OAuth) ------------------------------------------


class ConnectedAccountQuerySet(models.QuerySet["ConnectedAccount"]):
    def owned_by(self, user: Any) -> ConnectedAccountQuerySet:
        return self.filter(owner=user)


class ConnectedAccount(models.Model):
    """A YouTube channel, Twitch channel or Facebook user the creator connected with OAuth.

    Tokens are Fernet ciphertext like stream keys; only `apps.destinations.platform_services`
    decrypts them, right before it calls the platform. Facebook pages the user manages are
    listed in `targets` (ids and names only; page tokens are fetched when needed).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        # The platform refused our tokens (revoked, expired, password changed): reconnect.
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connected_accounts")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    external_id = models.CharField(max_length=128)
    display_name = models.CharField(max_length=200, blank=True)
    # The public handle: Twitch login (also the chat channel), YouTube @handle.
    handle = models.CharField(max_length=200, blank=True)
    # Other places this login may go live to: [{"id": ..., "name": ..., "kind": "page"}].
    targets = models.JSONField(default=list, blank=True)
    access_token_encrypted = models.TextField(editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConnectedAccountQuerySet.as_manager()

    class Meta:
        ordering = ["platform", "display_name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "platform", "external_id"], name="unique_connected_account"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.display_name or self.external_id}"

    def set_tokens(self, *, access_token: str, refresh_token: str | None, expires_at: datetime | None) -> None:
        """Store new tokens encrypted; a None refresh token keeps the one we have (Google omits it on refresh)."""
        self.access_token_encrypted = crypto.encrypt(access_token)
        if refresh_token is not None:
            self.refresh_token_encrypted = crypto.encrypt(refresh_token) if refresh_token else ""
        self.token_expires_at = expires_at

    def clear_tokens(self) -> None:
        self.access_token_encrypted = ""
        self.refresh_token_encrypted = ""
        self.token_expires_at = None

    def decrypt_access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted) if self.access_token_encrypted else ""

    def decrypt_refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted) if self.refresh_token_encrypted else ""

    def token_expires_within(self, margin: timedelta) -> bool:
        return self.token_expires_at is not None and self.token_expires_at <= timezone.now() + margin

    def target_name(self, target_id: str) -> str:
        for target in self.targets or []:
            if str(target.get("id")) == str(target_id):
                return str(target.get("name", ""))
        return self.display_name
