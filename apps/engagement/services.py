"""Engagement actions: each one owns its write, its realtime event (sent on commit) and its checks.

Views, the API, the webhook, ingest workers and the mobile app all call these.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import uuid
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import crypto
from apps.engagement import realtime
from apps.engagement.card import DEFAULT_ACCENT, DEFAULT_PRIMARY, card_content
from apps.engagement.models import (
    MAX_AUTHOR_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    AuthorBan,
    BlockedWord,
    Comment,
    EngagementSettings,
    ModerationMode,
    Platform,
    validate_avatar_url,
)
from apps.engagement.moderation import WordMatcher, count_for_flood, decide
from apps.engagement.sanitize import sanitize_name, sanitize_text
from apps.streams.models import Stream

logger = logging.getLogger(__name__)

# Blocked words are read for every incoming comment; cache them per creator (dropped on change).
BLOCKED_WORDS_CACHE_SECONDS = 300
MAX_MESSAGE_ID_LENGTH = 191
# Signed webhook calls older than this are refused, so a captured request cannot be replayed later.
WEBHOOK_MAX_SKEW_SECONDS = 300


# --- reads used by the actions ----------------------------------------------------


def engagement_settings_for(stream: Stream) -> EngagementSettings:
    settings_row, _ = EngagementSettings.objects.get_or_create(stream=stream)
    return settings_row


def _blocked_words_key(owner_id: int) -> str:
    return f"engagement:blocked_words:{owner_id}"


def blocked_word_matcher(owner_id: int) -> WordMatcher:
    words = cache.get(_blocked_words_key(owner_id))
    if words is None:
        words = list(BlockedWord.objects.filter(owner_id=owner_id).values_list("word", flat=True))
        cache.set(_blocked_words_key(owner_id), words, BLOCKED_WORDS_CACHE_SECONDS)
    return WordMatcher(words)


def comment_payload(comment: Comment) -> dict[str, Any]:
    """What clients receive about a comment (the text is already plain and safe; clients still escape)."""
    return {
        "id": comment.pk,
        "stream": comment.stream_id,
        "platform": comment.platform,
        "author_name": comment.author_name,
        "author_id": comment.author_id,
        "author_initial": comment.author_initial,
        "avatar_url": comment.avatar_url,
        "text": comment.text,
        "created_at": comment.created_at.isoformat(),
        "status": comment.status,
        "moderation_reason": comment.moderation_reason,
        "pinned": comment.pinned,
        "on_screen": comment.shown_on_screen_at is not None,
    }


def _publish_on_commit(comment: Comment, event_type: str) -> None:
    payload = {"comment": comment_payload(comment)}
    stream_id = comment.stream_id
    transaction.on_commit(lambda: realtime.publish(stream_id, event_type, payload))


# --- ingest -------------------------------------------------------------------------


def comment_ingest(
    *,
    stream: Stream,
    platform: str,
    message_id: str,
    author_name: str,
    text: str,
    author_id: str = "",
    avatar_url: str = "",
    sent_at: datetime | None = None,
) -> Comment | None:
    """Store one incoming comment after sanitizing and moderating it.

    Returns the new Comment, or None when this (stream, platform, message id) was
    already stored: platforms re-deliver after reconnects and pages overlap, and
    a comment must never appear twice.
    """
    if platform not in Platform.values:
        raise ValidationError({"platform": f"Unknown platform {platform!r}."})
    message_id = (message_id or "").strip()
    if not message_id or len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise ValidationError({"message_id": "A message id of 1 to 191 characters is required."})
    if Comment.objects.filter(stream=stream, platform=platform, platform_message_id=message_id).exists():
        return None  # seen before; checked first so a re-delivery does not count towards the author's flood

    raw_text = text or ""
    clean_text = sanitize_text(raw_text, max_length=MAX_TEXT_LENGTH)
    clean_name = sanitize_name(author_name, max_length=MAX_AUTHOR_NAME_LENGTH) or "Anonymous"
    author_id = (author_id or "").strip()[:191]
    avatar_url = (avatar_url or "").strip()
    try:
        validate_avatar_url(avatar_url)
    except ValidationError:
        avatar_url = ""  # a bad avatar costs the comment its picture, not its place

    options = engagement_settings_for(stream)
    banned = (
        bool(author_id)
        and AuthorBan.objects.filter(owner_id=stream.owner_id, platform=platform, author_id=author_id).exists()
    )
    flooded = False
    if author_id and not banned:
        count = count_for_flood(
            realtime.redis_client(),
            stream_id=stream.pk,
            platform=platform,
            author_id=author_id,
            window_seconds=options.flood_window_seconds,
        )
        flooded = count > options.flood_max_comments
    verdict = decide(
        text=clean_text,
        mode=options.moderation_mode,
        allow_links=options.allow_links,
        banned=banned,
        blocked_words=blocked_word_matcher(stream.owner_id),
        flooded=flooded,
    )
    try:
        with transaction.atomic():
            comment, created = Comment.objects.get_or_create(
                stream=stream,
                platform=platform,
                platform_message_id=message_id,
                defaults={
                    "author_name": clean_name,
                    "author_id": author_id,
                    "avatar_url": avatar_url,
                    "text": clean_text,
                    "raw_text_length": len(raw_text),
                    "created_at": sent_at or timezone.now(),
                    "status": verdict.status,
                    "moderation_reason": verdict.reason,
                },
            )
            if created:
                _publish_on_commit(comment, "comment.created")
    except IntegrityError:
        return None  # another worker stored the same message between our check and insert
    return comment if created else None


def studio_chat_post(*, stream: Stream, author_name: str, text: str, author_id: str = "") -> Comment | None:
    """A message typed in the studio's own chat (host, moderators, guests)."""
    if not sanitize_text(text):
        raise ValidationError({"text": "Write a message."})
    return comment_ingest(
        stream=stream,
        platform=Platform.STUDIO,
        message_id=uuid.uuid4().hex,
        author_name=author_name,
        author_id=author_id,
        text=text,
    )


