"""The file of a clip playing into a show, for the studio previews of the host and the guests.

Guests have no account: a guest seat in this stream's studio (the session) is enough, but only for a clip that
the stream is playing right now (`Stream.scene["playback"]`), never for the rest of the host's library.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from apps.streams.models import Stream
from apps.streams.seats import seat_guest as guest_seat
from apps.studio.playback import active_playback

from .files import serve_user_file
from .models import MediaClip


@require_GET
def playback_video(request: HttpRequest, stream_id: int, clip_id: int) -> HttpResponse:
    stream = Stream.objects.filter(pk=stream_id).first()
    if stream is None:
        raise Http404("No such stream.")
    is_owner = request.user.is_authenticated and request.user.pk == stream.owner_id
    if not is_owner and guest_seat(request, stream_id) is None:
        raise Http404("Not in this studio.")
    playback = active_playback(stream.scene) or {}
    if f"clip:{clip_id}" not in {item.get("source") for item in playback.get("items") or []}:
        raise Http404("This clip is not playing in this show.")
    clip = MediaClip.objects.filter(pk=clip_id, owner_id=stream.owner_id, status=MediaClip.Status.READY).first()
    if clip is None:
        raise Http404("No such clip.")
    return serve_user_file(request, clip.mezzanine, filename=f"{clip.title}.mp4", inline=True)
