"""Reads for the moderation panel."""

from __future__ import annotations

from apps.engagement.models import Comment, Platform
from apps.streams.models import Stream

PANEL_SIZE = 100


def panel_comments(*, stream: Stream, platform: str = "", status: str = "") -> list[Comment]:
    """Newest first, pinned on top, optionally filtered by platform and status (unknown filters are ignored)."""
    qs = Comment.objects.for_stream(stream)
    if platform in Platform.values:
        qs = qs.filter(platform=platform)
    if status in Comment.Status.values:
        qs = qs.filter(status=status)
    return list(qs.order_by("-pinned", "-created_at", "-id")[:PANEL_SIZE])


def pending_count(*, stream: Stream) -> int:
    return Comment.objects.for_stream(stream).filter(status=Comment.Status.PENDING).count()
