"""API shapes for brand kits and their assets."""

from __future__ import annotations

from rest_framework import serializers

from .models import BrandAsset, BrandKit, hex_colour


class BrandAssetOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = BrandAsset
        fields = [
            "id",
            "kit",
            "kind",
            "original_name",
            "content_type",
            "width",
            "height",
            "size_bytes",
            "x",
            "y",
            "scale",
            "opacity",
            "created_at",
        ]
        read_only_fields = fields


class BrandKitOutputSerializer(serializers.ModelSerializer):
    assets = BrandAssetOutputSerializer(many=True, read_only=True)

    class Meta:
        model = BrandKit
        fields = ["id", "name", "primary_colour", "accent_colour", "font", "assets", "created_at", "updated_at"]
        read_only_fields = fields


class BrandKitInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    primary_colour = serializers.CharField(max_length=7, validators=[hex_colour], required=False)
    accent_colour = serializers.CharField(max_length=7, validators=[hex_colour], required=False)
    font = serializers.CharField(max_length=64, required=False)


class BrandAssetPlacementInputSerializer(serializers.Serializer):
    """Where an asset sits on the canvas, as fractions of the canvas."""

    x = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    y = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    scale = serializers.FloatField(min_value=0.01, max_value=1.0, required=False)
    opacity = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
