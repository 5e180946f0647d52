"""API shapes for destinations. The stream key goes in, and only its mask comes out."""

from __future__ import annotations

from rest_framework import serializers

from .models import MAX_KEY_LENGTH, MAX_URL_LENGTH, Canvas, DestinationState, Platform, StreamDestination


class DestinationOutputSerializer(serializers.ModelSerializer):
    stream_key = serializers.CharField(
        source="masked_stream_key", read_only=True, help_text="Masked, e.g. ••••1234; the key itself never leaves."
    )
    has_stream_key = serializers.BooleanField(read_only=True)
    state = serializers.ChoiceField(
        choices=DestinationState.choices,
        read_only=True,
        help_text="ready, connecting, live, reconnecting, error or ended: the same word the studio and dashboard show.",
    )

    class Meta:
        model = StreamDestination
        fields = [
            "id",
            "stream",
            "platform",
            "name",
            "rtmp_url",
            "stream_key",
            "has_stream_key",
            "canvas",
            "enabled",
            "status",
            "state",
            "last_error",
            "health",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DestinationInputSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    rtmp_url = serializers.CharField(
        max_length=MAX_URL_LENGTH,
        allow_blank=True,
        required=False,
        help_text="rtmp:// or rtmps://; blank uses the platform's default ingest.",
    )
    stream_key = serializers.CharField(
        max_length=MAX_KEY_LENGTH,
        allow_blank=True,
        required=False,
        write_only=True,
        style={"input_type": "password"},
        help_text="Write-only. On update, blank or absent keeps the stored key.",
    )
    name = serializers.CharField(max_length=80, allow_blank=True, required=False)
    canvas = serializers.ChoiceField(choices=Canvas.choices, required=False)
    enabled = serializers.BooleanField(required=False)
