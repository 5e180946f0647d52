"""Serving user files (brand images, clips, recordings) safely.

User files never go out through /media/: each app's view checks ownership and
calls `serve_user_file`, which answers with a type we chose, `nosniff`, a
sandboxing CSP and a Content-Disposition, and honours single byte ranges so
<video> can seek (Django's FileResponse ignores Range). On S3 it redirects to
a short-lived pre-signed URL that carries the same type and disposition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any, cast

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from .storage import content_type_for

USER_FILE_CSP = "default-src 'none'; sandbox"
# Small enough to keep memory flat for many concurrent players, large enough for few syscalls.
STREAM_BLOCK = 256 * 1024
# Pre-signed URLs live just long enough to start a download or a player.
PRESIGNED_SECONDS = 300
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _read_range(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            block = handle.read(min(STREAM_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block
    finally:
        handle.close()


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) for one `bytes=` range; None to serve the whole file.

    Raises ValueError when the range cannot be satisfied (→ 416).
    """
    match = _RANGE.match(header.strip())
    if not match:
        return None  # absent, malformed or multi-range: the full body is a valid answer
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise ValueError("empty suffix range")
        return max(0, size - suffix), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError("range outside the file")
    return start, end


def _security_headers(response: HttpResponse | StreamingHttpResponse, *, filename: str, inline: bool) -> None:
    response["Content-Disposition"] = content_disposition_header(not inline, filename) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = USER_FILE_CSP
    response["Cache-Control"] = "private, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "same-origin"


def serve_user_file(request: HttpRequest, stored: FieldFile, *, filename: str, inline: bool = True) -> HttpResponse:
    """Answer `stored` to an owner who may see it. `filename` is the download name shown to them."""
    if not stored or not stored.name:
        raise Http404("No file.")
    name: str = stored.name
    content_type = content_type_for(name)
    if content_type == "application/octet-stream":
        inline = False
    if settings.STORAGE == "s3":
        disposition = content_disposition_header(not inline, filename) or "attachment"
        url = stored.storage.url(  # type: ignore[call-arg]  # S3Storage.url takes these
            name,
            parameters={"ResponseContentType": content_type, "ResponseContentDisposition": disposition},
            expire=PRESIGNED_SECONDS,
        )
        redirect = HttpResponseRedirect(url)
        redirect["Cache-Control"] = "no-store"
        return redirect

    try:
        size = stored.storage.size(name)
        handle = stored.storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404("The file is missing.") from exc

    try:
        wanted = parse_range(request.headers.get("Range", ""), size)
    except ValueError:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        _security_headers(response, filename=filename, inline=inline)
        return response

    start, end = wanted if wanted else (0, size - 1)
    length = max(0, end - start + 1)
    streaming = StreamingHttpResponse(
        _read_range(handle, start, length), status=206 if wanted else 200, content_type=content_type
    )
    streaming["Content-Length"] = str(length)
    streaming["Accept-Ranges"] = "bytes"
    if wanted:
        streaming["Content-Range"] = f"bytes {start}-{end}/{size}"
    _security_headers(streaming, filename=filename, inline=inline)
    # Typed as HttpResponse for the views that return it; Django handles both alike.
    return cast(HttpResponse, streaming)


def wants_download(request: HttpRequest) -> bool:
    return request.GET.get("download") == "1"


def serves_file(*content_types: str, summary: str) -> Any:
    """`extend_schema` for a view that answers with `serve_user_file`: every answer it can give, exactly."""
    answers: dict[Any, Any] = {}
    for content_type in content_types:
        answers[(200, content_type)] = OpenApiTypes.BINARY
        answers[(206, content_type)] = OpenApiTypes.BINARY
    answers[302] = OpenApiResponse(description="S3 storage: a pre-signed URL valid for a few minutes, in Location.")
    answers[416] = OpenApiResponse(
        description="The Range asked for is outside the file (Content-Range gives its size)."
    )
    headers = [
        OpenApiParameter(
            "Range",
            str,
            location=OpenApiParameter.HEADER,
            description="One byte range, `bytes=start-end`, `bytes=start-` or `bytes=-suffix` (players seek).",
        ),
        OpenApiParameter(
            "Content-Range",
            str,
            location=OpenApiParameter.HEADER,
            response=[206, 416],
            required=True,
            description="`bytes start-end/size`; `bytes */size` on 416.",
        ),
        OpenApiParameter(
            "Content-Disposition", str, location=OpenApiParameter.HEADER, response=[200, 206], required=True
        ),
        OpenApiParameter(
            "Location",
            str,
            location=OpenApiParameter.HEADER,
            response=[302],
            required=True,
            description="Where the file is.",
        ),
    ]
    return extend_schema(responses=answers, parameters=headers, summary=summary)
