"""The stream's scene: what the studio chose (Stream.scene) and the scene graphs drawn from it.

`Stream.scene` holds the host's choices, a superset of what the studio page sends:

    layout          one of layout.LAYOUTS
    stage_order     identities in the order the host arranged them (on-stage flags live on Guest)
    host_on_stage   the host's own camera on stage (default True)
    host_muted      the host's microphone left out of the mix
    screen_share    identity whose screen share is shown (screen_share layout)
    overlays        {logo, background, overlay, banner, name_tags, comment}: on/off
    banner_text     text of the banner
    positions       custom layout: identity → [x, y, w, h] fractions of the canvas
    featured        identity solo shows and picture-in-picture makes big (None: the first on stage)
    pip_corner      where picture-in-picture's small window sits (layout.PIP_CORNERS)
    transition      {"kind": "cut" | "fade", "duration_ms": 0..2000}
    playback        a clip or playlist playing into the show (apps/streams/playback.py): adds a "clip" layer

`scene_set` validates and stores them, then (on commit) publishes the new scene
graphs to the studio group (`scene.changed`) and to Redis, where the compositor
of a live show picks them up before its next frame:

    SET  streamus:scene:<stream id>   {"version", "scene", "canvases", "assets"}
    PUBLISH streamus:scene:<stream id> <version>
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from apps.accounts.models import User
from apps.core import events, realtime
from apps.core import redis as redis_client
from apps.core.ownership import ensure_owner
from apps.streams.models import Guest, Stream
from media.scene import layout as engine

from .payloads import host_payload

log = logging.getLogger(__name__)

OVERLAY_KEYS = frozenset({"logo", "background", "overlay", "banner", "name_tags", "comment"})
# The comment slot is on by default: it shows something only while a comment is on screen (apps.engagement).
OVERLAY_DEFAULTS = {
    "logo": True,
    "background": True,
    "overlay": False,
    "banner": False,
    "name_tags": True,
    "comment": True,
}
TRANSITIONS = ("cut", "fade")
MAX_TRANSITION_MS = 2000
MAX_BANNER_TEXT = 200
CANVASES = ("landscape", "vertical")


def redis_key(stream_id: int) -> str:
    return f"streamus:scene:{stream_id}"


# --- reading: Stream → scene graph ------------------------------------------------------


def _asset(asset: Any) -> engine.Asset:
    aspect = (asset.width / asset.height) if asset.width and asset.height else 1.0
    return engine.Asset(
        source=f"asset:{asset.pk}", x=asset.x, y=asset.y, scale=asset.scale, opacity=asset.opacity, aspect=aspect
    )


def _brand_assets(stream: Stream) -> dict[str, Any]:
    """The first asset of each kind in the stream's brand kit (read through the kit, as the stream sees it)."""
    if stream.brand_kit is None:
        return {}
    found: dict[str, Any] = {}
    for asset in stream.brand_kit.assets.all():
        found.setdefault(asset.kind, asset)
    return found


def stage_people(stream: Stream) -> list[engine.Participant]:
    """Who is on stage, in the host's order: the host (unless stepped off) and on-stage guests."""
    scene = stream.scene or {}
    people: list[engine.Participant] = []
    if scene.get("host_on_stage", True):
        people.append(
            engine.Participant(
                id=stream.host_identity,
                name=stream.owner.public_name,
                muted=bool(scene.get("host_muted")),
            )
        )
    guests = Guest.objects.filter(stream=stream, on_stage=True).usable().order_by("created_at", "pk")
    people += [
        engine.Participant(
            id=g.identity, name=g.display_name or str(g), muted=not g.audio_enabled, has_video=g.video_enabled
        )
        for g in guests
    ]
    order = {identity: index for index, identity in enumerate(scene.get("stage_order") or [])}
    # Stable: people the host has not ordered keep their join order after the ordered ones.
    people.sort(key=lambda p: order.get(p.id, len(order)))
    return people[: engine.MAX_ON_STAGE]


