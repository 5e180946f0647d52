"""Destination views on a stream's page: add, edit inline, delete, all with HTMX fragments.

The destinations card (`#destinations`) is re-rendered after add and delete so
the empty state and the add form stay right; an edit swaps only its row.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.ownership import get_owned_or_404
from apps.core.web import INVALID, toast, with_user_timezone
from apps.streams.forms import add_service_errors
from apps.streams.models import Stream

from . import services
from .forms import DestinationForm
from .models import StreamDestination


def _card(request: HttpRequest, stream: Stream, form: DestinationForm | None = None, status: int = 200) -> HttpResponse:
    context = {
        "stream": stream,
        "destinations": list(stream.destinations.all()),
        "destination_form": form or DestinationForm(),
    }
    return render(request, "streams/_destinations.html", context, status=status)


def _owned_destination(request: HttpRequest, pk: int) -> StreamDestination:
    return get_owned_or_404(StreamDestination.objects.select_related("stream"), request.user, pk=pk)


@require_http_methods(["GET", "POST"])
@login_required
@with_user_timezone
def destination_create(request: HttpRequest, stream_pk: int) -> HttpResponse:
    stream = get_owned_or_404(Stream.objects.all(), request.user, pk=stream_pk)
    form = DestinationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            destination = services.destination_create(stream=stream, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            text = f"{destination.display_name} added."
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, text)
                return redirect("stream_detail", pk=stream.pk)
            return toast(request, _card(request, stream), text)
    status = INVALID if form.errors else 200
    if request.htmx:  # type: ignore[attr-defined]
        return _card(request, stream, form, status)
    return render(request, "streams/destination_form.html", {"stream": stream, "form": form}, status=status)


@require_GET
@login_required
def destination_row(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "streams/_destination_row.html", {"d": _owned_destination(request, pk)})


@require_http_methods(["GET", "POST"])
@login_required
@with_user_timezone
def destination_edit(request: HttpRequest, pk: int) -> HttpResponse:
    destination = _owned_destination(request, pk)
    form = DestinationForm(request.POST if request.method == "POST" else None, destination=destination)
    if request.method == "POST" and form.is_valid():
        try:
            destination = services.destination_update(
                destination=destination,
                by=request.user,  # type: ignore[arg-type]
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, f"{destination.display_name} saved.")
                return redirect("stream_detail", pk=destination.stream_id)
            response = render(request, "streams/_destination_row.html", {"d": destination})
            return toast(request, response, f"{destination.display_name} saved.")
    context: dict[str, Any] = {"d": destination, "stream": destination.stream, "form": form}
    template = "streams/_destination_edit_row.html" if request.htmx else "streams/destination_form.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=INVALID if form.errors else 200)


@require_POST
@login_required
@with_user_timezone
def destination_delete(request: HttpRequest, pk: int) -> HttpResponse:
    destination = _owned_destination(request, pk)
    stream, name = destination.stream, destination.display_name
    try:
        services.destination_delete(destination=destination, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return toast(request, _card(request, stream), " ".join(exc.messages), "error")
        messages.error(request, " ".join(exc.messages))
        return redirect("stream_detail", pk=stream.pk)
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, f"{name} removed.")
        return redirect("stream_detail", pk=stream.pk)
    return toast(request, _card(request, stream), f"{name} removed.")
