"""Moderation panel (HTMX partials), studio chat, and the signed webhook for custom sources.

Each view authorises through apps/streams/seats.py, calls one service, renders.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.engagement import realtime, selectors, services
from apps.engagement.models import Comment, Platform
from apps.engagement.panel import panel_context
from apps.streams.models import Stream
from apps.streams.seats import stream_for_moderation, studio_participant

INVALID = 422
# A custom source may send this many comments in one call.
WEBHOOK_MAX_BATCH = 100
WEBHOOK_MAX_BODY_BYTES = 256 * 1024


@require_GET
def panel(request: HttpRequest, stream_id: int) -> HttpResponse:
    """The whole panel, only the feed (`?feed=1`), or the feed as JSON (`?format=json`).

    The JSON is what the studio's live panel (static/src/studio/comments.js) loads each time its
    websocket (re)connects, before applying the `comment.*` events that follow: the same
    payloads as the events, plus the pending count and the card on screen now.
    """
    stream = stream_for_moderation(request, stream_id)
    if request.GET.get("format") == "json":
        return JsonResponse(_feed_json(request, stream))
    template = "engagement/_feed.html" if request.GET.get("feed") else "engagement/_panel.html"
    return render(request, template, panel_context(request, stream))


def _feed_json(request: HttpRequest, stream: Stream) -> dict[str, Any]:
    options = services.engagement_settings_for(stream)
    comments = selectors.panel_comments(
        stream=stream, platform=request.GET.get("platform", ""), status=request.GET.get("status", "")
    )
    selectors.mark_on_screen(stream=stream, comments=comments, auto_hide_seconds=options.card_auto_hide_seconds)
    payloads = []
    for comment in comments:
        payload = services.comment_payload(comment)
        # The auto-hidden card is off the program even though the row still has shown_on_screen_at.
        payload["on_screen"] = comment.on_screen_now  # type: ignore[attr-defined]
        payloads.append(payload)
    return {
        "comments": payloads,
        "pending_count": selectors.pending_count(stream=stream),
        "card": realtime.read_card(stream.pk),
    }


def _row(request: HttpRequest, comment: Comment, error: str = "") -> HttpResponse:
    comment.refresh_from_db()
    options = services.engagement_settings_for(comment.stream)
    selectors.mark_on_screen(
        stream=comment.stream, comments=[comment], auto_hide_seconds=options.card_auto_hide_seconds
    )
    context = {"comment": comment, "stream": comment.stream, "error": error}
    return render(request, "engagement/_comment_row.html", context, status=INVALID if error else 200)


@require_POST
def comment_action(request: HttpRequest, stream_id: int, comment_id: int, action: str) -> HttpResponse:
    stream = stream_for_moderation(request, stream_id)
    comment = get_object_or_404(Comment.objects.select_related("stream"), pk=comment_id, stream=stream)
    if action not in services.COMMENT_ACTIONS:
        return HttpResponse(status=404)
    try:
        services.COMMENT_ACTIONS[action](comment, request.user)
    except ValidationError as exc:
        return _row(request, comment, error=" ".join(exc.messages))
    return _row(request, comment)


@require_POST
def take_off_screen(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream = stream_for_moderation(request, stream_id)
    services.comment_take_off_screen(stream=stream, by=request.user)
    return render(request, "engagement/_feed.html", panel_context(request, stream))


@require_POST
def set_mode(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream = stream_for_moderation(request, stream_id)
    try:
        services.moderation_mode_set(stream=stream, mode=request.POST.get("moderation_mode", ""))
    except ValidationError:
        return HttpResponse("Choose a moderation mode.", status=INVALID)
    return render(request, "engagement/_panel.html", panel_context(request, stream))


@require_POST
def studio_chat(request: HttpRequest, stream_id: int) -> HttpResponse:
    """Anyone in the studio may write in its chat; the message goes through the same moderation."""
    who = studio_participant(request, stream_id)
    try:
        comment = services.studio_chat_post(
            stream=who.stream, author_name=who.name, author_id=who.author_id, text=request.POST.get("text", "")
        )
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=INVALID)
    return JsonResponse({"comment": services.comment_payload(comment) if comment else None}, status=201)


# --- custom sources ---------------------------------------------------------------


def _parse_sent_at(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError({"sent_at": "Use an ISO 8601 time."}) from exc
    if parsed.tzinfo is None:
        raise ValidationError({"sent_at": "Include a time zone."})
    return parsed


@csrf_exempt  # authenticated by the HMAC signature, not by a browser session
@require_POST
def webhook(request: HttpRequest, stream_id: int) -> JsonResponse:
    """POST a comment (or {"comments": [...]}) from a custom source, signed with the stream's secret.

    Headers: `X-StreamUs-Timestamp: <unix seconds>` and
    `X-StreamUs-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
    Each comment: id, author_name, text, and optionally author_id, avatar_url, sent_at.
    """
    stream = Stream.objects.filter(pk=stream_id).first()
    if stream is None or len(request.body) > WEBHOOK_MAX_BODY_BYTES:
        return JsonResponse({"error": "not found"}, status=404)
    try:
        services.webhook_verify(
            stream=stream,
            timestamp=request.headers.get("X-StreamUs-Timestamp", ""),
            signature=request.headers.get("X-StreamUs-Signature", ""),
            body=request.body,
        )
    except ValidationError:
        # One answer for every failure: a caller without the secret learns nothing.
        return JsonResponse({"error": "invalid signature"}, status=401)
    try:
        body = json.loads(request.body)
        items = body.get("comments", [body]) if isinstance(body, dict) else None
        if not isinstance(items, list) or not items or len(items) > WEBHOOK_MAX_BATCH:
            raise ValidationError(f"Send one comment or a list of 1 to {WEBHOOK_MAX_BATCH}.")
        stored = 0
        for item in items:
            if not isinstance(item, dict):
                raise ValidationError("Each comment is an object.")
            created = services.comment_ingest(
                stream=stream,
                platform=Platform.CUSTOM,
                message_id=str(item.get("id", "")),
                author_name=str(item.get("author_name", "")),
                author_id=str(item.get("author_id", "")),
                avatar_url=str(item.get("avatar_url", "")),
                text=str(item.get("text", "")),
                sent_at=_parse_sent_at(item.get("sent_at")),
            )
            stored += created is not None
    except (ValueError, ValidationError) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else ["The body is not JSON."]
        return JsonResponse({"error": " ".join(messages)}, status=400)
    return JsonResponse({"received": len(items), "stored": stored}, status=202)


@require_POST
def webhook_secret(request: HttpRequest, stream_id: int) -> HttpResponse:
    """A new signing secret, shown once. Owner only (moderators cannot hand out ingest credentials)."""
    stream = stream_for_moderation(request, stream_id)
    if stream.owner_id != request.user.pk:
        return HttpResponse(status=403)
    secret = services.webhook_secret_rotate(stream=stream)
    return render(request, "engagement/_webhook_secret.html", {"stream": stream, "secret": secret})
