"""Local recordings uploaded by studio guests, who have no account.

A guest is known by the seat their invite link put in the session (as in the
studio websocket and apps/streams/seats.py). They may open an upload for
their own stream and send chunks to the uploads they opened, nothing else. The
bytes count against the host's storage. These are plain Django views so the
CSRF middleware checks every write (DRF skips CSRF for anonymous requests).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.core import ratelimit
from apps.streams.models import Stream
from apps.streams.seats import seat_guest as guest_seat

from . import services
from .models import UploadSession
from .upload_protocol import UploadOutputSerializer, _errors, _is_quota, _with_offset, receive_chunk

# Uploads a guest may start per hour: one per time on stage, with room for reconnects; not a flood of sessions.
GUEST_UPLOADS_PER_HOUR = 30


def _body(session: UploadSession, **extra: Any) -> dict[str, Any]:
    return {**UploadOutputSerializer(session).data, **extra}


@require_POST
def guest_upload_create(request: HttpRequest, stream_id: int) -> HttpResponse:
    guest = guest_seat(request, stream_id)
    if guest is None or guest.stream.status == Stream.Status.ENDED:
        raise Http404("Not a guest of this stream.")
    if not ratelimit.hit(f"guest-uploads:{guest.pk}", GUEST_UPLOADS_PER_HOUR, 3600):
        response = JsonResponse({"detail": ["Too many uploads started; try again later."]}, status=429)
        response["Retry-After"] = str(ratelimit.retry_after(3600))
        return response
    try:
        payload = json.loads(request.body or b"{}")
        filename = str(payload.get("filename", ""))[:255]
    except (ValueError, AttributeError):
        return JsonResponse({"detail": ["Send JSON."]}, status=400)
    try:
        session = services.upload_create(
            owner=guest.stream.owner,
            purpose=UploadSession.Purpose.PARTICIPANT,
            size=None,
            filename=filename,
            stream=guest.stream,
            guest=guest,
        )
    except ValidationError as exc:
        return JsonResponse(_errors(exc), status=413 if _is_quota(exc) else 400)
    url = reverse("library:guest_upload", args=[session.id])
    response = JsonResponse(_body(session, url=url), status=201)
    response["Location"] = url
    return _with_offset(response, session)


@require_http_methods(["GET", "HEAD", "PATCH"])
def guest_upload(request: HttpRequest, pk: str) -> HttpResponse:
    session = UploadSession.objects.select_related("owner").filter(pk=pk, guest__isnull=False).first()
    guest = guest_seat(request, session.stream_id) if session is not None and session.stream_id else None
    if session is None or guest is None or guest.pk != session.guest_id:
        raise Http404("No such upload.")
    if request.method == "PATCH":
        code, body, session = receive_chunk(request, session, by=None)
        return _with_offset(JsonResponse(body, status=code), session)
    if request.method == "HEAD":
        return _with_offset(HttpResponse(status=200), session)
    return _with_offset(JsonResponse(_body(session)), session)
