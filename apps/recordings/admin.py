from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from .models import Recording


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "stream",
        "kind",
        "format",
        "resolution",
        "duration",
        "size",
        "bitrate_kbps",
        "created_at",
    )
    list_filter = ("kind", "format")
    search_fields = ("title", "stream__title", "stream__owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("stream",)
    list_select_related = ("stream",)
    readonly_fields = ("size_bytes", "duration_seconds", "width", "height", "bitrate_kbps", "created_at")

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj: Recording) -> str:
        return filesizeformat(obj.size_bytes)

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, obj: Recording) -> str:
        minutes, seconds = divmod(int(obj.duration_seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}"