def canvas_size(stream: Stream, canvas: str) -> tuple[int, int]:
    width, height = stream.size
    return engine.vertical_canvas(width, height) if canvas == "vertical" else (width, height)


Sizes = dict[str, tuple[int, int]]


def scene_graph_for_stream(stream: Stream, canvas: str = "landscape") -> dict[str, Any]:
    """The JSON scene graph of one canvas, as the compositor and the browser preview draw it."""
    return _graph(stream, canvas, stage_people(stream), _brand_assets(stream)).to_dict()


def _graph(
    stream: Stream,
    canvas: str,
    people: list[engine.Participant],
    assets: dict[str, Any],
    size: tuple[int, int] | None = None,
) -> engine.SceneGraph:
    scene = stream.scene or {}
    overlays = {**OVERLAY_DEFAULTS, **(scene.get("overlays") or {})}
    kit = stream.brand_kit
    options = engine.Options(
        name_tags=bool(overlays["name_tags"]),
        logo=_asset(assets["logo"]) if overlays["logo"] and "logo" in assets else None,
        background=_asset(assets["background"]) if overlays["background"] and "background" in assets else None,
        overlay=_asset(assets["overlay"]) if overlays["overlay"] and "overlay" in assets else None,
        banner_text=(scene.get("banner_text") or "") if overlays["banner"] else "",
        comment_card=bool(overlays["comment"]),
        primary_colour=kit.primary_colour if kit else engine.Options.primary_colour,
        accent_colour=kit.accent_colour if kit else engine.Options.accent_colour,
        positions={k: tuple(v) for k, v in (scene.get("positions") or {}).items()},  # type: ignore[misc]
        featured=scene.get("featured") or None,
        pip_corner=scene.get("pip_corner") or engine.Options.pip_corner,
    )
    sharer = scene.get("screen_share")
    return engine.compose(
        layout=scene.get("layout") or stream.layout,
        on_stage=people,
        canvas=size or canvas_size(stream, canvas),
        screen_share=f"{sharer}:screen" if sharer else None,
        options=options,
    )


def scene_state(stream: Stream, sizes: Sizes | None = None) -> dict[str, Any]:
    """Everything a renderer needs: the stored scene, each canvas's graph, and where the assets are.

    `sizes` overrides the canvas sizes (a preview thumbnail, a small test program).
    """
    people = stage_people(stream)
    assets = _brand_assets(stream)
    canvases = ["landscape", "vertical"] if stream.vertical_canvas else ["landscape"]
    scene = {**(stream.scene or {})}
    scene.setdefault("layout", stream.layout)
    scene["overlays"] = {**OVERLAY_DEFAULTS, **(scene.get("overlays") or {})}
    scene.setdefault("transition", {"kind": "cut", "duration_ms": 0})
    scene.setdefault("featured", None)
    scene.setdefault("pip_corner", engine.Options.pip_corner)
    scene.setdefault("positions", {})
    graphs = {name: _graph(stream, name, people, assets, (sizes or {}).get(name)).to_dict() for name in canvases}
    # A clip or playlist playing into the show (apps/streams/playback.py): one more layer on every canvas.
    from .playback import active_playback, with_clip

    playback = active_playback(scene)
    if playback is None:
        scene.pop("playback", None)
    else:
        graphs = {name: with_clip(graph, playback) for name, graph in graphs.items()}
    return {
        "stream": stream.pk,
        "scene": scene,
        "canvases": graphs,
        "assets": {
            f"asset:{a.pk}": {
                "url": reverse("studio_asset", args=[stream.pk, a.pk]),
                "name": a.file.name,
                "kind": a.kind,
                "width": a.width,
                "height": a.height,
            }
            for a in assets.values()
        },
        "fps": stream.fps,
    }


# --- writing ------------------------------------------------------------------------------


