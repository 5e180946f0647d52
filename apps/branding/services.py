"""Writes on brand kits and the placement of their assets.

Uploading asset files (type sniffing, size and pixel limits) lives with the
upload code; here we only create kits and move what is already stored.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.core.ownership import ensure_owner

from .models import BrandAsset, BrandKit

KIT_FIELDS = frozenset({"name", "primary_colour", "accent_colour", "font"})


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - KIT_FIELDS
    if unknown:
        raise TypeError(f"Unknown brand kit fields: {', '.join(sorted(unknown))}")


@transaction.atomic
def brand_kit_create(*, owner: User, name: str, **fields: Any) -> BrandKit:
    _check_fields(fields)
    kit = BrandKit(owner=owner, name=name.strip(), **fields)
    kit.full_clean()
    if BrandKit.objects.filter(owner=owner, name__iexact=kit.name).exists():
        raise ValidationError({"name": "You already have a brand kit with this name."})
    kit.save()
    return kit


@transaction.atomic
def brand_kit_update(*, kit: BrandKit, by: User | None, **fields: Any) -> BrandKit:
    _check_fields(fields)
    ensure_owner(kit.owner_id, by)
    kit = BrandKit.objects.select_for_update().get(pk=kit.pk)
    for field, value in fields.items():
        setattr(kit, field, value.strip() if field == "name" and isinstance(value, str) else value)
    kit.full_clean()
    if (
        "name" in fields
        and BrandKit.objects.filter(owner_id=kit.owner_id, name__iexact=kit.name).exclude(pk=kit.pk).exists()
    ):
        raise ValidationError({"name": "You already have a brand kit with this name."})
    kit.save()
    return kit


@transaction.atomic
def brand_kit_delete(*, kit: BrandKit, by: User | None) -> None:
    """Delete a kit and its files; streams using it fall back to no branding (SET_NULL)."""
    ensure_owner(kit.owner_id, by)
    files = [asset.file for asset in kit.assets.all() if asset.file]
    kit.delete()
    # Files go only once the rows are really gone.
    transaction.on_commit(lambda: [f.storage.delete(f.name) for f in files])


@transaction.atomic
def brand_asset_update(
    *,
    asset: BrandAsset,
    by: User | None,
    x: float | None = None,
    y: float | None = None,
    scale: float | None = None,
    opacity: float | None = None,
) -> BrandAsset:
    """Place an asset on the canvas: position and width as fractions of the canvas, opacity 0..1."""
    ensure_owner(asset.kit.owner_id, by)
    asset = BrandAsset.objects.select_for_update().get(pk=asset.pk)
    for field, value in (("x", x), ("y", y), ("scale", scale), ("opacity", opacity)):
        if value is not None:
            setattr(asset, field, float(value))
    asset.full_clean(exclude=["file", "uid"])
    asset.save(update_fields=["x", "y", "scale", "opacity"])
    return asset


@transaction.atomic
def brand_asset_delete(*, asset: BrandAsset, by: User | None) -> None:
    ensure_owner(asset.kit.owner_id, by)
    stored = asset.file
    asset.delete()
    if stored:
        transaction.on_commit(lambda: stored.storage.delete(stored.name))
