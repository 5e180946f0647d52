"""API shapes for authentication and the signed-in user."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import User


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        required=False, help_text="Bearer mode only; browsers send the refresh cookie instead."
    )


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class TierLimitsSerializer(serializers.Serializer):
    guests_on_stage = serializers.IntegerField()
    destinations_per_stream = serializers.IntegerField()
    max_height = serializers.IntegerField()
    max_fps = serializers.IntegerField()
    storage_bytes = serializers.IntegerField()


class UserOutputSerializer(serializers.ModelSerializer):
    limits = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "username", "tier", "limits"]
        read_only_fields = fields

    @extend_schema_field(TierLimitsSerializer)
    def get_limits(self, user: User) -> dict[str, Any]:
        return asdict(user.limits)


class AuthOutputSerializer(serializers.Serializer):
    user = UserOutputSerializer()
    access = serializers.CharField(required=False, help_text="Bearer mode only (X-Auth-Mode: bearer).")
    refresh = serializers.CharField(required=False, help_text="Bearer mode only (X-Auth-Mode: bearer).")
