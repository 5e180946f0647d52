from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

hex_colour = RegexValidator(r"^#[0-9A-Fa-f]{6}$", "Use a colour like #1A2B3C.")


class BrandKitQuerySet(models.QuerySet["BrandKit"]):
    def owned_by(self, user: Any) -> BrandKitQuerySet:
        return self.filter(owner=user)


class BrandKit(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brand_kits")
    name = models.CharField(max_length=80)
    primary_colour = models.CharField(max_length=7, default="#5B4BFF", validators=[hex_colour])
    accent_colour = models.CharField(max_length=7, default="#FFFFFF", validators=[hex_colour])
    font = models.CharField(max_length=64, default="DejaVu Sans")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BrandKitQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def brand_asset_path(instance: BrandAsset, filename: str) -> str:
    # The name a user gave the file is not trusted: only its sniffed extension is kept.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"brand/{instance.kit.owner_id}/{instance.kit_id}/{instance.kind}-{instance.uid}.{ext}"


class BrandAssetQuerySet(models.QuerySet["BrandAsset"]):
    def owned_by(self, user: Any) -> BrandAssetQuerySet:
        return self.filter(kit__owner=user)


class BrandAsset(models.Model):
    class Kind(models.TextChoices):
        LOGO = "logo", "Logo"
        BACKGROUND = "background", "Background"
        OVERLAY = "overlay", "Overlay"

    kit = models.ForeignKey(BrandKit, on_delete=models.CASCADE, related_name="assets")
    kind = models.CharField("type", max_length=16, choices=Kind.choices)
    uid = models.CharField(max_length=32, editable=False)
    file = models.FileField(upload_to=brand_asset_path, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=64, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    # Position of the asset's top-left corner as a fraction of the canvas (0..1).
    x = models.FloatField(default=0.02, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    y = models.FloatField(default=0.02, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    # Width as a fraction of the canvas width.
    scale = models.FloatField(default=0.15, validators=[MinValueValidator(0.01), MaxValueValidator(1.0)])
    opacity = models.FloatField(default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BrandAssetQuerySet.as_manager()

    class Meta:
        ordering = ["kit", "kind", "created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.kit}"


class SceneTemplateQuerySet(models.QuerySet["SceneTemplate"]):
    def owned_by(self, user: Any) -> SceneTemplateQuerySet:
        return self.filter(owner=user)


class SceneTemplate(models.Model):
    """A starting point for a show: a layout combined with a brand kit, applied to a stream in one click."""

    class Kind(models.TextChoices):
        INTERVIEW = "interview", "Interview"
        PRESENTATION = "presentation", "Presentation"
        SOLO = "solo", "Solo"

    # The layout each kind starts with (values of apps.streams.models.Layout).
    DEFAULT_LAYOUTS: ClassVar[dict[str, str]] = {
        Kind.INTERVIEW: "side_by_side",
        Kind.PRESENTATION: "screen_share",
        Kind.SOLO: "solo",
    }

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scene_templates")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INTERVIEW)
    layout = models.CharField(max_length=16)
    brand_kit = models.ForeignKey(
        BrandKit, null=True, blank=True, on_delete=models.SET_NULL, related_name="scene_templates"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SceneTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_scene_template_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from apps.streams.models import Layout

        super().clean()
        if self.layout not in Layout.values:
            raise ValidationError({"layout": f"Choose one of {', '.join(Layout.values)}."})
        if self.brand_kit is not None and self.brand_kit.owner_id != self.owner_id:
            raise ValidationError({"brand_kit": "Choose one of your own brand kits."})
