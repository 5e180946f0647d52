"""Admin for brand kits and their assets.

A kit in use is on air: every edit goes through the branding services, as the dashboard's and the
API's do, so the shows using the kit redraw and deleted files leave storage. Assets arrive only through
the upload pipeline (type sniffing, pixel and quota limits): the admin places and deletes them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from . import services
from .models import BrandAsset, BrandKit, SceneTemplate

PLACEMENT = ("x", "y", "scale", "opacity")


class BrandAssetInline(admin.TabularInline):
    """The kit's assets at a glance; each is placed or deleted on its own page (through the services)."""

    model = BrandAsset
    extra = 0
    fields = ("kind", "file", "width", "height", *PLACEMENT)
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _refused(modeladmin: admin.ModelAdmin, request: HttpRequest, exc: ValidationError) -> None:
    modeladmin.message_user(request, "Not saved: " + " ".join(exc.messages), messages.ERROR)


@admin.register(BrandKit)
class BrandKitAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "primary_colour", "accent_colour", "font", "created_at")
    search_fields = ("name", "owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (BrandAssetInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "owner") if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: BrandKit, form: Any, change: bool) -> None:
        """Edits go through brand_kit_update: the same rules, and the shows wearing the kit redraw."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in services.KIT_FIELDS}
        try:
            services.brand_kit_update(kit=BrandKit.objects.get(pk=obj.pk), by=None, **fields)
        except ValidationError as exc:
            _refused(self, request, exc)

    def delete_model(self, request: HttpRequest, obj: BrandKit) -> None:
        services.brand_kit_delete(kit=obj, by=None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BrandKit]) -> None:
        for kit in queryset:
            services.brand_kit_delete(kit=kit, by=None)


@admin.register(BrandAsset)
class BrandAssetAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kit", "kind", "content_type", "dimensions", "size", "created_at")
    list_filter = ("kind", "content_type")
    search_fields = ("kit__name", "original_name", "kit__owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("kit",)
    list_select_related = ("kit",)
    readonly_fields = (
        "kit",
        "kind",
        "file",
        "uid",
        "original_name",
        "content_type",
        "width",
        "height",
        "size_bytes",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the upload pipeline checks what an image is; the admin does not take files

    def save_model(self, request: HttpRequest, obj: BrandAsset, form: Any, change: bool) -> None:
        """Placing an asset goes through brand_asset_update: the shows wearing its kit redraw."""
        placement = {name: form.cleaned_data[name] for name in form.changed_data if name in PLACEMENT}
        try:
            services.brand_asset_update(asset=BrandAsset.objects.get(pk=obj.pk), by=None, **placement)
        except ValidationError as exc:
            _refused(self, request, exc)

    def delete_model(self, request: HttpRequest, obj: BrandAsset) -> None:
        services.brand_asset_delete(asset=obj, by=None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BrandAsset]) -> None:
        for asset in queryset:
            services.brand_asset_delete(asset=asset, by=None)

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
