"""The studio (host) and the guest pages: join link, name, green room, backstage.

The pages are shells: the live state (people, scene, health, chat) comes over the
studio websocket (`consumers.py`) and the media over LiveKit. These views only
authorise, call one service and render; the LiveKit endpoints answer JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.ownership import get_owned_or_404
from apps.engagement.panel import panel_context
from apps.library.files import serve_user_file
from apps.streams import services
from apps.streams.forms import GuestInviteForm
from apps.streams.models import Guest, Layout, Stream
from apps.streams.seats import can_moderate, remember_seat, seat_guest, session_seat_id

from . import services as studio_services

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
# Picture-in-picture's small window (media.scene.layout.PIP_CORNERS), as the picker shows them.
PIP_CORNERS = [
    ("top_left", "Top left"),
    ("top_right", "Top right"),
    ("bottom_left", "Bottom left"),
    ("bottom_right", "Bottom right"),
]
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
        "pip_corners": PIP_CORNERS,
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
@require_http_methods(["GET"])
def studio_media_library(request: HttpRequest, stream_id: int) -> HttpResponse:
    """The Media panel's list alone: the studio reloads it when the library changes (library.changed)."""
    stream = get_owned_or_404(Stream.objects.all(), request.user, pk=stream_id)
    return render(request, "studio/_media_library.html", {"stream": stream, **media_panel_context(request.user)})


@require_http_methods(["GET"])
def studio_asset(request: HttpRequest, stream_id: int, asset_id: int) -> HttpResponse:
    """A brand asset the stream's scene shows (logo, background, overlay), for the host's and the guests' previews.

    The same rule as a playing clip: the owner, or a guest seated in this studio, and only an asset of the
    kit the stream uses now — never the rest of the owner's kits.
    """
    stream = Stream.objects.select_related("brand_kit").filter(pk=stream_id).first()
    if stream is None:
        raise Http404("No such stream.")
    is_owner = request.user.is_authenticated and request.user.pk == stream.owner_id
    if not is_owner and seat_guest(request, stream_id) is None:
        raise Http404("Not in this studio.")
    asset = stream.brand_kit.assets.filter(pk=asset_id).first() if stream.brand_kit is not None else None
    if asset is None:
        raise Http404("This image is not in the stream's brand kit.")
    return serve_user_file(request, asset.file, filename=f"{asset.kind}.{asset.file.name.rsplit('.', 1)[-1]}")


@login_required
@require_POST
def studio_rtc_token(request: HttpRequest, stream_id: int) -> JsonResponse:
    """Open the stream's LiveKit room (idempotent) and hand the host a short-lived token."""
    stream = get_owned_or_404(Stream.objects.select_related("owner"), request.user, pk=stream_id)
    try:
        access = studio_services.host_room_open(stream=stream, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=409)
    except Exception as exc:  # noqa: BLE001 - SFU down or unreachable: the page says so and retries
        return _rtc_unavailable(exc)
    return JsonResponse({"url": access.url, "token": access.token, "identity": access.identity})


@login_required
@require_POST
def studio_invite(request: HttpRequest, stream_id: int) -> HttpResponse:
    """Create an invite link from the studio; the link is shown once, with a copy button."""
    stream = get_owned_or_404(Stream.objects.all(), request.user, pk=stream_id)
    form = GuestInviteForm(request.POST)
    created = form.create_invite(stream=stream, by=request.user)
    if created is None:
        return render(request, "studio/_invite.html", {"stream": stream, "invite_form": form}, status=INVALID)
    guest, invite_url = created
    context = {"stream": stream, "invite_url": invite_url, "guest": guest, "invite_form": GuestInviteForm()}
    return render(request, "studio/_invite.html", context)


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
    return session_seat_id(request.session, guest.stream_id) == guest.pk


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
            remember_seat(request.session, guest)
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
    try:
        body = json.loads(request.body or b"{}")
        invite_token = str(body.get("token", ""))
    except (ValueError, AttributeError):
        return JsonResponse({"error": "Send the invite token as JSON."}, status=400)
    try:
        guest, access = studio_services.guest_room_access(invite_token=invite_token)
    except ValidationError as exc:
        return JsonResponse(
            {"error": " ".join(exc.messages)}, status=410 if getattr(exc, "code", None) != "invalid" else 403
        )
    except PermissionDenied:
        return JsonResponse({"error": "This invite link does not work."}, status=403)
    if not _session_guest(request, guest):
        return JsonResponse({"error": "Open your invite link and enter your name first."}, status=403)
    return JsonResponse({"url": access.url, "token": access.token, "identity": access.identity})
