from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from .models import MediaClip, Playlist, PlaylistItem, UploadSession


@admin.register(MediaClip)
class MediaClipAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "owner",
        "status",
        "progress_percent",
        "resolution",
        "duration_seconds",
        "size",
        "created_at",
    )
    list_filter = ("status", "has_audio")
    search_fields = ("title", "owner__email", "uid")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)
    list_select_related = ("owner",)
    readonly_fields = (
        "uid",
        "progress",
        "size_bytes",
        "duration_seconds",
        "width",
        "height",
        "fps",
        "has_audio",
        "source_format",
        "created_at",
        "updated_at",
    )

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj: MediaClip) -> str:
        return filesizeformat(obj.size_bytes)

    @admin.display(description="resolution")
    def resolution(self, obj: MediaClip) -> str:
        return f"{obj.width}x{obj.height}" if obj.width else "—"


@admin.register(UploadSession)
class UploadSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "purpose", "status", "received", "total", "created_at", "updated_at")
    list_filter = ("purpose", "status")
    search_fields = ("id", "title", "owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner", "stream", "clip", "recording")
    readonly_fields = ("received_bytes", "storage_name", "s3_upload_id", "s3_parts", "created_at", "updated_at")

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False  # sessions are opened by the upload API

    @admin.display(description="received", ordering="received_bytes")
    def received(self, obj: UploadSession) -> str:
        return filesizeformat(obj.received_bytes)

    @admin.display(description="total")
    def total(self, obj: UploadSession) -> str:
        return filesizeformat(obj.total_bytes) if obj.total_bytes is not None else "growing"


class PlaylistItemInline(admin.TabularInline):
    model = PlaylistItem
    extra = 0
    raw_id_fields = ("clip",)
    ordering = ("position",)


@admin.register(Playlist)
class PlaylistAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "updated_at")
    search_fields = ("name", "owner__email")
    raw_id_fields = ("owner",)
    inlines = (PlaylistItemInline,)


@admin.register(PlaylistItem)
class PlaylistItemAdmin(admin.ModelAdmin):
    list_display = ("playlist", "position", "clip")
    raw_id_fields = ("playlist", "clip")
    list_select_related = ("playlist", "clip")