def _clean(stream: Stream, changes: dict[str, Any], studio_ids: set[str]) -> dict[str, Any]:
    scene: dict[str, Any] = dict(stream.scene or {})
    if "layout" in changes:
        if changes["layout"] not in engine.LAYOUTS:
            raise ValidationError({"layout": f"Choose one of {', '.join(engine.LAYOUTS)}."})
        scene["layout"] = changes["layout"]
    if "overlays" in changes:
        overlays = changes["overlays"]
        if not isinstance(overlays, dict) or set(overlays) - OVERLAY_KEYS:
            raise ValidationError({"overlays": f"Overlays are {', '.join(sorted(OVERLAY_KEYS))}."})
        scene["overlays"] = {**(scene.get("overlays") or {}), **{k: bool(v) for k, v in overlays.items()}}
    if "banner_text" in changes:
        text = " ".join(str(changes["banner_text"] or "").split())
        if len(text) > MAX_BANNER_TEXT:
            raise ValidationError({"banner_text": f"Keep the banner under {MAX_BANNER_TEXT} characters."})
        scene["banner_text"] = text
    for flag in ("host_on_stage", "host_muted"):
        if flag in changes:
            scene[flag] = bool(changes[flag])
    if "screen_share" in changes:
        sharer = changes["screen_share"] or None
        if sharer is not None and sharer not in studio_ids | {stream.host_identity}:
            raise ValidationError({"screen_share": "Only someone in this studio can share their screen."})
        scene["screen_share"] = sharer
    if "featured" in changes:
        featured = changes["featured"] or None
        if featured is not None and str(featured) not in studio_ids | {stream.host_identity}:
            raise ValidationError({"featured": "Feature someone who is in this studio."})
        scene["featured"] = None if featured is None else str(featured)
    if "pip_corner" in changes:
        if changes["pip_corner"] not in engine.PIP_CORNERS:
            raise ValidationError({"pip_corner": f"The window goes in a corner: {', '.join(engine.PIP_CORNERS)}."})
        scene["pip_corner"] = changes["pip_corner"]
    if "positions" in changes:
        scene["positions"] = _clean_positions(changes["positions"])
    if "transition" in changes:
        scene["transition"] = _clean_transition(changes["transition"])
    if "layout_before_share" in changes:
        before = changes["layout_before_share"]
        scene[LAYOUT_BEFORE_SHARE] = before if before in engine.LAYOUTS else None
    return scene


LAYOUT_BEFORE_SHARE = "layout_before_share"


def _follow_share(stream: Stream, changes: dict[str, Any]) -> dict[str, Any]:
    """A share starting or stopping moves the layout with it, whoever set it (share.set, scene.set, REST).

    On: the screen-share layout, remembering the one before. Off: that layout comes back. A layout
    given in the same change wins.
    """
    if "screen_share" not in changes or "layout" in changes:
        return changes
    stored = stream.scene or {}
    current = stored.get("layout") or stream.layout
    if changes["screen_share"]:
        remembered = current if current != "screen_share" else stored.get(LAYOUT_BEFORE_SHARE)
        return {"layout": "screen_share", "layout_before_share": remembered, **changes}
    follow: dict[str, Any] = {"layout_before_share": None}
    if current == "screen_share":
        follow["layout"] = stored.get(LAYOUT_BEFORE_SHARE) or "grid"
    return {**follow, **changes}


def _clean_positions(positions: Any) -> dict[str, list[float]]:
    if not isinstance(positions, dict):
        raise ValidationError({"positions": "Give each participant a box [x, y, w, h]."})
    cleaned = {}
    for identity, box in positions.items():
        try:
            x, y, w, h = (float(v) for v in box)
        except (TypeError, ValueError) as exc:
            raise ValidationError({"positions": f"The box of {identity} must be four numbers."}) from exc
        if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1.0001 and y + h <= 1.0001):
            raise ValidationError({"positions": f"The box of {identity} must lie inside the canvas (fractions 0-1)."})
        cleaned[str(identity)] = [x, y, w, h]
    return cleaned


