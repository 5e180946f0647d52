"""Playing library clips and playlists into the show (issue 7, point 3).

The playback is part of the scene: `Stream.scene["playback"]` holds what plays,
how (full screen or as a layer), with which transition, and when it started:

    {"id", "mode": "fullscreen" | "layer", "transition": {"kind", "duration_ms"},
     "started_at": epoch seconds, "duration": seconds,
     "items": [{"source": "clip:<id>", "title", "name", "url", "start", "duration", "width", "height"}]}

`scene_state` adds a "clip" layer to every canvas's scene graph while it plays
(`clip_layer`): the compositor decodes the mezzanines into that rect
(workers/compositor/playback.py), and a browser preview plays the same files
from `url`, each item at `started_at + start`, so host and guests see what goes
out. When the playlist has played (or after `playback_stop`), the program cuts
or fades back to the live layout with the same transition.

The compositor reports progress while it plays (`playback_report`): the
studio group gets "playback.progress" {clip, position, remaining, …} once a
second, the last report stays in Redis (`progress_key`) for a studio that
connects mid-clip, and "playback.ended" clears the stored playback.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from apps.accounts.models import User
from apps.core import realtime
from apps.core import redis as redis_client
from apps.core.ownership import ensure_owner
from apps.streams.models import Stream
from media.scene import layout as engine

log = logging.getLogger(__name__)

MODES = ("fullscreen", "layer")
PLAYBACK_SOURCE = "playback"  # the clip layer's source (workers/compositor/program.PLAYBACK_SOURCE)
# Above the tiles and name tags, under the logo, the comment card and the banner: the brand stays on air.
Z_CLIP = 70
# A layer-mode clip: this fraction of the canvas width (portrait canvases: wider), 16:9, top right.
LAYER_WIDTH = 0.4
LAYER_WIDTH_PORTRAIT = 0.8
# A stored playback counts as over this long after its nominal end (the compositor's end report may be late
# or missing if the show is not live): the scene then stops drawing it.
END_GRACE_SECONDS = 3.0
MAX_ITEMS = 50
PROGRESS_TTL_SECONDS = 30


def progress_key(stream_id: int) -> str:
    return f"streamus:playback:{stream_id}"


# --- reading -------------------------------------------------------------------------------


def active_playback(scene: dict[str, Any] | None, now: float | None = None) -> dict[str, Any] | None:
    """The scene's playback while it plays (by the clock; the compositor may also end it earlier)."""
    playback = (scene or {}).get("playback")
    if not isinstance(playback, dict):
        return None
    now = time.time() if now is None else now
    if now > float(playback.get("started_at", 0)) + float(playback.get("duration", 0)) + END_GRACE_SECONDS:
        return None
    return playback


def clip_layer(playback: dict[str, Any], width: int, height: int, margin: float = 0.03) -> dict[str, Any]:
    """The scene graph layer of a playing clip on a width x height canvas (JSON, like layout.Layer.to_dict)."""
    if playback.get("mode") == "layer":
        pad = margin * min(width, height)
        w = width * (LAYER_WIDTH_PORTRAIT if height > width else LAYER_WIDTH)
        rect = engine._rect(width - pad - w, pad, w, w * 9 / 16, width, height)
    else:
        rect = engine.Rect(0, 0, width, height)
    layer = engine.Layer(
        kind="clip",
        source=PLAYBACK_SOURCE,
        rect=rect,
        z=Z_CLIP,
        fit="contain",
        label=str((playback.get("items") or [{}])[0].get("title", "")),
    ).to_dict()
    # What a browser needs to play the same thing in sync (the compositor reads "items" from the scene).
    layer["playback"] = {
        key: playback.get(key) for key in ("id", "mode", "started_at", "duration", "transition", "items")
    }
    return layer


def with_clip(graph: dict[str, Any], playback: dict[str, Any]) -> dict[str, Any]:
    layers = [*graph["layers"], clip_layer(playback, graph["width"], graph["height"])]
    return {**graph, "layers": sorted(layers, key=lambda layer: layer["z"])}


# --- writing -------------------------------------------------------------------------------


def _items(stream: Stream, clip: Any, playlist: Any) -> list[dict[str, Any]]:
    from apps.library.models import MediaClip
    from apps.library.selectors import clip_source

    owner_id = stream.owner_id
    if (clip is None) == (playlist is None):
        raise ValidationError({"clip": "Play either a clip or a playlist."})
    if playlist is not None:
        if playlist.owner_id != owner_id:
            raise ValidationError({"playlist": "This playlist is not in your library."})
        clips = [item.clip for item in playlist.items.select_related("clip").order_by("position", "id")]
        if not clips:
            raise ValidationError({"playlist": "This playlist is empty."})
        if len(clips) > MAX_ITEMS:
            raise ValidationError({"playlist": f"A playlist plays at most {MAX_ITEMS} clips."})
    else:
        clips = [clip]
    items = []
    start = 0.0
    for item in clips:
        if item.owner_id != owner_id:
            raise ValidationError({"clip": "This clip is not in your library."})
        if item.status != MediaClip.Status.READY or not item.mezzanine:
            raise ValidationError({"clip": f"“{item.title}” is not ready to play yet."})
        source = clip_source(item)
        items.append(
            {
                "source": source["source"],
                "title": item.title,
                "name": source["name"],
                "url": reverse("library:playback_video", args=[stream.pk, item.pk]),
                "start": round(start, 3),
                "duration": float(item.duration_seconds),
                "width": item.width,
                "height": item.height,
            }
        )
        start += float(item.duration_seconds)
    return items


