"""Admin for streams and guests.

Status moves only through the services (the state machine), so it is read-only
here with actions for the moves; guests are invited from the studio, where the
one-time link is shown, so the admin can look at and revoke invites but not
create them, and never shows the token hash.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from apps.destinations.models import StreamDestination
from apps.shows import services as shows
from apps.studio import services as studio

from . import services
from .models import Guest, Stream


class DestinationInline(admin.TabularInline):
    model = StreamDestination
    extra = 0
    can_delete = False
    show_change_link = True
    # Read-only summary; keys are changed on the destination's own page. Never the ciphertext, only the mask.
    fields = ("display_name", "platform", "rtmp_url", "masked_stream_key", "canvas", "enabled", "status")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class GuestInline(admin.TabularInline):
    model = Guest
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("display_name", "role", "on_stage", "expires_at", "revoked_at", "joined_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any], action: Any, done: str) -> None:
    ok = 0
    for obj in queryset:
        try:
            action(obj)
            ok += 1
        except ValidationError as exc:
            modeladmin.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.WARNING)
    if ok:
        modeladmin.message_user(request, f"{ok} {done}.", messages.SUCCESS)


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "owner",
        "status",
        "scheduled_start",
        "started_at",
        "resolution",
        "fps",
        "layout",
        "destination_count",
        "created_at",
    )
    list_filter = ("status", "resolution", "fps", "layout", "recording_enabled", "vertical_canvas")
    search_fields = ("title", "description", "owner__email", "owner__username")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner", "brand_kit")
    # The scene is the studio's (apps/studio/scene.py); the owner never changes.
    readonly_fields = ("status", "started_at", "ended_at", "scene", "created_at", "updated_at")
    list_select_related = ("owner",)
    inlines = (DestinationInline, GuestInline)
    actions = ("end_streams",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "owner") if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Edits go through stream_update, like the dashboard's: the same rules and the same events."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in services.UPDATABLE_FIELDS}
        try:
            services.stream_update(stream=Stream.objects.get(pk=obj.pk), by=None, **fields)
        except ValidationError as exc:
            self.message_user(request, "Not saved: " + " ".join(exc.messages), messages.ERROR)

    fieldsets = (
        (None, {"fields": ("owner", "title", "description", "status", "scheduled_start", "started_at", "ended_at")}),
        (
            "Output",
            {
                "fields": (
                    "resolution",
                    "fps",
                    "video_bitrate_kbps",
                    "audio_bitrate_kbps",
                    "layout",
                    "vertical_canvas",
                    "brand_kit",
                )
            },
        ),
        ("Recording", {"fields": ("recording_enabled", "recording_format")}),
        ("Scene", {"fields": ("scene",), "classes": ("collapse",)}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(_destination_count=Count("destinations", distinct=True))

    @admin.display(description="destinations", ordering="_destination_count")
    def destination_count(self, obj: Any) -> int:
        return getattr(obj, "_destination_count", 0)

    @admin.action(description="End the selected live streams")
    def end_streams(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        _run(self, request, queryset, lambda s: shows.show_end(stream=s, by=None), "stream(s) ended")


class GuestStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("usable", "Usable"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        from django.utils import timezone

        if self.value() == "usable":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=timezone.now())
        return None


@admin.register(Guest)
class GuestAdmin(admin.ModelAdmin):
    list_display = ("__str__", "stream", "role", "on_stage", "state", "expires_at", "joined_at", "created_at")
    list_filter = (GuestStateFilter, "role", "on_stage", "audio_enabled", "video_enabled")
    search_fields = ("display_name", "stream__title", "stream__owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("stream", "user")
    list_select_related = ("stream",)
    # token_hash is editable=False, so it is not in the form; it is not shown either. What someone's seat
    # is doing in a live studio (stage, microphone, camera) changes through the studio's services only.
    readonly_fields = (
        "stream",
        "audio_enabled",
        "video_enabled",
        "audio_locked",
        "video_locked",
        "on_stage",
        "revoked_at",
        "joined_at",
        "created_at",
    )
    fields = (
        "stream",
        "user",
        "display_name",
        "role",
        "audio_enabled",
        "video_enabled",
        "audio_locked",
        "video_locked",
        "on_stage",
        "expires_at",
        "revoked_at",
        "joined_at",
        "created_at",
    )
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invites are created in the studio, where the one-time link can be shown

    def delete_model(self, request: HttpRequest, obj: Guest) -> None:
        studio.guest_delete(guest=obj, by=None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for guest in queryset:
            studio.guest_delete(guest=guest, by=None)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Edits go through guest_update: a seat in use hears of its new name, role or expiry at once."""
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in studio.GUEST_FIELDS}
        try:
            studio.guest_update(guest=Guest.objects.get(pk=obj.pk), by=None, **fields)
        except ValidationError as exc:
            self.message_user(request, "Not saved: " + " ".join(exc.messages), messages.ERROR)

    @admin.display(description="state")
    def state(self, obj: Guest) -> str:
        return "revoked" if obj.is_revoked else "expired" if obj.is_expired else "usable"

    @admin.action(description="Revoke the selected invites")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        _run(self, request, queryset, lambda g: studio.guest_revoke(guest=g, by=None), "invite(s) revoked")