def _clean_transition(transition: Any) -> dict[str, Any]:
    if isinstance(transition, str):
        transition = {"kind": transition}
    if not isinstance(transition, dict) or transition.get("kind") not in TRANSITIONS:
        raise ValidationError({"transition": "A transition is a cut or a fade."})
    duration = int(transition.get("duration_ms", 0 if transition["kind"] == "cut" else 500))
    if not 0 <= duration <= MAX_TRANSITION_MS:
        raise ValidationError({"transition": f"A transition lasts at most {MAX_TRANSITION_MS} ms."})
    return {"kind": transition["kind"], "duration_ms": duration if transition["kind"] == "fade" else 0}


def _set_stage(stream: Stream, by: User | None, on_stage: list[str]) -> list[str]:
    """Put exactly these identities on stage (host included or not), in this order."""
    from .services import guest_bring_on_stage, guest_send_backstage  # they republish the scene through here

    if len(set(on_stage)) != len(on_stage):
        raise ValidationError({"on_stage": "Someone is listed twice."})
    if len(on_stage) > engine.MAX_ON_STAGE + 1:
        raise ValidationError({"on_stage": f"At most {engine.MAX_ON_STAGE} people fit on stage."})
    host = stream.host_identity
    guests = {g.identity: g for g in Guest.objects.filter(stream=stream)}
    unknown = [i for i in on_stage if i != host and i not in guests]
    if unknown:
        raise ValidationError({"on_stage": f"Not in this studio: {', '.join(unknown)}."})
    wanted = set(on_stage)
    # Backstage first, so the on-stage limit counts the new line-up, not the old one.
    for identity, guest in guests.items():
        if guest.on_stage and identity not in wanted:
            guest_send_backstage(guest=guest, by=by)
    for identity in on_stage:
        if identity != host and not guests[identity].on_stage:
            guest_bring_on_stage(guest=guests[identity], by=by)
    return on_stage


@transaction.atomic
def scene_set(*, stream: Stream, by: User | None, on_stage: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    """Change the scene (layout, who is on stage and in which order, overlays, banner, custom positions,
    who is featured, the picture-in-picture corner, transition).

    Returns the new scene state; the compositor applies it on its next frame.
    """
    ensure_owner(stream.owner_id, by)
    unknown = set(changes) - {
        "layout",
        "overlays",
        "banner_text",
        "host_on_stage",
        "host_muted",
        "screen_share",
        "positions",
        "featured",
        "pip_corner",
        "transition",
        "layout_before_share",
    }
    if unknown:
        raise TypeError(f"Unknown scene fields: {', '.join(sorted(unknown))}")
    stream = Stream.objects.select_for_update(of=("self",)).select_related("owner", "brand_kit").get(pk=stream.pk)
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"status": "This show has ended."})
    scene = dict(stream.scene or {})
    if on_stage is not None:
        scene["stage_order"] = _set_stage(stream, by, [str(i) for i in on_stage])
        scene["host_on_stage"] = stream.host_identity in on_stage
    # Anyone in this studio may present a screen, on stage or not (a producer sharing slides from backstage).
    studio_ids = {g.identity for g in Guest.objects.filter(stream=stream).usable()}
    stream.scene = scene
    stream.scene = _clean(stream, _follow_share(stream, changes), studio_ids)
    fields = ["scene", "updated_at"]
    if "layout" in changes:
        stream.layout = stream.scene["layout"]
        fields.append("layout")
    stream.save(update_fields=fields)
    state = scene_state(stream)
    scene_publish(stream_id=stream.pk)
    if on_stage is not None or {"host_on_stage", "host_muted"} & set(changes):
        # The host's own seat changed: their row in every people list follows.
        realtime.publish_on_commit(
            realtime.stream_group(stream.pk), events.PARTICIPANT_UPDATED, participant=host_payload(stream)
        )
    return state


# The same scene published twice within this long is sent once: one action often touches the stage
# several times in one transaction (a new line-up), and each step asks for a publish.
DUPLICATE_WINDOW_SECONDS = 2.0
_last_sent: dict[int, tuple[str, float]] = {}


