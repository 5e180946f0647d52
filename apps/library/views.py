"""Library pages: the creator's clips, the upload form (chunked, see static/src/upload.js), playback."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.core.ownership import get_owned_or_404, owned

from . import services
from .files import serve_user_file, wants_download
from .models import MediaClip, Playlist
from .quota import storage_usage

INVALID = 422


@require_GET
@login_required
def clip_list(request: HttpRequest) -> HttpResponse:
    clips = owned(MediaClip.objects.all(), request.user)
    playlists = owned(Playlist.objects.prefetch_related("items__clip"), request.user)
    context = {
        "clips": clips,
        "ready_clips": [c for c in clips if c.is_ready],
        "playlists": playlists,
        "usage": storage_usage(request.user),
    }
    return render(request, "library/clip_list.html", context)


@require_GET
@login_required
def clip_row(request: HttpRequest, pk: int) -> HttpResponse:
    """The row alone: polled by the page while the clip is processing (progress bar)."""
    clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
    response = render(request, "library/_clip_row.html", {"clip": clip})
    if clip.is_ready:
        # The Playlists section offers the clip as soon as it can be played, without a reload.
        response["HX-Trigger"] = "clip-ready"
    return response


@require_GET
@login_required
def clip_video(request: HttpRequest, pk: int) -> HttpResponse:
    clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
    return serve_user_file(request, clip.mezzanine, filename=f"{clip.title}.mp4", inline=not wants_download(request))


@require_GET
@login_required
def clip_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
    return serve_user_file(request, clip.thumbnail, filename=f"{clip.title}.jpg")


@require_POST
@login_required
def clip_rename(request: HttpRequest, pk: int) -> HttpResponse:
    clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
    status = 200
    try:
        clip = services.clip_rename(clip=clip, by=request.user, title=request.POST.get("title", ""))  # type: ignore[arg-type]
    except ValidationError as exc:
        status = INVALID
        messages.error(request, " ".join(exc.messages))
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "library/_clip_row.html", {"clip": clip}, status=status)
    return redirect("library:clips")


@require_POST
@login_required
def clip_delete(request: HttpRequest, pk: int) -> HttpResponse:
    clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
    services.clip_delete(clip=clip, by=request.user)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse("")
    messages.success(request, f"“{clip.title}” deleted.")
    return redirect("library:clips")


# --- playlists -------------------------------------------------------------------


def _clip_ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


@require_POST
@login_required
def playlist_create(request: HttpRequest) -> HttpResponse:
    try:
        playlist = services.playlist_create(
            owner=request.user,  # type: ignore[arg-type]
            name=request.POST.get("name", ""),
            clip_ids=_clip_ids(request.POST.getlist("clips")),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Playlist “{playlist.name}” saved.")
    return redirect("library:clips")


@require_POST
@login_required
def playlist_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a clip up, or take it out: the new order goes to playlist_set_clips in one call."""
    playlist = get_owned_or_404(Playlist.objects.all(), request.user, pk=pk)
    ids = list(playlist.items.values_list("clip_id", flat=True))
    try:
        index = int(request.POST.get("index", ""))
        if not 0 <= index < len(ids):
            raise ValueError(index)
    except ValueError:
        messages.error(request, "That clip is no longer in the playlist.")
        return redirect("library:clips")
    if request.POST.get("action") == "up" and index > 0:
        ids[index - 1], ids[index] = ids[index], ids[index - 1]
    elif request.POST.get("action") == "remove":
        del ids[index]
    try:
        services.playlist_set_clips(playlist=playlist, by=request.user, clip_ids=ids)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("library:clips")


@require_POST
@login_required
def playlist_delete(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = get_owned_or_404(Playlist.objects.all(), request.user, pk=pk)
    services.playlist_delete(playlist=playlist, by=request.user)  # type: ignore[arg-type]
    messages.success(request, f"Playlist “{playlist.name}” deleted.")
    return redirect("library:clips")
