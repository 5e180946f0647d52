"""Serializer pieces shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from .ownership import owned


class OwnedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key the requesting user must own; someone else's id reads as "does not exist"."""

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        queryset = super().get_queryset()
        return owned(queryset, getattr(request, "user", None))