def scene_publish(*, stream_id: int) -> None:
    """Tell the studios and the compositor about the scene, once the transaction commits.

    Every action that changes what is on air calls this (stage, backstage, mute, remove, revoke,
    playback, screen share, a brand kit edit), so the program follows every change whoever made it.
    The scene is read when the transaction commits, from the rows as committed: what goes out is
    the result of the whole action. The compositor of a live show reads it from Redis (key +
    PUBLISH of its version); the studios get `scene.changed`.
    """
    transaction.on_commit(lambda: _send(stream_id), robust=True)


# Every scene that leaves this module (a publish, a studio's state.full, a compositor's first scene) is read
# inside one ordering section: the stream's row locked (every scene_set holds the same lock while it writes),
# then this process's lock (SQLite, as `make run` uses it, has no row locks). A snapshot's version is stamped
# in that section, so versions order the snapshots as their reads: a publish that read the scene before the
# host's last edit never carries a newer version than the one that read after it. Delivery happens after the
# section, in whatever order threads and processes get there, and every receiver keeps the newest: the
# compositor's copy in Redis is replaced only by a newer version (_SET_IF_NEWER), the compositor and the
# studio pages drop an older scene.
_ordering = threading.Lock()
_last_version = 0

# KEYS[1] the scene key; ARGV: the payload (JSON with its "version"), that version, the expiry in seconds.
# Replaces the key and announces the version only if it is newer than the one the key holds.
_SET_IF_NEWER = """
local held = redis.call('GET', KEYS[1])
if held then
  local ok, scene = pcall(cjson.decode, held)
  if ok and type(scene) == 'table' and tonumber(scene['version']) and tonumber(scene['version']) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('PUBLISH', KEYS[1], ARGV[2])
return 1
"""


@contextlib.contextmanager
def scene_snapshot(stream_id: int) -> Iterator[tuple[Stream | None, int]]:
    """The stream as of now (None if it is gone) and its scene's version; read the scene inside the block."""
    global _last_version
    with transaction.atomic():
        stream = (
            Stream.objects.select_for_update(of=("self",))
            .select_related("owner", "brand_kit")
            .filter(pk=stream_id)
            .first()
        )
        with _ordering:
            # Wall-clock microseconds, so a restarted process still stamps newer scenes as newer; strictly
            # increasing within a process even if the clock steps back.
            _last_version = version = max(time.time_ns() // 1000, _last_version + 1)
            yield stream, version


def _send(stream_id: int) -> None:
    with scene_snapshot(stream_id) as (stream, version):
        if stream is None:
            return
        state = scene_state(stream)
        # The row's creation time too: a recreated database reuses ids, never an identical (id, created_at).
        body = json.dumps([stream.created_at, state], sort_keys=True, default=str)
        now = time.monotonic()
        last = _last_sent.get(stream_id)
        if last is not None and last[0] == body and now - last[1] < DUPLICATE_WINDOW_SECONDS:
            return
        _last_sent[stream_id] = (body, now)
    _deliver(stream_id, state, version)


def _deliver(stream_id: int, state: dict[str, Any], version: int) -> None:
    """To the compositor (Redis key + PUBLISH of the version, if newer) and the studios (`scene.changed`)."""
    payload = {**state, "version": version}
    try:
        client = redis_client.client()
        key = redis_key(stream_id)
        client.eval(_SET_IF_NEWER, 1, key, json.dumps(payload), str(version), str(settings.MAX_SHOW_SECONDS))
    except redis_client.RedisUnavailable:
        log.warning("scene of stream %s not published to the compositor: Redis unavailable", stream_id)
    realtime.publish(
        realtime.stream_group(stream_id),
        events.SCENE_CHANGED,
        scene=payload["scene"],
        scene_graph=payload["canvases"]["landscape"],
        canvases=payload["canvases"],
        assets=payload["assets"],
        scene_version=version,
    )
