"""Dashboard pages: the creator's streams, one stream's detail, its guests.

Each view authorises through get_owned_or_404, calls one service, and renders
either the whole page or only the fragment HTMX asked for (`request.htmx`).
Invalid input answers 422 with the form and its errors in place; the htmx
config in base.html swaps 422 responses like 200s.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap

from apps.core.ownership import get_owned_or_404
from apps.core.web import INVALID, toast, with_user_timezone
from apps.recordings.models import Recording
from apps.studio import services as studio_services

from . import services
from .forms import GuestInviteForm, StreamForm, add_service_errors
from .models import Guest, Stream


def studio_url(stream: Stream) -> str:
    """The studio page, once it exists (it comes with the studio part of the product); "" until then."""
    try:
        return reverse("studio", args=[stream.pk])
    except NoReverseMatch:
        return ""


# What the creator needs first: shows on air, then the next ones by start time, then the archive.
STATUS_ORDER = Case(
    When(status=Stream.Status.LIVE, then=Value(0)),
    When(status=Stream.Status.SCHEDULED, then=Value(1)),
    default=Value(2),
)


def _streams(user: Any) -> QuerySet[Stream]:
    return (
        Stream.objects.owned_by(user)
        .annotate(destination_count=Count("destinations", distinct=True), status_order=STATUS_ORDER)
        .order_by("status_order", F("scheduled_start").asc(nulls_last=True), "-ended_at", "-created_at")
    )


def _stream_with_counts(user: Any, pk: int) -> Stream:
    return get_owned_or_404(_streams(user), user, pk=pk)


def _stats(user: Any) -> dict[str, int]:
    counts = Stream.objects.owned_by(user).aggregate(
        total=Count("id"),
        live=Count("id", filter=Q(status=Stream.Status.LIVE)),
        scheduled=Count("id", filter=Q(status=Stream.Status.SCHEDULED)),
    )
    counts["recordings"] = Recording.objects.owned_by(user).count()
    return counts


def _list_context(user: Any) -> dict[str, Any]:
    return {"streams": list(_streams(user)), "stats": _stats(user)}


# --- dashboard -----------------------------------------------------------------------


@require_GET
@login_required
@with_user_timezone
def dashboard(request: HttpRequest) -> HttpResponse:
    template = "streams/_stream_list.html" if request.htmx else "streams/dashboard.html"  # type: ignore[attr-defined]
    return render(request, template, _list_context(request.user))


@require_http_methods(["GET", "POST"])
@login_required
@with_user_timezone
def stream_create(request: HttpRequest) -> HttpResponse:
    form = StreamForm(request.POST if request.method == "POST" else None, owner=request.user)
    fragment = request.htmx  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            stream = services.stream_create(owner=request.user, **form.service_kwargs())  # type: ignore[arg-type]
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if not fragment:
                messages.success(request, f"“{stream.title}” is scheduled. Add where it goes live below.")
                return redirect("stream_detail", pk=stream.pk)
            # The create panel empties; the list and the counters are swapped out of band.
            response = render(
                request,
                "streams/_stream_created.html",
                {**_list_context(request.user), "new_stream": stream},
            )
            return toast(request, response, f"“{stream.title}” created.")
    template = "streams/_stream_create.html" if fragment else "streams/stream_form.html"
    status = INVALID if form.errors else 200
    return render(request, template, {"form": form, "stream": None}, status=status)


@require_GET
@login_required
@with_user_timezone
def stream_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One dashboard row (what "Cancel" on an inline edit swaps back in)."""
    stream = _stream_with_counts(request.user, pk)
    return render(request, "streams/_stream_row.html", {"s": stream})


@require_http_methods(["GET", "POST"])
@login_required
@with_user_timezone
def stream_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stream = _stream_with_counts(request.user, pk)
    form = StreamForm(request.POST if request.method == "POST" else None, owner=request.user, stream=stream)
    fragment = request.htmx  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            services.stream_update(stream=stream, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if not fragment:
                messages.success(request, "Stream saved.")
                return redirect("stream_detail", pk=stream.pk)
            response = render(request, "streams/_stream_row.html", {"s": _stream_with_counts(request.user, pk)})
            return toast(request, response, "Stream saved.")
    template = "streams/_stream_edit_row.html" if fragment else "streams/stream_form.html"
    return render(
        request, template, {"form": form, "s": stream, "stream": stream}, status=INVALID if form.errors else 200
    )


@require_POST
@login_required
@with_user_timezone
def stream_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
    title = stream.title
    try:
        services.stream_delete(stream=stream, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        text = " ".join(exc.messages)
        if request.htmx:  # type: ignore[attr-defined]
            return toast(request, reswap(HttpResponse(status=200), "none"), text, "error")
        messages.error(request, text)
        return redirect("stream_detail", pk=pk)
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, f"“{title}” deleted.")
        return redirect("dashboard")
    # The row swaps itself away (empty body); the counters, and the empty state when
    # this was the last stream, come out of band.
    response = render(request, "streams/_stream_deleted.html", _list_context(request.user))
    return toast(request, response, f"“{title}” deleted.")


# --- one stream ------------------------------------------------------------------------


def _detail_context(request: HttpRequest, stream: Stream, **extra: Any) -> dict[str, Any]:
    from apps.destinations.forms import DestinationForm

    return {
        "stream": stream,
        "s": stream,
        "studio_url": studio_url(stream),
        "destinations": list(stream.destinations.all()),
        "destination_form": DestinationForm(),
        "guests": list(stream.guests.all()),
        "invite_form": GuestInviteForm(),
        "recordings": list(stream.recordings.all()),
        **extra,
    }


@require_GET
@login_required
@with_user_timezone
def stream_detail(request: HttpRequest, pk: int) -> HttpResponse:
    stream = _stream_with_counts(request.user, pk)
    return render(request, "streams/stream_detail.html", _detail_context(request, stream))


@require_POST
@login_required
@with_user_timezone
def guest_invite(request: HttpRequest, pk: int) -> HttpResponse:
    stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
    form = GuestInviteForm(request.POST)
    created = form.create_invite(stream=stream, by=request.user)
    # The token exists only in this response: the database keeps its hash.
    invite_url = created[1] if created else ""
    if created:
        form = GuestInviteForm()
    context = {
        "stream": stream,
        "guests": list(stream.guests.all()),
        "invite_form": form,
        "invite_url": invite_url,
    }
    status = INVALID if form.errors else 200
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "streams/_guests.html", context, status=status)
        return (
            toast(request, response, "Invite link created. Copy it now: it is shown only once.")
            if invite_url
            else response
        )
    detail = _detail_context(request, stream, invite_form=form, invite_url=invite_url)
    return render(request, "streams/stream_detail.html", detail, status=status)


@require_POST
@login_required
@with_user_timezone
def guest_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    guest = get_owned_or_404(Guest.objects.select_related("stream"), request.user, pk=pk)
    guest = studio_services.guest_revoke(guest=guest, by=request.user)  # type: ignore[arg-type]
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, "Invite revoked.")
        return redirect("stream_detail", pk=guest.stream_id)
    response = render(request, "streams/_guest_row.html", {"g": guest})
    return toast(request, response, f"{guest} can no longer join with that link.")
