"""The media library: clips a creator uploads to play into shows, and resumable uploads.

A clip keeps only its mezzanine (H.264/AAC MP4, fixed frame rate) and a
thumbnail once processed: that is what plays into a show, and the original is
dropped so it does not count twice against the storage quota.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


def clip_path(instance: MediaClip, filename: str) -> str:
    # Names are ours, never the uploader's: the owner and a random id.
    return f"library/{instance.owner_id}/{instance.uid}/{filename}"


class MediaClipQuerySet(models.QuerySet["MediaClip"]):
    def owned_by(self, user: Any) -> MediaClipQuerySet:
        return self.filter(owner=user)


class MediaClip(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clips")
    uid = models.CharField(max_length=32, editable=False, unique=True, default="")
    title = models.CharField(max_length=140)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    # 0..1 while processing; the page polls it for the progress bar.
    progress = models.FloatField(default=0.0)
    error = models.CharField(max_length=300, blank=True)
    original = models.FileField(upload_to=clip_path, max_length=255, blank=True)
    mezzanine = models.FileField(upload_to=clip_path, max_length=255, blank=True)
    thumbnail = models.FileField(upload_to=clip_path, max_length=255, blank=True)
    # Everything this clip holds in storage, for the quota.
    size_bytes = models.PositiveBigIntegerField(default=0)
    duration_seconds = models.FloatField(default=0.0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    fps = models.FloatField(default=0.0)
    has_audio = models.BooleanField(default=False)
    source_format = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MediaClipQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.uid:
            self.uid = uuid.uuid4().hex
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def progress_percent(self) -> int:
        return round(max(0.0, min(1.0, self.progress)) * 100)

    @property
    def eta_seconds(self) -> int | None:
        """Seconds of processing left, from the pace so far (None until there is a pace to go by).

        Processing started at `updated_at` (the claim sets it; progress updates leave it alone).
        """
        if self.status != self.Status.PROCESSING or self.progress < 0.05:
            return None
        elapsed = (timezone.now() - self.updated_at).total_seconds()
        return max(1, round(elapsed * (1 - self.progress) / self.progress))


class UploadSessionQuerySet(models.QuerySet["UploadSession"]):
    def owned_by(self, user: Any) -> UploadSessionQuerySet:
        return self.filter(owner=user)

    def active(self) -> UploadSessionQuerySet:
        return self.filter(status=UploadSession.Status.ACTIVE)


class UploadSession(models.Model):
    """A resumable upload (tus-like): created with its size, filled chunk by chunk at known offsets.

    Local storage spools chunks to a file under UPLOAD_SPOOL_DIR; S3 sends each
    chunk as one part of a multipart upload, so nothing large stays on the web host.
    """

    class Purpose(models.TextChoices):
        CLIP = "clip", "Library clip"
        PARTICIPANT = "participant", "Participant recording"

    class Status(models.TextChoices):
        ACTIVE = "active", "Uploading"
        COMPLETE = "complete", "Complete"
        ABORTED = "aborted", "Aborted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upload_sessions")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    stream = models.ForeignKey("streams.Stream", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # The studio guest uploading their own local recording (no account: the session holds their seat).
    guest = models.ForeignKey("streams.Guest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=140, blank=True)
    # None while a live recording is still growing (tus "deferred length").
    total_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    received_bytes = models.PositiveBigIntegerField(default=0)
    chunk_bytes = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    storage_name = models.CharField(max_length=255, blank=True)
    s3_upload_id = models.CharField(max_length=255, blank=True)
    s3_parts = models.JSONField(default=list, blank=True)
    clip = models.ForeignKey(MediaClip, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recording = models.ForeignKey(
        "recordings.Recording", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UploadSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Upload {self.id}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class PlaylistQuerySet(models.QuerySet["Playlist"]):
    def owned_by(self, user: Any) -> PlaylistQuerySet:
        return self.filter(owner=user)


class Playlist(models.Model):
    """Clips played one after another into a show."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists")
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlaylistQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_playlist_name")]

    def __str__(self) -> str:
        return self.name


class PlaylistItem(models.Model):
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    # Deleting a clip takes it out of its playlists.
    clip = models.ForeignKey(MediaClip, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["playlist", "position", "id"]

    def __str__(self) -> str:
        return f"{self.playlist} #{self.position}"
