"""Recordings library: program and per-participant recordings grouped by show; play, download, rename, delete."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.core.ownership import get_owned_or_404, owned
from apps.library.files import serve_user_file, wants_download
from apps.library.quota import storage_usage

from . import services
from .models import Recording

INVALID = 422


def download_name(recording: Recording) -> str:
    ext = recording.file.name.rsplit(".", 1)[-1] if "." in recording.file.name else recording.format
    return f"{recording}.{ext}"


@require_GET
@login_required
def recording_list(request: HttpRequest) -> HttpResponse:
    # Per show: the program first ("program" > "participant"), its parts in order, then one local file per person.
    recordings = owned(Recording.objects.select_related("stream"), request.user).order_by(
        "-stream__created_at", "stream_id", "-kind", "segment", "-created_at"
    )
    shows = [(stream, list(items)) for stream, items in groupby(recordings, key=lambda r: r.stream)]
    return render(request, "recordings/recording_list.html", {"shows": shows, "usage": storage_usage(request.user)})


@require_GET
@login_required
def recording_file(request: HttpRequest, pk: int) -> HttpResponse:
    recording = get_owned_or_404(Recording.objects.select_related("stream"), request.user, pk=pk)
    return serve_user_file(
        request, recording.file, filename=download_name(recording), inline=not wants_download(request)
    )


@require_POST
@login_required
def recording_rename(request: HttpRequest, pk: int) -> HttpResponse:
    recording = get_owned_or_404(Recording.objects.select_related("stream"), request.user, pk=pk)
    status = 200
    error = ""
    try:
        recording = services.recording_rename(
            recording=recording,
            by=request.user,  # type: ignore[arg-type]
            title=request.POST.get("title", ""),
        )
    except ValidationError as exc:
        status, error = INVALID, " ".join(exc.messages)
        recording.refresh_from_db()
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "recordings/_recording_row.html", {"r": recording, "error": error}, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Recording renamed.")
    return redirect("recordings:list")


@require_POST
@login_required
def recording_delete(request: HttpRequest, pk: int) -> HttpResponse:
    recording = get_owned_or_404(Recording.objects.select_related("stream"), request.user, pk=pk)
    services.recording_delete(recording=recording, by=request.user)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse("")
    messages.success(request, "Recording deleted.")
    return redirect("recordings:list")
