from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from . import services
from .models import AuthorBan, BlockedWord, Comment, EngagementSettings


@admin.register(EngagementSettings)
class EngagementSettingsAdmin(admin.ModelAdmin):
    list_display = ("stream", "moderation_mode", "allow_links", "flood_max_comments", "flood_window_seconds")
    list_filter = ("moderation_mode", "allow_links")
    search_fields = ("stream__title", "stream__owner__email")
    raw_id_fields = ("stream",)
    # webhook_secret_encrypted is editable=False: not in the form, never shown.


def _moderate(
    modeladmin: admin.ModelAdmin, request: HttpRequest, comments: QuerySet[Comment], act: Any, done: str
) -> None:
    """Run one moderation service on each selected comment, as the panel's buttons do; refusals are reported."""
    ok = 0
    for comment in comments.select_related("stream"):
        try:
            act(comment, request.user)
            ok += 1
        except ValidationError as exc:
            modeladmin.message_user(request, f"{comment}: {' '.join(exc.messages)}", messages.WARNING)
    if ok:
        modeladmin.message_user(request, f"{ok} {done}.", messages.SUCCESS)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """Comments as viewers wrote them: read-only. Moderation goes through the same services as the panel
    (actions below), so every moderator's panel and the program's card follow an admin's decision."""

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
    list_select_related = ("stream",)

    def delete_model(self, request: HttpRequest, obj: Comment) -> None:
        services.comment_delete(comment=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        for comment in queryset:
            services.comment_delete(comment=comment)

    fields = (
        "stream",
        "platform",
        "platform_message_id",
        "author_name",
        "author_id",
        "avatar_url",
        "text",
        "raw_text_length",
        "created_at",
        "received_at",
        "status",
        "moderation_reason",
        "pinned",
        "shown_on_screen_at",
    )
    readonly_fields = fields
    actions = ("approve", "hide", "ban_author", "show_on_screen", "queue_on_screen", "take_off_screen")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # comments arrive from the platforms and the studio, through ingest

    @admin.display(description="text")
    def short_text(self, obj: Comment) -> str:
        return Truncator(obj.text).chars(80)

    @admin.action(description="Approve the selected comments")
    def approve(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        _moderate(self, request, queryset, services.COMMENT_ACTIONS["approve"], "comment(s) approved")

    @admin.action(description="Hide the selected comments")
    def hide(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        _moderate(self, request, queryset, services.COMMENT_ACTIONS["hide"], "comment(s) hidden")

    @admin.action(description="Ban the authors of the selected comments")
    def ban_author(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        _moderate(self, request, queryset, services.COMMENT_ACTIONS["ban"], "author(s) banned")

    @admin.action(description="Show the selected comment on screen")
    def show_on_screen(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        _moderate(self, request, queryset, services.COMMENT_ACTIONS["show"], "comment(s) shown")

    @admin.action(description="Queue the selected comments for the screen")
    def queue_on_screen(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        _moderate(self, request, queryset, services.COMMENT_ACTIONS["queue"], "comment(s) queued")

    @admin.action(description="Take the card of the selected comments' shows off screen")
    def take_off_screen(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        _moderate(
            self,
            request,
            queryset,
            lambda comment, by: services.comment_take_off_screen(stream=comment.stream, by=by),
            "card(s) taken off screen",
        )


@admin.register(AuthorBan)
class AuthorBanAdmin(admin.ModelAdmin):
    """Bans are made from a comment (the panel, the API, the Comment admin's action), where the show is
    known and what the author said in it is hidden at once; here they are listed and lifted."""

    list_display = ("author_name", "author_id", "platform", "owner", "created_at")
    list_filter = ("platform",)
    search_fields = ("author_name", "author_id", "owner__email")
    date_hierarchy = "created_at"
    fields = ("owner", "platform", "author_id", "author_name", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: AuthorBan) -> None:
        services.author_unban(ban=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AuthorBan]) -> None:
        for ban in queryset:
            services.author_unban(ban=ban, by=request.user)


class BlockedWordAdminForm(forms.ModelForm):
    class Meta:
        model = BlockedWord
        fields = ("owner", "word")

    def clean_word(self) -> str:
        try:
            return services.blocked_word_clean(self.cleaned_data.get("word") or "")
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc


@admin.register(BlockedWord)
class BlockedWordAdmin(admin.ModelAdmin):
    """Blocked words through the services: normalised as moderation matches them, and in effect at once
    (every process drops its cached list), not when a cache expires."""

    form = BlockedWordAdminForm
    list_display = ("word", "owner", "created_at")
    search_fields = ("word", "owner__email")
    raw_id_fields = ("owner",)

    def has_change_permission(self, request: HttpRequest, obj: BlockedWord | None = None) -> bool:
        return False  # a word is added or removed, not edited

    def save_model(self, request: HttpRequest, obj: BlockedWord, form: Any, change: bool) -> None:
        saved = services.blocked_word_add(owner=obj.owner, word=obj.word)
        obj.pk, obj.word = saved.pk, saved.word

    def delete_model(self, request: HttpRequest, obj: BlockedWord) -> None:
        services.blocked_word_remove(blocked_word=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BlockedWord]) -> None:
        for word in queryset:
            services.blocked_word_remove(blocked_word=word)
