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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import crypto
from apps.engagement import realtime
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
from apps.engagement.moderation import WordMatcher, count_many_for_flood, decide, flood_key
from apps.engagement.sanitize import sanitize_name, sanitize_text
from apps.streams.models import Stream
from media.scene.card import DEFAULT_ACCENT, DEFAULT_PRIMARY, card_content
from media.scene.card import is_visible as is_card_visible

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


class _Recent:
    """A small per-process memo with a time limit, for what every incoming comment reads.

    At 1,000 comments/s a database round trip per comment for the stream's settings and the
    creator's bans is most of the cost. Changes made in this process drop the entry at once;
    other processes see them within TTL_SECONDS.
    """

    TTL_SECONDS = 2.0

    def __init__(self) -> None:
        self._data: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, load: Any) -> Any:
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._data) > 10_000:
            self._data.clear()
        self._data[key] = (now + self.TTL_SECONDS, value)
        return value

    def forget(self, key: Any) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()


_recent = _Recent()


def forget_cached(*, stream_id: int | None = None, owner_id: int | None = None) -> None:
    if stream_id is not None:
        _recent.forget(("settings", stream_id))
    if owner_id is not None:
        _recent.forget(("bans", owner_id))
        _recent.forget(("words", owner_id))


def _ingest_settings(stream: Stream) -> EngagementSettings:
    return _recent.get(("settings", stream.pk), lambda: engagement_settings_for(stream))  # type: ignore[no-any-return]


def _banned_authors(owner_id: int) -> frozenset[tuple[str, str]]:
    def load() -> frozenset[tuple[str, str]]:
        return frozenset(AuthorBan.objects.filter(owner_id=owner_id).values_list("platform", "author_id"))

    return _recent.get(("bans", owner_id), load)  # type: ignore[no-any-return]


def _blocked_words_key(owner_id: int) -> str:
    return f"engagement:blocked_words:{owner_id}"


def blocked_word_matcher(owner_id: int) -> WordMatcher:
    def load() -> WordMatcher:
        words = cache.get(_blocked_words_key(owner_id))
        if words is None:
            words = list(BlockedWord.objects.filter(owner_id=owner_id).values_list("word", flat=True))
            cache.set(_blocked_words_key(owner_id), words, BLOCKED_WORDS_CACHE_SECONDS)
        return WordMatcher(words)

    return _recent.get(("words", owner_id), load)  # type: ignore[no-any-return]


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


@dataclass(frozen=True)
class IncomingMessage:
    """One message as a platform delivered it, before sanitizing and moderation."""

    platform: str
    message_id: str
    author_name: str
    text: str
    author_id: str = ""
    avatar_url: str = ""
    sent_at: datetime | None = None


def _unsaved_comment(stream: Stream, message: IncomingMessage) -> Comment:
    """Validated, sanitized, not yet moderated."""
    if message.platform not in Platform.values:
        raise ValidationError({"platform": f"Unknown platform {message.platform!r}."})
    message_id = (message.message_id or "").strip()
    if not message_id or len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise ValidationError({"message_id": "A message id of 1 to 191 characters is required."})
    raw_text = message.text or ""
    avatar_url = (message.avatar_url or "").strip()
    try:
        validate_avatar_url(avatar_url)
    except ValidationError:
        avatar_url = ""  # a bad avatar costs the comment its picture, not its place
    return Comment(
        stream=stream,
        platform=message.platform,
        platform_message_id=message_id,
        author_name=sanitize_name(message.author_name, max_length=MAX_AUTHOR_NAME_LENGTH) or "Anonymous",
        author_id=(message.author_id or "").strip()[:191],
        avatar_url=avatar_url,
        text=sanitize_text(raw_text, max_length=MAX_TEXT_LENGTH),
        raw_text_length=len(raw_text),
        created_at=message.sent_at or timezone.now(),
    )


