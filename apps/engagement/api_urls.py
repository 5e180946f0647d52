"""Engagement routes under /api/v1/ (custom comment sources)."""

from apps.engagement.urls import api_urlpatterns

urlpatterns = api_urlpatterns
