from __future__ import annotations

from django.contrib import admin
from django.utils.text import Truncator

from .models import AuthorBan, BlockedWord, Comment, EngagementSettings


@admin.register(EngagementSettings)
class EngagementSettingsAdmin(admin.ModelAdmin):
    list_display = ("stream", "moderation_mode", "allow_links", "flood_max_comments", "flood_window_seconds")
    list_filter = ("moderation_mode", "allow_links")
    search_fields = ("stream__title", "stream__owner__email")
    raw_id_fields = ("stream",)
    # webhook_secret_encrypted is editable=False: not in the form, never shown.


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = (
        "author_name",
        "short_text",
        "platform",
        "status",
        "moderation_reason",
        "pinned",
        "stream",
        "created_at",
    )
    list_filter = ("platform", "status", "pinned", "moderation_reason")
    search_fields = ("author_name", "author_id", "text", "stream__title")
    date_hierarchy = "created_at"
    raw_id_fields = ("stream",)
    list_select_related = ("stream",)
    readonly_fields = ("raw_text_length", "received_at")

    @admin.display(description="text")
    def short_text(self, obj: Comment) -> str:
        return Truncator(obj.text).chars(80)


@admin.register(AuthorBan)
class AuthorBanAdmin(admin.ModelAdmin):
    list_display = ("author_name", "author_id", "platform", "owner", "created_at")
    list_filter = ("platform",)
    search_fields = ("author_name", "author_id", "owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)


@admin.register(BlockedWord)
class BlockedWordAdmin(admin.ModelAdmin):
    list_display = ("word", "owner", "created_at")
    search_fields = ("word", "owner__email")
    raw_id_fields = ("owner",)