def _moderate(stream: Stream, comments: list[Comment]) -> list[bool]:
    """Set status and reason on each comment; returns which ones were counted towards their author's flood.

    All flood counters go to Redis in one pipeline, whatever the number of comments.
    """
    options = _ingest_settings(stream)
    banned_authors = _banned_authors(stream.owner_id)
    blocked = blocked_word_matcher(stream.owner_id)
    banned = [bool(c.author_id) and (c.platform, c.author_id) in banned_authors for c in comments]
    counted = [bool(c.author_id) and not b for c, b in zip(comments, banned, strict=True)]
    counts = iter(
        count_many_for_flood(
            realtime.redis_client_str(),
            [flood_key(stream.pk, c.platform, c.author_id) for c, n in zip(comments, counted, strict=True) if n],
            window_seconds=options.flood_window_seconds,
        )
    )
    for comment, is_banned, is_counted in zip(comments, banned, counted, strict=True):
        flooded = is_counted and next(counts) > options.flood_max_comments
        verdict = decide(
            text=comment.text,
            mode=options.moderation_mode,
            allow_links=options.allow_links,
            banned=is_banned,
            blocked_words=blocked,
            flooded=flooded,
        )
        comment.status, comment.moderation_reason = verdict.status, verdict.reason
    return counted


def _uncount(stream: Stream, comment: Comment) -> None:
    # A re-delivered message must not count towards its author's flood.
    realtime.redis_client_str().decr(flood_key(stream.pk, comment.platform, comment.author_id))


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
    message = IncomingMessage(platform, message_id, author_name, text, author_id, avatar_url, sent_at)
    comment = _unsaved_comment(stream, message)
    (counted,) = _moderate(stream, [comment])
    # Insert and let the unique constraint catch a re-delivery: one round trip instead of
    # look-up + insert. Outside a transaction the INSERT is atomic on its own; inside one
    # a savepoint keeps the caller's transaction usable after a conflict.
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                comment.save(force_insert=True)
        else:
            comment.save(force_insert=True)
    except IntegrityError:
        if counted:
            _uncount(stream, comment)
        return None
    _publish_on_commit(comment, "comment.created")
    return comment


def comments_ingest_many(*, stream: Stream, messages: Sequence[IncomingMessage]) -> list[Comment]:
    """`comment_ingest` for a burst (a YouTube page, a Twitch frame, a webhook batch), in a few round trips.

    Invalid messages are skipped (logged), repeats within the burst and messages
    already stored are dropped; returns the comments stored, in arrival order.
    """
    comments: list[Comment] = []
    seen: set[tuple[str, str]] = set()
    for message in messages:
        try:
            comment = _unsaved_comment(stream, message)
        except ValidationError as exc:
            logger.warning("comment skipped: %s", "; ".join(exc.messages))
            continue
        key = (comment.platform, comment.platform_message_id)
        if key not in seen:
            seen.add(key)
            comments.append(comment)
    if not comments:
        return []
    # Known ids are dropped before moderation so re-deliveries never count towards a flood.
    stored = set(
        Comment.objects.filter(
            stream=stream,
            platform__in={c.platform for c in comments},
            platform_message_id__in=[c.platform_message_id for c in comments],
        ).values_list("platform", "platform_message_id")
    )
    comments = [c for c in comments if (c.platform, c.platform_message_id) not in stored]
    if not comments:
        return []
    counted = _moderate(stream, comments)
    try:
        with transaction.atomic():
            created = Comment.objects.bulk_create(comments)
    except IntegrityError:
        # Another worker stored some of these in the meantime: fall back to one by one.
        for comment, was_counted in zip(comments, counted, strict=True):
            if was_counted:
                _uncount(stream, comment)
        created = []
        for comment in comments:
            message = IncomingMessage(
                comment.platform,
                comment.platform_message_id,
                comment.author_name,
                comment.text,
                comment.author_id,
                comment.avatar_url,
                comment.created_at,
            )
            single = comment_ingest(stream=stream, **vars(message))
            if single is not None:
                created.append(single)
        return created
    # One event for the burst: 500 studio sockets get one message each instead of one per comment.
    payload: dict[str, Any]
    if len(created) == 1:
        event_type, payload = "comment.created", {"comment": comment_payload(created[0])}
    else:
        event_type, payload = "comment.created_many", {"comments": [comment_payload(c) for c in created]}
    stream_id = stream.pk
    transaction.on_commit(lambda: realtime.publish(stream_id, event_type, payload))
    return created


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


@transaction.atomic
def comment_delete(*, comment: Comment, by: Any = None) -> None:
    """Delete a comment row (the admin): hidden first, so every panel and the program's card let go of it."""
    comment = comment_hide(comment=comment, by=by)
    Comment.objects.filter(pk=comment.pk).delete()


