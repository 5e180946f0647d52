"""Reads for the moderation panel."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

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


def mark_on_screen(*, stream: Stream, comments: list[Comment], auto_hide_seconds: int) -> list[Comment]:
    """Set `on_screen_now` on each comment: shown and not yet auto-hidden (the card hides itself on air)."""
    now = timezone.now()
    for comment in comments:
        shown = comment.shown_on_screen_at
        comment.on_screen_now = shown is not None and (  # type: ignore[attr-defined]
            auto_hide_seconds <= 0 or shown + timedelta(seconds=auto_hide_seconds) > now
        )
    return comments


def pending_count(*, stream: Stream) -> int:
    return Comment.objects.for_stream(stream).filter(status=Comment.Status.PENDING).count()
