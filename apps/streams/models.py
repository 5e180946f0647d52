from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from apps.core.crypto import hash_token

# name -> (width, height) of the landscape program
RESOLUTIONS: dict[str, tuple[int, int]] = {
    "480p": (854, 480),
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "1440p": (2560, 1440),
    "2160p": (3840, 2160),
}
FPS_CHOICES = [(24, "24"), (25, "25"), (30, "30"), (50, "50"), (60, "60")]


class Layout(models.TextChoices):
    SOLO = "solo", "Solo"
    SIDE_BY_SIDE = "side_by_side", "Side by side"
    GRID = "grid", "Grid"
    PIP = "pip", "Picture in picture"
    SCREEN_SHARE = "screen_share", "Screen share"
    CUSTOM = "custom", "Custom"


class RecordingFormat(models.TextChoices):
    MP4 = "mp4", "MP4 (H.264 / AAC)"
    WEBM = "webm", "WebM (VP9 / Opus)"


class StreamQuerySet(models.QuerySet["Stream"]):
    def owned_by(self, user: Any) -> StreamQuerySet:
        return self.filter(owner=user)


class Stream(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    # The only moves a show makes. Anything else is refused.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.SCHEDULED: {Status.LIVE},
        Status.LIVE: {Status.ENDED},
        Status.ENDED: set(),
    }

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="streams")
    title = models.CharField(max_length=140)
    description = models.TextField(blank=True, max_length=5000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    scheduled_start = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Output settings
    resolution = models.CharField(max_length=8, choices=[(k, k) for k in RESOLUTIONS], default="1080p")
    fps = models.PositiveSmallIntegerField(choices=FPS_CHOICES, default=30)
    video_bitrate_kbps = models.PositiveIntegerField(
        default=4500, validators=[MinValueValidator(300), MaxValueValidator(50000)]
    )
    audio_bitrate_kbps = models.PositiveIntegerField(
        default=160, validators=[MinValueValidator(32), MaxValueValidator(512)]
    )
    layout = models.CharField(max_length=16, choices=Layout.choices, default=Layout.GRID)
    recording_enabled = models.BooleanField(default=True)
    recording_format = models.CharField(max_length=8, choices=RecordingFormat.choices, default=RecordingFormat.MP4)
    vertical_canvas = models.BooleanField(
        default=False, help_text="Also compose a vertical 9:16 program for destinations that ask for it."
    )
    brand_kit = models.ForeignKey(
        "branding.BrandKit", null=True, blank=True, on_delete=models.SET_NULL, related_name="streams"
    )
    # The current scene (layout, who is on stage, overlays) as the studio set it;
    # the layout engine turns it into a scene graph.
    scene = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StreamQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return self.title

    # --- derived values -------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return RESOLUTIONS[self.resolution]

    @property
    def height(self) -> int:
        return self.size[1]

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE

    # --- invariants -----------------------------------------------------------
    def clean(self) -> None:
        super().clean()
        if self.resolution not in RESOLUTIONS:
            raise ValidationError({"resolution": f"Choose one of {', '.join(RESOLUTIONS)}."})
        if self.recording_format == RecordingFormat.WEBM and self.fps > 60:
            raise ValidationError({"fps": "WebM recordings support at most 60 fps."})
        # Keep bitrate sane for the picture size: below this the picture falls apart.
        min_kbps = {480: 300, 720: 1000, 1080: 2500, 1440: 5000, 2160: 10000}[self.height]
        if self.video_bitrate_kbps is not None and self.video_bitrate_kbps < min_kbps:
            raise ValidationError(
                {"video_bitrate_kbps": f"{self.resolution} needs at least {min_kbps} kbps of video bitrate."}
            )

    @property
    def host_identity(self) -> str:
        """The host's participant identity: in the LiveKit room, the studio and the scene."""
        return f"host-{self.owner_id}"

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS.get(self.status, set())

    def transition(self, to: str) -> None:
        """Move to `to`, stamping the time; raises ValidationError on a move the show cannot make."""
        if not self.can_transition(to):
            raise ValidationError(
                {"status": f"A {self.get_status_display().lower()} stream cannot become {to}."},
                code="invalid_transition",
            )
        now = timezone.now()
        if to == self.Status.LIVE:
            self.started_at = now
        elif to == self.Status.ENDED:
            self.ended_at = now
        self.status = to


class GuestQuerySet(models.QuerySet["Guest"]):
    def owned_by(self, user: Any) -> GuestQuerySet:
        return self.filter(stream__owner=user)

    def on_stage(self) -> GuestQuerySet:
        return self.filter(on_stage=True)

    def usable(self) -> GuestQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class Guest(models.Model):
    """A person invited to a stream's studio by link. No account needed."""

    class Role(models.TextChoices):
        HOST = "host", "Host"
        MODERATOR = "moderator", "Moderator"
        GUEST = "guest", "Guest"

    DEFAULT_TTL = timedelta(days=7)

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="guests")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="guest_seats"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    display_name = models.CharField(max_length=80, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.GUEST)
    audio_enabled = models.BooleanField(default=True)
    video_enabled = models.BooleanField(default=True)
    # The host muted the microphone / hid the camera: the guest may ask, but only the host undoes it.
    audio_locked = models.BooleanField(default=False)
    video_locked = models.BooleanField(default=False)
    on_stage = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    # When their sessions were ended everywhere (room, studio and comment sockets) after a revoke or expiry.
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GuestQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.display_name or f"Invite #{self.pk}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def set_token(self, token: str) -> None:
        self.token_hash = hash_token(token)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    @property
    def identity(self) -> str:
        """The participant identity this guest has in the LiveKit room."""
        return f"guest-{self.pk}"
