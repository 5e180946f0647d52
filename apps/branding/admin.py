from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from .models import BrandAsset, BrandKit, SceneTemplate


class BrandAssetInline(admin.TabularInline):
    model = BrandAsset
    extra = 0
    fields = ("kind", "file", "width", "height", "x", "y", "scale", "opacity")
    readonly_fields = ("width", "height")


@admin.register(BrandKit)
class BrandKitAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "primary_colour", "accent_colour", "font", "created_at")
    search_fields = ("name", "owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (BrandAssetInline,)


@admin.register(BrandAsset)
class BrandAssetAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kit", "kind", "content_type", "dimensions", "size", "created_at")
    list_filter = ("kind", "content_type")
    search_fields = ("kit__name", "original_name", "kit__owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("kit",)
    list_select_related = ("kit",)
    readonly_fields = ("uid", "original_name", "content_type", "width", "height", "size_bytes", "created_at")

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj: BrandAsset) -> str:
        return filesizeformat(obj.size_bytes)

    @admin.display(description="pixels")
    def dimensions(self, obj: BrandAsset) -> str:
        return f"{obj.width}x{obj.height}" if obj.width else "—"


@admin.register(SceneTemplate)
class SceneTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "kind", "layout", "brand_kit", "created_at")
    list_filter = ("kind", "layout")
    search_fields = ("name", "owner__email")
    raw_id_fields = ("owner", "brand_kit")
    readonly_fields = ("created_at",)
