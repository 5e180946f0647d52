"""Brand image uploads: what we accept, and the clean file we store instead of the upload.

1. Size limit before reading anything.
2. The type is sniffed by Pillow from the bytes (PNG, JPEG, WebP only; the
   name and the declared type are ignored). SVG and other text are refused.
3. Dimensions come from the header, before any pixel is decoded, so a
   decompression bomb is refused without allocating it.
4. Bytes after the image's end marker (a ZIP, HTML or script glued on: a
   polyglot) are refused.
5. The image is decoded and re-encoded: what we store holds only pixels, no
   EXIF (GPS, camera serials), no comments, no chunks we did not write.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, ImageOps

# Pillow format → (content type, extension we store under).
FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Some encoders pad files with NUL bytes; that carries nothing.
_PADDING = b"\x00"


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def _png_end(data: bytes) -> int:
    """Offset just past the IEND chunk."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos
    raise ValueError("no IEND chunk")


def _jpeg_end(data: bytes) -> int:
    """Offset just past the EOI marker, walking segments and entropy-coded scans."""
    pos = 2  # after SOI
    n = len(data)
    while pos + 1 < n:
        if data[pos] != 0xFF:
            raise ValueError("marker expected")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # EOI
            return pos + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
        if marker == 0xDA:  # start of scan: skip entropy-coded data up to the next real marker
            while pos + 1 < n and not (data[pos] == 0xFF and data[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1
    raise ValueError("no EOI marker")


def _webp_end(data: bytes) -> int:
    (riff_size,) = struct.unpack("<I", data[4:8])
    return 8 + riff_size + (riff_size & 1)


def trailing_bytes(data: bytes, fmt: str) -> bytes:
    """What follows the image's own end; a polyglot hides its second file here."""
    end = {"PNG": _png_end, "JPEG": _jpeg_end, "WEBP": _webp_end}[fmt](data)
    return data[end:]


def _looks_like_text(head: bytes) -> bool:
    sample = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return sample.startswith((b"<", b"<?xml")) or b"<svg" in head.lower()


def clean_image(upload: IO[bytes], *, size: int | None = None) -> CleanImage:
    """Validate an uploaded image and return a freshly encoded copy. Raises ValidationError."""
    max_bytes = settings.BRAND_ASSET_MAX_BYTES
    max_pixels = settings.BRAND_ASSET_MAX_PIXELS
    if size is not None and size > max_bytes:
        raise _refuse(f"The file is larger than {max_bytes // (1024 * 1024)} MB.", "too_large")
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _refuse(f"The file is larger than {max_bytes // (1024 * 1024)} MB.", "too_large")
    if not data:
        raise _refuse("The file is empty.", "empty")
    if _looks_like_text(data[:1024]):
        raise _refuse("SVG and other text files are not accepted; upload a PNG, JPEG or WebP image.", "svg")

    try:
        # formats= limits Pillow to these three decoders whatever the bytes claim to be.
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except Image.DecompressionBombError as exc:
        raise _refuse("The image has too many pixels.", "too_many_pixels") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise _refuse("This is not a PNG, JPEG or WebP image.", "not_image") from exc

    with image:
        fmt = image.format or ""
        width, height = image.size
        # Checked from the header, before load() decodes a single pixel.
        if width * height > max_pixels or width <= 0 or height <= 0:
            raise _refuse(
                f"The image is {width} x {height}; images may have at most {max_pixels // 1_000_000} megapixels.",
                "too_many_pixels",
            )
        if getattr(image, "n_frames", 1) > 1:
            raise _refuse("Animated images are not supported; upload a still image.", "animated")
        try:
            if trailing_bytes(data, fmt).strip(_PADDING):
                raise _refuse("The file has data hidden after the image; export it again.", "polyglot")
        except (ValueError, struct.error) as exc:
            raise _refuse("The image file is damaged or truncated.", "corrupt") from exc

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image.load()
                # EXIF orientation is applied to the pixels, since the EXIF itself is dropped.
                upright = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise _refuse("The image file is damaged or truncated.", "corrupt") from exc

    content_type, extension = FORMATS[fmt]
    if fmt == "JPEG":
        mode = "RGB"
    elif fmt == "PNG":
        mode = "RGBA" if upright.mode in {"RGBA", "LA", "P", "PA"} or "transparency" in upright.info else "RGB"
    else:
        mode = "RGBA"
    pixels = upright.convert(mode)
    # Pillow writes some of `info` back on save (JPEG comments, ICC profiles, DPI): keep pixels only.
    pixels.info = {}
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels.save(out, "JPEG", quality=92, optimize=True)
    elif fmt == "PNG":
        pixels.save(out, "PNG", optimize=True)
    else:
        pixels.save(out, "WEBP", quality=92, method=4)
    return CleanImage(
        content=out.getvalue(),
        content_type=content_type,
        extension=extension,
        width=upright.width,
        height=upright.height,
    )
