from __future__ import annotations

from typing import Any

from django.db import models


class RoomParticipantQuerySet(models.QuerySet["RoomParticipant"]):
    def owned_by(self, user: Any) -> RoomParticipantQuerySet:
        return self.filter(stream__owner=user)

    def present(self) -> RoomParticipantQuerySet:
        return self.filter(present=True)


class RoomParticipant(models.Model):
    """Who is in a stream's LiveKit room, as the SFU told us through its webhooks.

    One row per identity per stream; rejoining flips `present` back on. The SFU
    is the source of truth; this row is what the studio and the API read.
    """

    class Kind(models.TextChoices):
        HOST = "host", "Host"
        GUEST = "guest", "Guest"
        COMPOSITOR = "compositor", "Compositor"
        OTHER = "other", "Other"

    stream = models.ForeignKey("streams.Stream", on_delete=models.CASCADE, related_name="room_participants")
    guest = models.ForeignKey(
        "streams.Guest", null=True, blank=True, on_delete=models.SET_NULL, related_name="room_participants"
    )
    identity = models.CharField(max_length=128)
    name = models.CharField(max_length=128, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    sid = models.CharField(max_length=64, blank=True)
    present = models.BooleanField(default=False)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    objects = RoomParticipantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "identity"], name="rtc_participant_unique_identity")]
        ordering = ["joined_at", "pk"]

    def __str__(self) -> str:
        return f"{self.identity} in stream {self.stream_id}"
