"""Reads on the library, for the studio's clip panel and the compositor's playback (issue 7, point 3)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.core.ownership import owned

from . import media
from .models import MediaClip, Playlist

MEZZANINE_SAMPLE_RATE = 48000
MEZZANINE_CHANNELS = 2


def clips_ready_for(user: Any) -> QuerySet[MediaClip]:
    """Clips the user may play into a show: processed, newest first."""
    return owned(MediaClip.objects.filter(status=MediaClip.Status.READY), user)


def clip_source(clip: MediaClip) -> dict[str, Any]:
    """What a player needs to open a clip: every mezzanine is H.264/AAC MP4 at a fixed frame rate,
    so the compositor can decode it without probing (and never opens a user's original file)."""
    return {
        "source": f"clip:{clip.pk}",
        "name": clip.mezzanine.name,
        "title": clip.title,
        "duration": clip.duration_seconds,
        "width": clip.width,
        "height": clip.height,
        "fps": media.MEZZANINE_FPS,
        "sample_rate": MEZZANINE_SAMPLE_RATE,
        "channels": MEZZANINE_CHANNELS,
    }


def playlist_sources(playlist: Playlist) -> list[dict[str, Any]]:
    """The playlist's clips in play order, as `clip_source` gives them."""
    return [clip_source(item.clip) for item in playlist.items.select_related("clip")]


def playlist_duration(playlist: Playlist) -> float:
    return sum(item.clip.duration_seconds for item in playlist.items.select_related("clip"))
