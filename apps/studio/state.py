"""What the studio shows, as JSON: the people, the stream, the scene, the destinations.

The same shapes go out over the websocket (`state.full`, `participant.*`) and the REST API
(`GET /api/v1/streams/<id>/studio/`), so a browser, the mobile app and an integrator read one model.
Everything here is read from the database, apart from presence and chat, which live in Redis
and can be rebuilt (a client that reconnects after a restart gets the whole state back).
"""

from __future__ import annotations

from typing import Any

from apps.core import events
from apps.streams.models import Guest, Stream

from . import chat, playback, presence, scene
from .payloads import destination_payload, guest_payload, host_payload, stream_payload


def scene_payload(stream: Stream, version: int | None = None) -> dict[str, Any]:
    """The stored scene, its scene graphs (the same JSON the compositor renders) and where assets are.

    `version` (from scene.scene_snapshot) orders it among the `scene.changed` events: a client keeps the newest.
    """
    state = scene.scene_state(stream)
    return {
        "scene": state["scene"],
        "scene_graph": state["canvases"]["landscape"],
        "canvases": state["canvases"],
        "assets": state["assets"],
        "scene_version": version,
    }


def studio_people(stream: Stream) -> list[Guest]:
    """Guests who belong in the people list: invited, named, and still allowed in."""
    return list(Guest.objects.filter(stream=stream, joined_at__isnull=False).usable().order_by("created_at", "pk"))


def build_state(stream_id: int, role: str, guest_id: int | None) -> dict[str, Any]:
    """`state.full` for one seat: the host, a moderator or a guest."""
    with scene.scene_snapshot(stream_id) as (locked, version):
        if locked is None:
            raise Stream.DoesNotExist(f"no stream {stream_id}")
        stream = locked
        scene_part = scene_payload(stream, version)
    online = presence.online(stream_id)
    host = host_payload(stream, online=stream.host_identity in online)
    participants = [host] + [guest_payload(g, online=g.identity in online) for g in studio_people(stream)]
    mine = [p for p in participants if p["guest_id"] == guest_id]
    you: dict[str, Any] | None = host if role == events.HOST else (mine[0] if mine else None)
    state: dict[str, Any] = {
        "type": events.STATE_FULL,
        "role": role,
        "you": you,
        "stream": stream_payload(stream),
        "participants": participants,
        **scene_part,
        "chat": chat.chat_history(stream_id),
    }
    if role == events.HOST:
        state["destinations"] = [destination_payload(d) for d in stream.destinations.all()]
    # The playback itself is in scene["playback"] (and the graphs' "clip" layer); this is the compositor's
    # last progress report, for a studio that connects mid-clip (None until the first report).
    state["playback_progress"] = playback.playback_progress(stream.pk) if state["scene"].get("playback") else None
    return state
