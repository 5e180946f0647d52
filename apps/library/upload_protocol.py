"""The resumable upload protocol over HTTP (tus-like), shared by the REST API and the guest upload views.

POST   create → 201 {id, offset, chunk_size}
HEAD   → Upload-Offset / Upload-Length headers (resume point)
PATCH  body = chunk bytes, Upload-Offset: n [, Upload-Length: total]
       → 200 {offset, …}; 409 + Upload-Offset when the offset is wrong;
         415 when the content is not video; 413 when storage is full
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from rest_framework import serializers, status

from . import services
from .models import UploadSession

# The only body a chunk may come in (tus): anything else is refused with 415 before it is read.
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"


def _errors(exc: ValidationError) -> dict[str, Any]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}


class UploadOutputSerializer(serializers.ModelSerializer):
    offset = serializers.IntegerField(source="received_bytes")
    size = serializers.IntegerField(source="total_bytes", allow_null=True)
    chunk_size = serializers.IntegerField(source="chunk_bytes")

    class Meta:
        model = UploadSession
        fields = ["id", "purpose", "status", "offset", "size", "chunk_size", "clip", "recording", "stream"]
        read_only_fields = fields


def _with_offset(response: HttpResponse, session: UploadSession) -> HttpResponse:
    response["Upload-Offset"] = str(session.received_bytes)
    if session.total_bytes is not None:
        response["Upload-Length"] = str(session.total_bytes)
    response["Cache-Control"] = "no-store"
    return response


def receive_chunk(
    request: HttpRequest, session: UploadSession, *, by: Any
) -> tuple[int, dict[str, Any], UploadSession]:
    """One PATCH of the upload protocol, for the API and the guest views alike: (status, body, session)."""
    if request.content_type != CHUNK_CONTENT_TYPE:
        return 415, {"detail": [f"Send the chunk as {CHUNK_CONTENT_TYPE}."]}, session
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
        length_header = request.headers.get("Upload-Length")
        declared = int(length_header) if length_header else None
    except ValueError:
        return 400, {"offset": ["Send the chunk's offset in the Upload-Offset header."]}, session
    limit = session.chunk_bytes
    # Read from the socket ourselves: DATA_UPLOAD_MAX_MEMORY_SIZE guards request.body, not this.
    data = request.read(limit + 1)
    if len(data) > limit:
        return 413, {"chunk": [f"Chunks may be at most {limit} bytes."]}, session
    try:
        session = services.upload_append(session=session, by=by, offset=offset, data=data, declared_total=declared)
    except services.NotVideo as exc:
        return status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, _errors(exc), session
    except services.UploadRefused as exc:
        session.refresh_from_db()
        code: int = status.HTTP_409_CONFLICT if _has_code(exc, "offset") else status.HTTP_400_BAD_REQUEST
        if _has_code(exc, "inactive"):
            code = status.HTTP_410_GONE
        return code, _errors(exc), session
    except ValidationError as exc:
        refused = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if _is_quota(exc) else status.HTTP_400_BAD_REQUEST
        return refused, _errors(exc), session
    return 200, dict(UploadOutputSerializer(session).data), session


def _codes(exc: ValidationError) -> set[str | None]:
    if hasattr(exc, "error_dict"):
        return {e.code for errors in exc.error_dict.values() for e in errors}
    return {e.code for e in exc.error_list}


def _is_quota(exc: ValidationError) -> bool:
    return bool(_codes(exc) & {"quota", "too_large"})


def _has_code(exc: ValidationError, code: str) -> bool:
    return code in _codes(exc)
