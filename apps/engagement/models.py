"""Audience engagement: comments from every platform a show goes to, and their moderation.

A Comment is the normalized form of a chat message, whatever platform it came
from. Text is sanitized before it is stored (see sanitize.py), so every page and
overlay can trust `Comment.text` as plain text; templates still auto-escape it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

MAX_TEXT_LENGTH = 500
MAX_AUTHOR_NAME_LENGTH = 100
MAX_AVATAR_URL_LENGTH = 500


def validate_avatar_url(value: str) -> None:
    """Blank, or an https URL with a host and no credentials: avatars are loaded by browsers and the compositor."""
    if not value:
        return
    if len(value) > MAX_AVATAR_URL_LENGTH:
        raise ValidationError(f"The avatar URL is longer than {MAX_AVATAR_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ch in "\"'<>\\" for ch in value):
        raise ValidationError("The avatar URL contains spaces, quotes or control characters.")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError("The avatar URL must be an https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("The avatar URL must not carry credentials.")


class Platform(models.TextChoices):
    YOUTUBE = "youtube", "YouTube"
    TWITCH = "twitch", "Twitch"
    FACEBOOK = "facebook", "Facebook"
    STUDIO = "studio", "Studio chat"
    CUSTOM = "custom", "Custom source"


class ModerationMode(models.TextChoices):
    AUTO_APPROVE = "auto", "Auto-approve"
    HOLD = "hold", "Hold for review"


class EngagementSettingsQuerySet(models.QuerySet["EngagementSettings"]):
    def owned_by(self, user: Any) -> EngagementSettingsQuerySet:
        return self.filter(stream__owner=user)


class EngagementSettings(models.Model):
    """Per-stream engagement knobs and the chat ids each platform gave the show.

    Kept here, keyed by stream, so that engagement never has to edit Stream.
    """

    stream = models.OneToOneField("streams.Stream", on_delete=models.CASCADE, related_name="engagement_settings")
    moderation_mode = models.CharField(
        max_length=8, choices=ModerationMode.choices, default=ModerationMode.AUTO_APPROVE
    )
    # Links are the main vector of chat spam and phishing: held for review unless the creator allows them.
    allow_links = models.BooleanField(default=False)
    # Flood: more than this many comments from one author within the window are held.
    flood_max_comments = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    flood_window_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )
    card_auto_hide_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(0), MaxValueValidator(3600)], help_text="0 keeps the card up."
    )
    youtube_live_chat_id = models.CharField(max_length=128, blank=True)
    twitch_channel = models.CharField(max_length=64, blank=True)
    facebook_live_video_id = models.CharField(max_length=64, blank=True)
    # Fernet ciphertext of the HMAC secret custom sources sign their webhook calls with.
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)

    objects = EngagementSettingsQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "engagement settings"

    def __str__(self) -> str:
        return f"Engagement settings of {self.stream}"


class CommentQuerySet(models.QuerySet["Comment"]):
    def owned_by(self, user: Any) -> CommentQuerySet:
        return self.filter(stream__owner=user)

    def for_stream(self, stream: Any) -> CommentQuerySet:
        return self.filter(stream=stream)

    def visible(self) -> CommentQuerySet:
        return self.filter(status=Comment.Status.APPROVED)


class Comment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        HIDDEN = "hidden", "Hidden"

    stream = models.ForeignKey("streams.Stream", on_delete=models.CASCADE, related_name="comments")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    # The platform's own id; together with (stream, platform) it makes re-delivered messages no-ops.
    platform_message_id = models.CharField(max_length=191)
    author_name = models.CharField(max_length=MAX_AUTHOR_NAME_LENGTH)
    author_id = models.CharField(max_length=191, blank=True)
    avatar_url = models.CharField(max_length=MAX_AVATAR_URL_LENGTH, blank=True, validators=[validate_avatar_url])
    text = models.TextField(max_length=MAX_TEXT_LENGTH)
    # Length of the text as received, before sanitizing and capping (abuse signal, shown to moderators).
    raw_text_length = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(help_text="When the platform says the comment was sent.")
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Why the pipeline held or hid the comment ("" when it passed every rule).
    moderation_reason = models.CharField(max_length=32, blank=True)
    pinned = models.BooleanField(default=False)
    shown_on_screen_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "platform", "platform_message_id"], name="engagement_comment_unique_platform_id"
            ),
        ]
        indexes = [models.Index(fields=["stream", "status", "-created_at"], name="engagement_stream_status_idx")]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.text[:40]}"

    @property
    def author_initial(self) -> str:
        name = self.author_name.strip()
        return name[0].upper() if name else "?"

    @property
    def is_on_screen(self) -> bool:
        return self.shown_on_screen_at is not None


class AuthorBanQuerySet(models.QuerySet["AuthorBan"]):
    def owned_by(self, user: Any) -> AuthorBanQuerySet:
        return self.filter(owner=user)


class AuthorBan(models.Model):
    """An audience member a creator never wants to see again, on one platform, across all their shows."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="author_bans")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    author_id = models.CharField(max_length=191)
    author_name = models.CharField(max_length=MAX_AUTHOR_NAME_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuthorBanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "platform", "author_id"], name="engagement_ban_unique_author"),
        ]

    def __str__(self) -> str:
        return f"{self.author_name or self.author_id} on {self.platform}"


class BlockedWordQuerySet(models.QuerySet["BlockedWord"]):
    def owned_by(self, user: Any) -> BlockedWordQuerySet:
        return self.filter(owner=user)


class BlockedWord(models.Model):
    """A word or phrase one creator does not allow, on top of the shared profanity list."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_words")
    word = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BlockedWordQuerySet.as_manager()

    class Meta:
        ordering = ["word"]
        constraints = [models.UniqueConstraint(fields=["owner", "word"], name="engagement_blocked_word_unique")]

    def __str__(self) -> str:
        return self.word