# --- moderation actions ------------------------------------------------------------


def _set_status(comment: Comment, status: str) -> Comment:
    with transaction.atomic():
        comment = Comment.objects.select_for_update().get(pk=comment.pk)
        if comment.status == status:
            return comment
        comment.status = status
        fields = ["status"]
        if status == Comment.Status.HIDDEN:
            # A hidden comment leaves the screen and the pin with it.
            if comment.shown_on_screen_at is not None:
                _take_off_screen_locked(comment.stream_id)
                comment.shown_on_screen_at = None
            comment.pinned = False
            fields += ["shown_on_screen_at", "pinned"]
        comment.save(update_fields=fields)
        _publish_on_commit(comment, "comment.updated")
    return comment


def comment_approve(*, comment: Comment, by: Any = None) -> Comment:
    return _set_status(comment, Comment.Status.APPROVED)


def comment_hide(*, comment: Comment, by: Any = None) -> Comment:
    return _set_status(comment, Comment.Status.HIDDEN)


def comment_pin(*, comment: Comment, pinned: bool = True, by: Any = None) -> Comment:
    """Pin (one pinned comment per stream; pinning another unpins it) or unpin."""
    with transaction.atomic():
        comment = Comment.objects.select_for_update().get(pk=comment.pk)
        if pinned and comment.status == Comment.Status.HIDDEN:
            raise ValidationError("A hidden comment cannot be pinned; approve it first.")
        if pinned:
            for other in Comment.objects.filter(stream_id=comment.stream_id, pinned=True).exclude(pk=comment.pk):
                other.pinned = False
                other.save(update_fields=["pinned"])
                _publish_on_commit(other, "comment.updated")
            comment.status = Comment.Status.APPROVED
        comment.pinned = pinned
        comment.save(update_fields=["pinned", "status"])
        _publish_on_commit(comment, "comment.updated")
    return comment


def _take_off_screen_locked(stream_id: int) -> None:
    transaction.on_commit(lambda: realtime.clear_card(stream_id))


def comment_show_on_screen(*, comment: Comment, by: Any = None) -> Comment:
    """Put a comment on the program as a card, replacing whichever was there.

    A pending comment is approved by being shown; a hidden one must be approved first.
    """
    with transaction.atomic():
        comment = Comment.objects.select_related("stream__brand_kit").select_for_update(of=("self",)).get(pk=comment.pk)
        if comment.status == Comment.Status.HIDDEN:
            raise ValidationError("A hidden comment cannot go on screen; approve it first.")
        stream = comment.stream
        previous = list(Comment.objects.filter(stream=stream, shown_on_screen_at__isnull=False).exclude(pk=comment.pk))
        for other in previous:
            other.shown_on_screen_at = None
            other.save(update_fields=["shown_on_screen_at"])
            _publish_on_commit(other, "comment.updated")
        now = timezone.now()
        comment.status = Comment.Status.APPROVED
        comment.shown_on_screen_at = now
        comment.save(update_fields=["status", "shown_on_screen_at"])
        options = engagement_settings_for(stream)
        kit = stream.brand_kit
        card = card_content(
            comment_id=comment.pk,
            platform=comment.platform,
            author_name=comment.author_name,
            avatar_url=comment.avatar_url,
            text=comment.text,
            shown_at=now,
            auto_hide_seconds=options.card_auto_hide_seconds,
            primary_colour=kit.primary_colour if kit else DEFAULT_PRIMARY,
            accent_colour=kit.accent_colour if kit else DEFAULT_ACCENT,
        )
        ttl = options.card_auto_hide_seconds + 5 if options.card_auto_hide_seconds else None
        stream_id = stream.pk
        transaction.on_commit(lambda: realtime.write_card(stream_id, card, ttl))
        payload = {"comment": comment_payload(comment), "card": card}
        transaction.on_commit(lambda: realtime.publish(stream_id, "comment.on_screen", payload))
    return comment


