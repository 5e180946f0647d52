"""The studio (host) and the guest pages: join link, name, green room, backstage.

The pages are shells: the live state (people, scene, health, chat) comes over the
studio websocket (`consumers.py`) and the media over LiveKit. These views only
authorise, call one service and render; the LiveKit endpoints answer JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.ownership import get_owned_or_404
from apps.engagement.access import can_moderate
from apps.engagement.views import panel_context

from . import services, studio_services
from .consumers import SESSION_GUESTS_KEY, guest_payload, publish
from .forms import GuestInviteForm
from .models import Guest, Layout, Stream

log = logging.getLogger(__name__)

# Keyboard shortcuts 1-6 follow this order; the picker shows it too.
LAYOUT_ORDER = [
    Layout.SOLO,
    Layout.SIDE_BY_SIDE,
    Layout.GRID,
    Layout.PIP,
    Layout.SCREEN_SHARE,
    Layout.CUSTOM,
]
OVERLAYS = [("logo", "Logo"), ("banner", "Banner"), ("name_tags", "Name tags")]
INVALID = 422


def _rtc_unavailable(exc: Exception) -> JsonResponse:
    log.warning("LiveKit unavailable: %s", type(exc).__name__)
    return JsonResponse(
        {"error": "The media server cannot be reached right now. Chat and controls still work; retrying…"},
        status=503,
    )


# --- host ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def studio(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream = get_owned_or_404(Stream.objects.select_related("owner"), request.user, pk=stream_id)
    context = {
        "stream": stream,
        "layouts": [(layout.value, layout.label, index + 1) for index, layout in enumerate(LAYOUT_ORDER)],
        "overlays": OVERLAYS,
        "invite_form": GuestInviteForm(),
        "destinations": list(stream.destinations.all()),
        # The comments moderation panel (first paint; static/src/studio/comments.js keeps it live).
        **panel_context(request, stream),
        # The Media panel: what the host can play into the show (apps/streams/playback.py).
        **media_panel_context(request.user),
    }
    return render(request, "studio/studio.html", context)


def media_panel_context(user: Any) -> dict[str, Any]:
    from django.db.models import Count

    from apps.library.models import Playlist
    from apps.library.selectors import clips_ready_for

    return {
        "media_clips": list(clips_ready_for(user).order_by("-created_at")[:100]),
        "media_playlists": list(
            Playlist.objects.owned_by(user).annotate(clip_count=Count("items")).filter(clip_count__gt=0)
        ),
    }


@login_required
@require_POST
def studio_rtc_token(request: HttpRequest, stream_id: int) -> JsonResponse:
    """Open the stream's LiveKit room (idempotent) and hand the host a short-lived token."""
    from apps.rtc import services as rtc

    stream = get_owned_or_404(Stream.objects.select_related("owner"), request.user, pk=stream_id)
    try:
        rtc.rtc_open_room(stream=stream, by=request.user)  # type: ignore[arg-type]
        token = rtc.rtc_host_token(stream=stream, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=409)
    except Exception as exc:  # noqa: BLE001 - SFU down or unreachable: the page says so and retries
        return _rtc_unavailable(exc)
    return JsonResponse(
        {"url": settings.LIVEKIT_URL, "token": token, "identity": rtc.host_identity(request.user)}  # type: ignore[arg-type]
    )


@login_required
@require_POST
def studio_invite(request: HttpRequest, stream_id: int) -> HttpResponse:
    """Create an invite link from the studio; the link is shown once, with a copy button."""
    stream = get_owned_or_404(Stream.objects.all(), request.user, pk=stream_id)
    form = GuestInviteForm(request.POST)
    invite_url = ""
    if form.is_valid():
        try:
            guest, token = services.guest_invite(
                stream=stream,
                by=request.user,  # type: ignore[arg-type]
                role=form.cleaned_data["role"],
                display_name=form.cleaned_data["display_name"],
                ttl=form.ttl(),
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            # The host's own address (validated by ALLOWED_HOSTS): the link works where the host is.
            invite_url = request.build_absolute_uri(reverse("guest_join", args=[token]))
            context = {"stream": stream, "invite_url": invite_url, "guest": guest, "invite_form": GuestInviteForm()}
            return render(request, "studio/_invite.html", context)
    return render(request, "studio/_invite.html", {"stream": stream, "invite_form": form}, status=INVALID)


# --- guests -------------------------------------------------------------------------------


def _refused(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    code = getattr(exc, "code", None) or "invalid"
    titles = {
        "expired": "This invite link has expired",
        "revoked": "This invite link was withdrawn",
        "ended": "This show has ended",
        "invalid": "This invite link does not work",
    }
    status = 403 if code == "invalid" else 410
    context = {"title": titles.get(code, titles["invalid"]), "message": " ".join(exc.messages), "code": code}
    return render(request, "guest/refused.html", context, status=status)


def _session_guest(request: HttpRequest, guest: Guest) -> bool:
    return (request.session.get(SESSION_GUESTS_KEY) or {}).get(str(guest.stream_id)) == guest.pk


@require_http_methods(["GET", "POST"])
def guest_join(request: HttpRequest, token: str) -> HttpResponse:
    """The invite link. Step 1 asks the name; step 2 (same URL, after a redirect) is the green room."""
    try:
        guest = services.guest_from_token(token)
        if guest.stream.status == Stream.Status.ENDED:
            raise ValidationError("The host has ended this show. Thanks for coming!", code="ended")
    except ValidationError as exc:
        return _refused(request, exc)
    error = ""
    if request.method == "POST":
        try:
            guest = studio_services.guest_join(guest=guest, display_name=request.POST.get("display_name", ""))
        except ValidationError as exc:
            if getattr(exc, "code", None) in {"revoked", "ended"}:
                return _refused(request, exc)
            error = " ".join(exc.messages)
        else:
            seats = dict(request.session.get(SESSION_GUESTS_KEY) or {})
            seats[str(guest.stream_id)] = guest.pk
            request.session[SESSION_GUESTS_KEY] = seats
            # The host's studio shows the name as soon as it is known.
            publish(guest.stream_id, "participant.updated", participant=guest_payload(guest))
            return redirect(request.path)
    context: dict[str, Any] = {"guest": guest, "stream": guest.stream, "error": error}
    if request.method == "GET" and _session_guest(request, guest) and guest.joined_at:
        # A moderator's page carries the comments panel; a plain guest's has none (and its socket is refused).
        if can_moderate(request.user, request.session, guest.stream):
            context.update(panel_context(request, guest.stream), can_moderate=True)
        return render(request, "guest/green_room.html", context)
    return render(request, "guest/join.html", context, status=INVALID if error else 200)


@require_POST
def guest_rtc_token(request: HttpRequest) -> JsonResponse:
    """A guest's LiveKit token. The invite token comes in the body, never in this URL."""
    from apps.rtc import services as rtc

    try:
        body = json.loads(request.body or b"{}")
        invite_token = str(body.get("token", ""))
    except (ValueError, AttributeError):
        return JsonResponse({"error": "Send the invite token as JSON."}, status=400)
    try:
        guest, token = rtc.rtc_guest_token(invite_token=invite_token)
    except ValidationError as exc:
        return JsonResponse(
            {"error": " ".join(exc.messages)}, status=410 if getattr(exc, "code", None) != "invalid" else 403
        )
    except PermissionDenied:
        return JsonResponse({"error": "This invite link does not work."}, status=403)
    if not _session_guest(request, guest):
        return JsonResponse({"error": "Open your invite link and enter your name first."}, status=403)
    return JsonResponse({"url": settings.LIVEKIT_URL, "token": token, "identity": guest.identity})
