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
from .models import MediaClip
from .quota import storage_usage

INVALID = 422


@require_GET
@login_required
def clip_list(request: HttpRequest) -> HttpResponse:
    clips = owned(MediaClip.objects.all(), request.user)
    return render(request, "library/clip_list.html", {"clips": clips, "usage": storage_usage(request.user)})


@require_GET
@login_required
def clip_row(request: HttpRequest, pk: int) -> HttpResponse:
    """The row alone: polled by the page while the clip is processing (progress bar)."""
    clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
    return render(request, "library/_clip_row.html", {"clip": clip})


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
