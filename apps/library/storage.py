"""Storage for user files.

On S3 the bucket serves files itself (through pre-signed URLs), so the headers
our serving view would add must be stored on the objects: a Content-Type we
chose (never guessed from the bytes by a browser) and Content-Disposition:
attachment unless a URL asks for inline.
"""

from __future__ import annotations

from typing import Any

from storages.backends.s3 import S3Storage

# Only what we produce ourselves gets a type a browser will render; anything else downloads.
SAFE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}


def content_type_for(name: str) -> str:
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return SAFE_TYPES.get(ext, "application/octet-stream")


class UserFileS3Storage(S3Storage):
    def get_object_parameters(self, name: str) -> dict[str, Any]:
        params = dict(super().get_object_parameters(name))
        params["ContentType"] = content_type_for(name)
        params["ContentDisposition"] = "attachment"
        return params
