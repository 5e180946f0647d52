from __future__ import annotations

from typing import Any

from django.db import models


def recording_path(instance: Recording, filename: str) -> str:
    return f"recordings/{instance.stream.owner_id}/{instance.stream_id}/{filename}"


class RecordingQuerySet(models.QuerySet["Recording"]):
    def owned_by(self, user: Any) -> RecordingQuerySet:
        return self.filter(stream__owner=user)


class Recording(models.Model):
    class Format(models.TextChoices):
        MP4 = "mp4", "MP4"
        WEBM = "webm", "WebM"

    class Kind(models.TextChoices):
        PROGRAM = "program", "Program"
        PARTICIPANT = "participant", "Participant (local)"

    stream = models.ForeignKey("streams.Stream", on_delete=models.CASCADE, related_name="recordings")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PROGRAM)
    title = models.CharField(max_length=140, blank=True)
    file = models.FileField(upload_to=recording_path, max_length=255)
    size_bytes = models.PositiveBigIntegerField(default=0)
    duration_seconds = models.FloatField(default=0.0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.MP4)
    bitrate_kbps = models.PositiveIntegerField(default=0)
    # A show's program can come in parts: a crash, a hand-over to another media worker or a step down to other
    # encoder settings starts a new file. Parts of one show are numbered in order and listed together.
    segment = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RecordingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or f"Recording of {self.stream}"

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}" if self.width else ""
