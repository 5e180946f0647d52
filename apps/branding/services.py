"""Writes on brand kits and the placement of their assets.

Uploading asset files (type sniffing, size and pixel limits) lives with the
upload code; here we only create kits and move what is already stored.
"""

from __future__ import annotations

import os
import uuid
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from apps.accounts.models import User
from apps.core.ownership import ensure_owner
from apps.library.quota import quota_check
from apps.streams.models import Stream
from apps.streams.services import stream_update
from apps.studio.scene import scene_publish

from .models import BrandAsset, BrandKit, SceneTemplate
from .uploads import clean_image

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
    _redraw_streams_using(kit.pk)
    return kit


@transaction.atomic
def brand_kit_delete(*, kit: BrandKit, by: User | None) -> None:
    """Delete a kit and its files; streams using it fall back to no branding (SET_NULL)."""
    ensure_owner(kit.owner_id, by)
    files = [asset.file for asset in kit.assets.all() if asset.file]
    users = _streams_using(kit.pk)
    kit.delete()
    _redraw_streams_using(kit.pk, users)  # now without a kit
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
    _redraw_streams_using(asset.kit_id)
    return asset


@transaction.atomic
def brand_asset_delete(*, asset: BrandAsset, by: User | None) -> None:
    ensure_owner(asset.kit.owner_id, by)
    stored, kit_id = asset.file, asset.kit_id
    asset.delete()
    _redraw_streams_using(kit_id)
    if stored:
        transaction.on_commit(lambda: stored.storage.delete(stored.name))


def _streams_using(kit_id: int) -> list[int]:
    return list(
        Stream.objects.filter(brand_kit_id=kit_id).exclude(status=Stream.Status.ENDED).values_list("pk", flat=True)
    )


def _redraw_streams_using(kit_id: int, stream_ids: list[int] | None = None) -> None:
    """Every show that uses this kit, on air or in a studio, redraws with it: previews and program alike."""
    for stream_id in _streams_using(kit_id) if stream_ids is None else stream_ids:
        scene_publish(stream_id=stream_id)


# --- Asset uploads, applying kits, scene templates ------------------


@transaction.atomic
def brand_asset_upload(
    *, kit: BrandKit, by: User | None, kind: str, upload: IO[bytes], filename: str = "", size: int | None = None
) -> BrandAsset:
    """Validate an image (see uploads.py), re-encode it and store the clean copy as a new asset of `kit`."""
    ensure_owner(kit.owner_id, by)
    if kind not in BrandAsset.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(BrandAsset.Kind.values)}."})
    image = clean_image(upload, size=size)
    quota_check(kit.owner, adding=len(image.content))
    asset = BrandAsset(
        kit=kit,
        kind=kind,
        uid=uuid.uuid4().hex,
        original_name=os.path.basename(filename or "")[:255],
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.content),
    )
    if kind == BrandAsset.Kind.BACKGROUND:
        # A background fills the canvas.
        asset.x, asset.y, asset.scale = 0.0, 0.0, 1.0
    # upload_to keeps only the extension of this name, which is the one we encoded.
    asset.file.save(f"asset.{image.extension}", ContentFile(image.content), save=False)
    try:
        asset.full_clean()
        asset.save()
    except Exception:
        asset.file.storage.delete(asset.file.name)
        raise
    _redraw_streams_using(kit.pk)
    return asset


@transaction.atomic
def brand_kit_apply(*, kit: BrandKit, stream: Stream, by: User | None) -> Stream:
    """Use `kit` for `stream`'s logo, background, overlays, colours and font."""
    ensure_owner(kit.owner_id, by)
    stream = stream_update(stream=stream, by=by, brand_kit=kit)
    # Open studios (host and guests) and the program redraw with the kit at once.
    _redraw_streams_using(kit.pk, [stream.pk])
    return stream


@transaction.atomic
def scene_template_create(
    *, owner: User, name: str, kind: str, layout: str = "", brand_kit: BrandKit | None = None
) -> SceneTemplate:
    template = SceneTemplate(
        owner=owner,
        name=(name or "").strip(),
        kind=kind,
        layout=layout or SceneTemplate.DEFAULT_LAYOUTS.get(kind, ""),
        brand_kit=brand_kit,
    )
    template.full_clean(validate_constraints=False)
    if SceneTemplate.objects.filter(owner=owner, name__iexact=template.name).exists():
        raise ValidationError({"name": "You already have a scene template with this name."})
    template.save()
    return template


@transaction.atomic
def scene_template_delete(*, template: SceneTemplate, by: User | None) -> None:
    ensure_owner(template.owner_id, by)
    template.delete()


@transaction.atomic
def scene_template_apply(*, template: SceneTemplate, stream: Stream, by: User | None) -> Stream:
    """One click: the template's layout and brand kit become the stream's."""
    ensure_owner(template.owner_id, by)
    return stream_update(stream=stream, by=by, layout=template.layout, brand_kit=template.brand_kit)
