"""API shapes for streams and guests. They validate and present; services write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rest_framework import serializers

from apps.branding.models import BrandKit
from apps.core.serializers import OwnedPrimaryKeyRelatedField

from . import services
from .models import FPS_CHOICES, RESOLUTIONS, Guest, Layout, RecordingFormat, Stream


class StreamOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stream
        fields = [
            "id",
            "title",
            "description",
            "status",
            "scheduled_start",
            "started_at",
            "ended_at",
            *services.SETTINGS_FIELD_ORDER,
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class StreamInputSerializer(serializers.Serializer):
    """Create needs a title; PATCH sends only what changes (partial=True)."""

    title = serializers.CharField(max_length=140)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    scheduled_start = serializers.DateTimeField(allow_null=True, required=False)
    resolution = serializers.ChoiceField(choices=list(RESOLUTIONS), required=False)
    fps = serializers.ChoiceField(choices=FPS_CHOICES, required=False)
    video_bitrate_kbps = serializers.IntegerField(min_value=300, max_value=50000, required=False)
    audio_bitrate_kbps = serializers.IntegerField(min_value=32, max_value=512, required=False)
    layout = serializers.ChoiceField(choices=Layout.choices, required=False)
    recording_enabled = serializers.BooleanField(required=False)
    recording_format = serializers.ChoiceField(choices=RecordingFormat.choices, required=False)
    vertical_canvas = serializers.BooleanField(required=False)
    brand_kit = OwnedPrimaryKeyRelatedField(queryset=BrandKit.objects.all(), allow_null=True, required=False)


class GuestOutputSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()

    class Meta:
        model = Guest
        fields = [
            "id",
            "stream",
            "display_name",
            "role",
            "audio_enabled",
            "video_enabled",
            "audio_locked",
            "video_locked",
            "on_stage",
            "state",
            "expires_at",
            "revoked_at",
            "joined_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_state(self, guest: Guest) -> str:
        """usable, expired or revoked."""
        if guest.is_revoked:
            return "revoked"
        return "expired" if guest.is_expired else "usable"


class GuestInviteInputSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=80, allow_blank=True, required=False, default="")
    role = serializers.ChoiceField(choices=Guest.Role.choices, required=False, default=Guest.Role.GUEST)
    ttl_hours = serializers.IntegerField(
        min_value=1, max_value=30 * 24, required=False, help_text="How long the link works; 7 days when omitted."
    )

    def to_service_kwargs(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        hours = data.pop("ttl_hours", None)
        data["ttl"] = timedelta(hours=hours) if hours else None
        return data


class GuestInviteOutputSerializer(GuestOutputSerializer):
    """The invite as created: the only response that ever carries the token."""

    token = serializers.CharField(read_only=True, help_text="Shown once; only its hash is stored.")
    join_url = serializers.CharField(read_only=True)

    class Meta(GuestOutputSerializer.Meta):
        fields = [*GuestOutputSerializer.Meta.fields, "token", "join_url"]
        read_only_fields = fields
