"""The comment moderation panel's context: the studio page, a moderator's guest page and the panel view share it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.streams.models import Stream

from . import selectors, services
from .models import Comment, ModerationMode, Platform


def panel_context(request: HttpRequest, stream: Stream) -> dict[str, Any]:
    """What templates/engagement/_panel.html needs (the studio and guest pages include it too)."""
    platform = request.GET.get("platform", "")
    status = request.GET.get("status", "")
    options = services.engagement_settings_for(stream)
    comments = selectors.panel_comments(stream=stream, platform=platform, status=status)
    selectors.mark_on_screen(stream=stream, comments=comments, auto_hide_seconds=options.card_auto_hide_seconds)
    return {
        "stream": stream,
        "comments": comments,
        "pending_count": selectors.pending_count(stream=stream),
        "platforms": Platform.choices,
        "statuses": Comment.Status.choices,
        "current_platform": platform,
        "current_status": status,
        "settings": options,
        "modes": ModerationMode.choices,
    }
