from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.studio.presence import room_event_apply

from . import webhooks


@csrf_exempt  # called by the SFU, authenticated by its signed JWT instead
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = webhooks.receive(
            body=request.body.decode("utf-8", errors="replace"),
            authorization=request.headers.get("Authorization", ""),
        )
    except PermissionDenied:
        return HttpResponse(status=401)
    room_event_apply(event=event)
    return HttpResponse(status=204)
