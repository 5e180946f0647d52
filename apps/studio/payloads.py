"""The JSON shapes of the studio's people, stream and destinations (socket events and REST alike)."""

from __future__ import annotations

from typing import Any

from apps.core import events
from apps.streams.models import Guest, Stream


def role_of(guest: Guest) -> str:
    return events.MODERATOR if guest.role in (Guest.Role.MODERATOR, Guest.Role.HOST) else events.GUEST


def stream_payload(stream: Stream) -> dict[str, Any]:
    return {
        "id": stream.pk,
        "title": stream.title,
        "status": stream.status,
        "started_at": stream.started_at.isoformat() if stream.started_at else None,
        "ended_at": stream.ended_at.isoformat() if stream.ended_at else None,
        "layout": stream.layout,
        "width": stream.size[0],
        "height": stream.size[1],
    }


def guest_payload(guest: Guest, *, online: bool | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": guest.identity,
        "guest_id": guest.pk,
        "name": guest.display_name or "Guest",
        "role": role_of(guest),
        "on_stage": guest.on_stage,
        "audio": guest.audio_enabled,
        "video": guest.video_enabled,
        # The host muted them: only the host can undo it (the guest may ask).
        "audio_locked": guest.audio_locked,
        "video_locked": guest.video_locked,
    }
    if online is not None:
        data["online"] = online
    return data


def host_payload(stream: Stream, *, online: bool | None = None) -> dict[str, Any]:
    stored = stream.scene or {}
    data: dict[str, Any] = {
        "id": stream.host_identity,
        "guest_id": None,
        # The username, as everywhere in the studio: never the login email.
        "name": stream.owner.username or "Host",
        "role": events.HOST,
        "on_stage": bool(stored.get("host_on_stage", True)),
        "audio": not stored.get("host_muted", False),
        "video": True,
        "audio_locked": False,
        "video_locked": False,
    }
    if online is not None:
        data["online"] = online
    return data


def destination_payload(destination: Any) -> dict[str, Any]:
    # Never the stream key, not even masked: the studio has no use for it.
    return {
        "id": destination.pk,
        "name": destination.display_name,
        "platform": destination.platform,
        "enabled": destination.enabled,
        "status": destination.status,
        # The one vocabulary (apps/destinations/models.py destination_state), as the dashboard and the API say it.
        "state": destination.state,
        "state_label": destination.state_label,
        "health": destination.health or {},
    }
