from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models

from apps.core import crypto

MAX_URL_LENGTH = 1024
MAX_KEY_LENGTH = 512


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


class DestinationQuerySet(models.QuerySet["StreamDestination"]):
    def owned_by(self, user: object) -> DestinationQuerySet:
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DestinationQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.display_name

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
