from __future__ import annotations

from django.contrib import admin

from .models import RoomParticipant


@admin.register(RoomParticipant)
class RoomParticipantAdmin(admin.ModelAdmin):
    """What the SFU reported through its webhooks: read it, do not write it."""

    list_display = ("identity", "name", "kind", "stream", "present", "joined_at", "left_at")
    list_filter = ("kind", "present")
    search_fields = ("identity", "name", "stream__title")
    date_hierarchy = "joined_at"
    raw_id_fields = ("stream", "guest")
    list_select_related = ("stream",)

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
