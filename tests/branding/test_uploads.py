"""Brand image uploads: only clean PNG/JPEG/WebP pixels are stored; everything else is a clear 4xx."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from apps.branding.models import BrandAsset
from tests.factories import BrandKitFactory
from tests.support.library import stored_files


def image_bytes(fmt: str, size=(64, 48), colour=(200, 30, 30), **save) -> bytes:
    mode = "RGB" if fmt == "JPEG" else "RGBA"
    out = io.BytesIO()
    Image.new(mode, size, colour if mode == "RGB" else (*colour, 255)).save(out, fmt, **save)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pixel_flood_png(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG that claims width x height pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + 3 * 16) * 16)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


@pytest.fixture
def kit(user):
    return BrandKitFactory(owner=user)


def upload(api, kit, data: bytes, name: str = "logo.png", kind: str = "logo", content_type: str = "image/png"):
    url = reverse("api-brand-asset-upload", args=[kit.pk])
    return api.post(url, {"kind": kind, "file": SimpleUploadedFile(name, data, content_type)}, format="multipart")


def assert_nothing_stored(settings, kit):
    assert not BrandAsset.objects.filter(kit=kit).exists()
    assert stored_files(settings.MEDIA_ROOT) == []


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_png_jpeg_webp_are_stored_re_encoded(user_api, kit, settings, fmt, content_type):
    response = upload(user_api, kit, image_bytes(fmt), name="whatever.bin", content_type="application/x-evil")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["content_type"], body["width"], body["height"]) == (content_type, 64, 48)
    asset = BrandAsset.objects.get(pk=body["id"])
    # Name built by us from the sniffed type, not from "whatever.bin".
    assert asset.file.name.startswith(f"brand/{kit.owner_id}/{kit.pk}/logo-")
    assert asset.file.name.endswith({"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[fmt])
    with asset.file.open("rb") as f:
        stored = Image.open(io.BytesIO(f.read()))
        assert stored.format == fmt
        assert stored.getpixel((10, 10))[:3] == pytest.approx((200, 30, 30), abs=6)
    assert asset.size_bytes == asset.file.size


def test_exif_is_stripped_and_orientation_applied(user_api, kit):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCam"  # make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS IFD
    data = image_bytes("JPEG", size=(80, 40), exif=exif.tobytes())
    assert b"SecretCam" in data

    response = upload(user_api, kit, data, name="photo.jpg", content_type="image/jpeg")

    assert response.status_code == 201, response.content
    asset = BrandAsset.objects.get(pk=response.json()["id"])
    raw = asset.file.open("rb").read()
    assert b"SecretCam" not in raw and b"Exif" not in raw
    assert not Image.open(io.BytesIO(raw)).getexif()
    assert (asset.width, asset.height) == (40, 80)


def test_progressive_jpeg_is_accepted(user_api, kit):
    response = upload(user_api, kit, image_bytes("JPEG", size=(300, 200), progressive=True), name="p.jpg")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("label", "make"),
    [
        ("png+zip", lambda: image_bytes("PNG") + b"PK\x03\x04" + b"\x14\x00" * 20 + b"payload.js"),
        ("png+html", lambda: image_bytes("PNG") + b"<html><script>alert(document.cookie)</script></html>"),
        ("jpeg+script", lambda: image_bytes("JPEG") + b"<script>fetch('/api/v1/auth/me')</script>"),
        ("webp+zip", lambda: image_bytes("WEBP") + b"PK\x05\x06" + b"\x00" * 18),
    ],
)
def test_polyglot_files_are_refused(user_api, kit, settings, label, make):
    response = upload(user_api, kit, make())

    assert response.status_code == 400, label
    assert "hidden after the image" in response.json()["file"][0]
    assert_nothing_stored(settings, kit)


def test_oversized_file_is_refused(user_api, kit, settings):
    settings.BRAND_ASSET_MAX_BYTES = 50_000
    # Noise does not compress: a 200x200 PNG of it is ~120 KB.
    out = io.BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(out, "PNG")
    assert len(out.getvalue()) > 50_000

    response = upload(user_api, kit, out.getvalue())

    assert response.status_code == 413
    assert "larger than" in response.json()["file"][0]
    assert_nothing_stored(settings, kit)


def test_pixel_flood_png_is_refused_before_decoding(user_api, kit, settings):
    bomb = pixel_flood_png(100_000, 100_000)  # 10^10 pixels, 30 GB decoded; a few hundred bytes on disk
    assert len(bomb) < 1000

    started = time.monotonic()
    response = upload(user_api, kit, bomb)

    assert response.status_code == 400
    assert "too many pixels" in response.json()["file"][0] or "megapixels" in response.json()["file"][0]
    assert time.monotonic() - started < 5  # refused from the header, not by decoding 30 GB
    assert_nothing_stored(settings, kit)


def test_just_over_our_pixel_limit_is_refused(user_api, kit, settings):
    settings.BRAND_ASSET_MAX_PIXELS = 1000
    response = upload(user_api, kit, image_bytes("PNG", size=(40, 30)))
    assert response.status_code == 400
    assert "megapixels" in response.json()["file"][0]


@pytest.mark.parametrize(
    "svg",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b'\xef\xbb\xbf  <svg><foreignObject><body onload="alert(1)"/></foreignObject></svg>',
    ],
)
def test_svg_with_script_is_refused(user_api, kit, settings, svg):
    response = upload(user_api, kit, svg, name="logo.svg", content_type="image/svg+xml")

    assert response.status_code == 400
    assert "SVG" in response.json()["file"][0]
    assert_nothing_stored(settings, kit)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a" + b"\x00" * 64, "not a PNG, JPEG or WebP"),
        (b"%PDF-1.4\n%...", "not a PNG, JPEG or WebP"),
        (image_bytes("PNG", size=(200, 200))[:120], "damaged"),
        (b"", "empty"),
    ],
)
def test_other_and_broken_files_are_refused(user_api, kit, settings, data, message):
    response = upload(user_api, kit, data)
    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert_nothing_stored(settings, kit)


def test_form_upload_shows_the_error_in_the_page(user_client, kit, settings):
    svg = SimpleUploadedFile("logo.svg", b"<svg><script>alert(1)</script></svg>", "image/svg+xml")
    response = user_client.post(reverse("branding:asset_upload", args=[kit.pk]), {"kind": "logo", "file": svg})

    assert response.status_code == 422
    assert "SVG and other text files are not accepted" in response.content.decode()
    assert_nothing_stored(settings, kit)


def test_form_upload_stores_the_image(user_client, kit):
    png = SimpleUploadedFile("logo.png", image_bytes("PNG"), "image/png")
    response = user_client.post(reverse("branding:asset_upload", args=[kit.pk]), {"kind": "overlay", "file": png})
    assert response.status_code == 302
    assert kit.assets.get().kind == "overlay"


def test_someone_elses_kit_is_404(user_api, other_user):
    theirs = BrandKitFactory(owner=other_user)
    assert upload(user_api, theirs, image_bytes("PNG")).status_code == 404


def test_served_asset_carries_security_headers(user_api, user_client, kit, client, other_user):
    asset_id = upload(user_api, kit, image_bytes("PNG")).json()["id"]
    url = reverse("branding:asset_file", args=[asset_id])

    response = user_client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Content-Disposition"].startswith("inline; filename=")
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).format == "PNG"

    download = user_client.get(url + "?download=1")
    assert download["Content-Disposition"].startswith("attachment; filename=")

    client.force_login(other_user)
    assert client.get(url).status_code == 404


def test_payloads_hidden_inside_the_image_are_not_stored(user_api, kit):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<html><script>alert(1)</script></html>")
    png = image_bytes("PNG", pnginfo=info)
    jpeg = image_bytes("JPEG", comment=b"<script>alert(2)</script>")
    assert b"<script>" in png and b"<script>" in jpeg

    for data in (png, jpeg):
        response = upload(user_api, kit, data)
        assert response.status_code == 201, response.content
        stored = BrandAsset.objects.get(pk=response.json()["id"]).file.open("rb").read()
        assert b"<script>" not in stored and b"<html>" not in stored