def _clean_transition(transition: Any) -> dict[str, Any]:
    from .scene import _clean_transition as clean

    return clean(transition or "cut")


def _store(stream: Stream, playback: dict[str, Any] | None) -> dict[str, Any]:
    from .scene import scene_publish, scene_state

    scene = dict(stream.scene or {})
    if playback is None:
        scene.pop("playback", None)
    else:
        scene["playback"] = playback
    stream.scene = scene
    stream.save(update_fields=["scene", "updated_at"])
    scene_publish(stream_id=stream.pk)
    return scene_state(stream)


def _locked(stream: Stream) -> Stream:
    return Stream.objects.select_for_update(of=("self",)).select_related("owner", "brand_kit").get(pk=stream.pk)


@transaction.atomic
def playback_start(
    *,
    stream: Stream,
    by: User | None,
    clip: Any = None,
    playlist: Any = None,
    mode: str = "fullscreen",
    transition: Any = "cut",
) -> dict[str, Any]:
    """Play a ready clip (or a playlist) of the owner's library into the show; replaces what was playing.

    Returns the new scene state; the compositor starts the clip on its next frame.
    """
    ensure_owner(stream.owner_id, by)
    if mode not in MODES:
        raise ValidationError({"mode": "Play a clip full screen or as a layer."})
    stream = _locked(stream)
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"status": "This show has ended."})
    items = _items(stream, clip, playlist)
    playback = {
        "id": uuid.uuid4().hex,
        "mode": mode,
        "transition": _clean_transition(transition),
        "started_at": time.time(),
        "duration": round(sum(item["duration"] for item in items), 3),
        "items": items,
        "playlist": playlist.pk if playlist is not None else None,
    }
    return _store(stream, playback)


def playback_start_from_library(
    *,
    stream: Stream,
    by: User | None,
    clip_id: Any = None,
    playlist_id: Any = None,
    mode: str = "fullscreen",
    transition: Any = "cut",
) -> dict[str, Any]:
    """Play a clip or playlist given by id: the owner's only (another owner's id reads as missing)."""
    from apps.library.models import MediaClip, Playlist

    owner = stream.owner
    clip = playlist = None
    if playlist_id is not None:
        playlist = Playlist.objects.owned_by(owner).filter(pk=int(playlist_id)).first()
        if playlist is None:
            raise ValidationError({"playlist": "This playlist is not in your library."})
    elif clip_id is not None:
        clip = MediaClip.objects.owned_by(owner).filter(pk=int(clip_id)).first()
        if clip is None:
            raise ValidationError({"clip": "This clip is not in your library."})
    return playback_start(stream=stream, by=by, clip=clip, playlist=playlist, mode=mode, transition=transition)


@transaction.atomic
def playback_stop(*, stream: Stream, by: User | None) -> dict[str, Any]:
    """Stop what is playing; the program goes back to the layout with the playback's transition."""
    ensure_owner(stream.owner_id, by)
    stream = _locked(stream)
    return _store(stream, None)


@transaction.atomic
def playback_finished(*, stream_id: int, playback_id: str) -> bool:
    """The compositor played it to the end: drop it from the scene (if it is still the one stored)."""
    stream = Stream.objects.select_for_update(of=("self",)).filter(pk=stream_id).first()
    if stream is None or ((stream.scene or {}).get("playback") or {}).get("id") != playback_id:
        return False
    _store(Stream.objects.select_related("owner", "brand_kit").get(pk=stream_id), None)
    return True


def playback_report(*, stream_id: int, report: dict[str, Any]) -> None:
    """From the media process (its progress thread, never the frame loop): tell the studio where the clip is.

    Events: "playback.progress" once a second ({id, clip, title, index, position, remaining, …}) and
    "playback.ended" / "playback.stopped" at the end. The last report also stays in Redis for a studio
    that asks mid-clip.
    """
    event = str(report.get("event", "progress"))
    payload = {key: value for key, value in report.items() if key != "event"}
    try:
        client = redis_client.client()
        if event == "progress":
            client.set(progress_key(stream_id), json.dumps(payload), ex=PROGRESS_TTL_SECONDS)
        else:
            client.delete(progress_key(stream_id))
    except redis_client.RedisUnavailable:
        log.warning("playback progress of stream %s not stored: Redis unavailable", stream_id)
    if event == "ended" and payload.get("id"):
        playback_finished(stream_id=stream_id, playback_id=str(payload["id"]))
    realtime.publish(realtime.stream_group(stream_id), f"playback.{event}", playback=payload)


def playback_progress(stream_id: int) -> dict[str, Any] | None:
    """The last progress report of the stream's playing clip (None when nothing plays)."""
    try:
        raw: Any = redis_client.client().get(progress_key(stream_id))
    except redis_client.RedisUnavailable:
        return None
    return json.loads(raw) if raw else None
