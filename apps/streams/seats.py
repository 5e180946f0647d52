"""Who may moderate a stream's comments: its owner (host) and its moderators. Guests may not.

Participants are known as in the studio websocket (apps/streams/consumers.py): the
host by their login, a guest by the seat their invite link put in the session, or by
a guest seat linked to their account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.streams.models import Guest, Stream

# The session key apps/streams/studio_views.py stores guest seats under ({stream_id: guest_id}).
SESSION_GUESTS_KEY = "studio_guests"
MODERATING_ROLES = (Guest.Role.HOST, Guest.Role.MODERATOR)


def remember_seat(session: Any, guest: Guest) -> None:
    """This browser is now this guest (the join page, after they gave their name)."""
    seats = dict(session.get(SESSION_GUESTS_KEY) or {})
    seats[str(guest.stream_id)] = guest.pk
    session[SESSION_GUESTS_KEY] = seats


def session_seat_id(session: Any, stream_id: int) -> int | None:
    """The guest id this session holds for the stream, if any (not checked: see `_seats`)."""
    if session is None:
        return None
    found = (session.get(SESSION_GUESTS_KEY) or {}).get(str(stream_id))
    return int(found) if found is not None else None


def seat_guest(request: Any, stream_id: int) -> Guest | None:
    """The joined, usable guest this browser sits in for `stream_id`, if any."""
    seat = session_seat_id(request.session, stream_id)
    if seat is None:
        return None
    return (
        Guest.objects.usable()
        .select_related("stream__owner")
        .filter(pk=seat, stream_id=stream_id, joined_at__isnull=False)
        .first()
    )


def _seats(user: Any, session: Any, stream: Stream) -> list[Guest]:
    seats: list[Guest] = []
    guest_id = session_seat_id(session, stream.pk)
    if guest_id is not None:
        seats += list(Guest.objects.usable().filter(pk=guest_id, stream=stream, joined_at__isnull=False))
    if user is not None and getattr(user, "is_authenticated", False):
        seats += list(Guest.objects.usable().filter(stream=stream, user=user))
    return seats


def studio_role(user: Any, session: Any, stream: Stream) -> str | None:
    """ "host", "moderator", "guest", or None for someone who is not in this studio."""
    if user is not None and getattr(user, "is_authenticated", False) and user.pk == stream.owner_id:
        return "host"
    seats = _seats(user, session, stream)
    if any(seat.role in MODERATING_ROLES for seat in seats):
        return "moderator"
    return "guest" if seats else None


def moderator_seat_id(user: Any, session: Any, stream: Stream) -> int | None:
    """The guest seat through which someone moderates this stream (None for the host or a non-moderator)."""
    for seat in _seats(user, session, stream):
        if seat.role in MODERATING_ROLES:
            return seat.pk
    return None


def can_moderate(user: Any, session: Any, stream: Stream) -> bool:
    return studio_role(user, session, stream) in {"host", "moderator"}


def stream_for_moderation(request: Any, stream_id: int) -> Stream:
    """The stream if the requester may moderate it; 403 for a guest of the studio, 404 for anyone else."""
    stream = Stream.objects.select_related("owner", "brand_kit").filter(pk=stream_id).first()
    if stream is None:
        raise Http404("No such stream.")
    role = studio_role(request.user, request.session, stream)
    if role in {"host", "moderator"}:
        return stream
    if role == "guest":
        raise PermissionDenied("Guests cannot moderate comments.")
    raise Http404("No such stream.")


@dataclass(frozen=True)
class Participant:
    stream: Stream
    role: str
    name: str
    author_id: str


def studio_participant(request: Any, stream_id: int) -> Participant:
    """Who is writing in the studio chat (host, moderator or guest); 404 for anyone not in the studio."""
    stream = Stream.objects.select_related("owner").filter(pk=stream_id).first()
    if stream is None:
        raise Http404("No such stream.")
    role = studio_role(request.user, request.session, stream)
    if role == "host":
        return Participant(stream, role, request.user.username, f"user-{request.user.pk}")
    seats = _seats(request.user, request.session, stream)
    if role is None or not seats:
        raise Http404("No such stream.")
    seat = seats[0]
    return Participant(stream, role, seat.display_name or "Guest", f"guest-{seat.pk}")