def comment_take_off_screen(*, stream: Stream, by: Any = None) -> None:
    """Remove the card from the program (whatever comment it shows)."""
    with transaction.atomic():
        shown = list(Comment.objects.select_for_update().filter(stream=stream, shown_on_screen_at__isnull=False))
        for comment in shown:
            comment.shown_on_screen_at = None
            comment.save(update_fields=["shown_on_screen_at"])
            _publish_on_commit(comment, "comment.updated")
        stream_id = stream.pk
        _take_off_screen_locked(stream_id)
        transaction.on_commit(lambda: realtime.publish(stream_id, "comment.off_screen", {"stream": stream_id}))


def author_ban(*, stream: Stream, platform: str, author_id: str, author_name: str = "", by: Any = None) -> AuthorBan:
    """Ban an author from all of this creator's shows on that platform, and hide what they said in this one."""
    if platform not in Platform.values:
        raise ValidationError({"platform": f"Unknown platform {platform!r}."})
    if not author_id:
        raise ValidationError({"author_id": "This comment has no author id to ban."})
    with transaction.atomic():
        ban, _ = AuthorBan.objects.get_or_create(
            owner_id=stream.owner_id,
            platform=platform,
            author_id=author_id,
            defaults={"author_name": sanitize_name(author_name)},
        )
        for comment in Comment.objects.filter(stream=stream, platform=platform, author_id=author_id).exclude(
            status=Comment.Status.HIDDEN
        ):
            _set_status(comment, Comment.Status.HIDDEN)
        stream_id = stream.pk
        event = {"platform": platform, "author_id": author_id}
        transaction.on_commit(lambda: realtime.publish(stream_id, "comment.author_banned", event))
    return ban


def author_unban(*, ban: AuthorBan, by: Any = None) -> None:
    ban.delete()


def _forget_blocked_words(owner_id: int) -> None:
    # Now, and again on commit: a reader between the two may have cached the old list.
    cache.delete(_blocked_words_key(owner_id))
    transaction.on_commit(lambda: cache.delete(_blocked_words_key(owner_id)))


def blocked_word_add(*, owner: Any, word: str) -> BlockedWord:
    word = sanitize_name(word, max_length=64).casefold()
    if not word:
        raise ValidationError({"word": "Enter a word or phrase."})
    blocked, _ = BlockedWord.objects.get_or_create(owner=owner, word=word)
    _forget_blocked_words(owner.pk)
    return blocked


def blocked_word_remove(*, blocked_word: BlockedWord) -> None:
    owner_id = blocked_word.owner_id
    blocked_word.delete()
    _forget_blocked_words(owner_id)


def moderation_mode_set(*, stream: Stream, mode: str) -> EngagementSettings:
    if mode not in ModerationMode.values:
        raise ValidationError({"moderation_mode": f"Choose one of {', '.join(ModerationMode.values)}."})
    options = engagement_settings_for(stream)
    options.moderation_mode = mode
    options.save(update_fields=["moderation_mode"])
    return options


# --- custom sources: signed webhook ---------------------------------------------------


def webhook_secret_rotate(*, stream: Stream) -> str:
    """A new signing secret for the stream's custom sources; returned once, stored encrypted."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    options = engagement_settings_for(stream)
    options.webhook_secret_encrypted = crypto.encrypt(secret)
    options.save(update_fields=["webhook_secret_encrypted"])
    return secret


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body), the header custom sources send."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook_verify(*, stream: Stream, timestamp: str, signature: str, body: bytes, now: float | None = None) -> None:
    """Raise ValidationError unless the call was signed with the stream's secret within the allowed skew."""
    options = engagement_settings_for(stream)
    if not options.webhook_secret_encrypted:
        raise ValidationError("This stream has no webhook secret.")
    try:
        sent = int(timestamp)
    except (TypeError, ValueError) as exc:
        raise ValidationError("Missing or malformed timestamp.") from exc
    if abs((now if now is not None else time.time()) - sent) > WEBHOOK_MAX_SKEW_SECONDS:
        raise ValidationError("The timestamp is too far from now.")
    expected = webhook_signature(crypto.decrypt(options.webhook_secret_encrypted), timestamp, body)
    if not hmac.compare_digest(expected, signature or ""):
        raise ValidationError("Bad signature.")