def comment_hide_platform_message(*, stream: Stream, platform: str, message_id: str) -> Comment | None:
    """Hide the comment a platform's own moderators deleted (Twitch CLEARMSG); None if we never stored it."""
    comment = Comment.objects.filter(stream=stream, platform=platform, platform_message_id=message_id).first()
    return comment_hide(comment=comment) if comment is not None else None


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


def comment_queue_on_screen(*, comment: Comment, by: Any = None) -> int:
    """Add a comment to the stream's rolling queue; it goes on screen when the card before it hides.

    Returns the queue length. The chat runner (or anyone calling card_queue_advance) moves the queue.
    """
    if comment.status == Comment.Status.HIDDEN:
        raise ValidationError("A hidden comment cannot go on screen; approve it first.")
    client = realtime.redis_client_str()
    key = realtime.card_queue_key(comment.stream_id)
    pipe = client.pipeline()
    pipe.lrem(key, 0, str(comment.pk))  # queued once at most
    pipe.rpush(key, comment.pk)
    pipe.expire(key, 24 * 3600)
    length = int(pipe.execute()[1])
    transaction.on_commit(
        lambda: realtime.publish(comment.stream_id, "comment.queued", {"comment": comment_payload(comment)})
    )
    return length


def card_queue_advance(*, stream: Stream, now: float | None = None) -> bool:
    """One step of the rolling queue: when no card is showing (or it has auto-hidden), show the next one.

    Returns whether a comment went on screen. Queued comments hidden meanwhile are skipped.
    """
    client = realtime.redis_client_str()
    key = realtime.card_queue_key(stream.pk)
    if not client.llen(key):
        return False
    card = realtime.read_card(stream.pk)
    if card is not None and is_card_visible(card, now if now is not None else time.time()):
        return False
    while True:
        next_id = client.lpop(key)
        if next_id is None:
            return False
        comment = Comment.objects.filter(pk=int(str(next_id)), stream=stream).first()
        if comment is not None and comment.status != Comment.Status.HIDDEN:
            comment_show_on_screen(comment=comment)
            return True


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
        forget_cached(owner_id=stream.owner_id)
        owner_id = stream.owner_id
        transaction.on_commit(lambda: forget_cached(owner_id=owner_id))
        stream_id = stream.pk
        event = {"platform": platform, "author_id": author_id}
        transaction.on_commit(lambda: realtime.publish(stream_id, "comment.author_banned", event))
    return ban


def author_unban(*, ban: AuthorBan, by: Any = None) -> None:
    ban.delete()
    forget_cached(owner_id=ban.owner_id)


def _forget_blocked_words(owner_id: int) -> None:
    # Now, and again on commit: a reader between the two may have cached the old list.
    forget_cached(owner_id=owner_id)
    cache.delete(_blocked_words_key(owner_id))

    def again() -> None:
        cache.delete(_blocked_words_key(owner_id))
        forget_cached(owner_id=owner_id)

    transaction.on_commit(again)


def blocked_word_clean(word: str) -> str:
    """A blocked word as moderation matches it (plain, case-folded), or ValidationError."""
    word = sanitize_name(word, max_length=64).casefold()
    if not word:
        raise ValidationError({"word": "Enter a word or phrase."})
    return word


def blocked_word_add(*, owner: Any, word: str) -> BlockedWord:
    blocked, _ = BlockedWord.objects.get_or_create(owner=owner, word=blocked_word_clean(word))
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
    forget_cached(stream_id=stream.pk)
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


# What the panel's buttons and POST comments/<id>/<action>/ do, by name.
COMMENT_ACTIONS = {
    "approve": lambda c, by: comment_approve(comment=c, by=by),
    "hide": lambda c, by: comment_hide(comment=c, by=by),
    "pin": lambda c, by: comment_pin(comment=c, pinned=True, by=by),
    "unpin": lambda c, by: comment_pin(comment=c, pinned=False, by=by),
    "show": lambda c, by: comment_show_on_screen(comment=c, by=by),
    "queue": lambda c, by: comment_queue_on_screen(comment=c, by=by),
    # Whichever comment is on screen comes off (the app's button sits on the comment it shows).
    "take-off": lambda c, by: comment_take_off_screen(stream=c.stream, by=by),
    "ban": lambda c, by: author_ban(
        stream=c.stream, platform=c.platform, author_id=c.author_id, author_name=c.author_name, by=by
    ),
}
