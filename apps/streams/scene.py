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
    transition      {"kind": "cut" | "fade", "duration_ms": 0..2000}
    playback        a clip or playlist playing into the show (apps/streams/playback.py): adds a "clip" layer

`scene_set` validates and stores them, then (on commit) publishes the new scene
graphs to the studio group (`scene.changed`) and to Redis, where the compositor
of a live show picks them up before its next frame:

    SET  streamus:scene:<stream id>   {"version", "scene", "canvases", "assets"}
    PUBLISH streamus:scene:<stream id> <version>
"""

from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.core.ownership import ensure_owner

from . import layout as engine
from .models import Guest, Stream

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


def host_identity(stream: Stream) -> str:
    return f"host-{stream.owner_id}"


# --- reading: Stream → scene graph ------------------------------------------------------


def _asset(asset: Any) -> engine.Asset:
    aspect = (asset.width / asset.height) if asset.width and asset.height else 1.0
    return engine.Asset(
        source=f"asset:{asset.pk}", x=asset.x, y=asset.y, scale=asset.scale, opacity=asset.opacity, aspect=aspect
    )


def _brand_assets(stream: Stream) -> dict[str, Any]:
    """The first asset of each kind in the stream's brand kit."""
    if stream.brand_kit_id is None:
        return {}
    from apps.branding.models import BrandAsset

    found: dict[str, Any] = {}
    for asset in BrandAsset.objects.filter(kit_id=stream.brand_kit_id):
        found.setdefault(asset.kind, asset)
    return found


def stage_people(stream: Stream) -> list[engine.Participant]:
    """Who is on stage, in the host's order: the host (unless stepped off) and on-stage guests."""
    scene = stream.scene or {}
    people: list[engine.Participant] = []
    if scene.get("host_on_stage", True):
        people.append(
            engine.Participant(
                id=host_identity(stream),
                name=stream.owner.username or stream.owner.get_username(),
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
            f"asset:{a.pk}": {"url": a.file.url, "name": a.file.name, "width": a.width, "height": a.height}
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
        if sharer is not None and sharer not in studio_ids | {host_identity(stream)}:
            raise ValidationError({"screen_share": "Only someone in this studio can share their screen."})
        scene["screen_share"] = sharer
    if "positions" in changes:
        scene["positions"] = _clean_positions(changes["positions"])
    if "transition" in changes:
        scene["transition"] = _clean_transition(changes["transition"])
    return scene


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
    from .services import guest_bring_on_stage, guest_send_backstage

    if len(set(on_stage)) != len(on_stage):
        raise ValidationError({"on_stage": "Someone is listed twice."})
    if len(on_stage) > engine.MAX_ON_STAGE + 1:
        raise ValidationError({"on_stage": f"At most {engine.MAX_ON_STAGE} people fit on stage."})
    host = host_identity(stream)
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
    """Change the scene (layout, who is on stage and in which order, overlays, banner, transition).

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
        "transition",
    }
    if unknown:
        raise TypeError(f"Unknown scene fields: {', '.join(sorted(unknown))}")
    stream = Stream.objects.select_for_update(of=("self",)).select_related("owner", "brand_kit").get(pk=stream.pk)
    if stream.status == Stream.Status.ENDED:
        raise ValidationError({"status": "This show has ended."})
    scene = dict(stream.scene or {})
    if on_stage is not None:
        scene["stage_order"] = _set_stage(stream, by, [str(i) for i in on_stage])
        scene["host_on_stage"] = host_identity(stream) in on_stage
    # Anyone in this studio may present a screen, on stage or not (a producer sharing slides from backstage).
    studio_ids = {g.identity for g in Guest.objects.filter(stream=stream).usable()}
    stream.scene = scene
    stream.scene = _clean(stream, changes, studio_ids)
    fields = ["scene", "updated_at"]
    if "layout" in changes:
        stream.layout = stream.scene["layout"]
        fields.append("layout")
    stream.save(update_fields=fields)
    state = scene_state(stream)
    scene_publish(stream_id=stream.pk, state=state)
    return state


def scene_publish(*, stream_id: int, state: dict[str, Any] | None = None) -> None:
    """Tell the studio and the compositor about the current scene, once the transaction commits.

    Other writers that change who is on stage (stage / backstage / remove) call
    this too, so the program follows every change.
    """
    if state is None:
        stream = Stream.objects.select_related("owner", "brand_kit").get(pk=stream_id)
        state = scene_state(stream)
    # Version: a wall-clock stamp in µs, so a restarted compositor still sees newer scenes as newer.
    payload = {**state, "version": time.time_ns() // 1000}

    def send() -> None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            data = json.dumps(payload)
            client.set(redis_key(stream_id), data, ex=settings.MAX_SHOW_SECONDS)
            client.publish(redis_key(stream_id), str(payload["version"]))
        finally:
            client.close()
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                f"stream-{stream_id}",
                {
                    "type": "scene.changed",
                    "scene": payload["scene"],
                    "scene_graph": payload["canvases"]["landscape"],
                    "canvases": payload["canvases"],
                },
            )

    transaction.on_commit(send)
