"""API shapes for recordings."""

from __future__ import annotations

from rest_framework import serializers

from .models import Recording


class RecordingOutputSerializer(serializers.ModelSerializer):
    resolution = serializers.CharField(read_only=True)

    class Meta:
        model = Recording
        fields = [
            "id",
            "stream",
            "kind",
            "title",
            "size_bytes",
            "duration_seconds",
            "width",
            "height",
            "resolution",
            "format",
            "bitrate_kbps",
            "segment",
            "created_at",
        ]
        read_only_fields = fields


class RecordingRenameInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=140)
