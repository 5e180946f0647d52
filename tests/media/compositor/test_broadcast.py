"""The whole media path: LiveKit room → compositor → broadcast engine → RTMP server, checked by decoding what arrived."""

from __future__ import annotations

import time

import pytest

from apps.streams.models import Guest
from media.broadcast.pusher import DestinationSpec
from media.broadcast.session import BroadcastSession, ShowConfig
from media.broadcast.source import rgb_to_yuv
from tests.support.compositor import (
    BLUE,
    FPS,
    GREEN,
    RED,
    TONES,
    H,
    W,
    decode,
    level_at,
    near,
    region_yuv,
    start_session,
    state_for,
    tiles,
)
from tests.support.rtmp import rtmp_servers  # noqa: F401 - fixture

pytestmark = [pytest.mark.livekit, pytest.mark.media, pytest.mark.django_db]


def test_layouts_reach_the_rtmp_server(show, livekit, user, rtmp_servers):  # noqa: F811
    """PiP → side by side (a pure layout switch) → 3-up grid (blue comes on stage), pushed live and decoded."""
    stream, people = show
    red, green, blue = (people[n][0] for n in ("red", "green", "blue"))
    colours = {red.identity: RED, green.identity: GREEN, blue.identity: BLUE}
    Guest.objects.filter(pk__in=[red.pk, green.pk]).update(on_stage=True)
    stream.scene = {"host_on_stage": False, "layout": "pip"}
    stream.save()
    pip_state = state_for(stream, ("landscape",))
    session = start_session(livekit, stream, pip_state)
    session.programs.pop("vertical")
    program = session.program("landscape")
    (server,) = rtmp_servers(1)
    config = ShowConfig(
        width=W, height=H, fps=FPS, video_kbps=600, audio_kbps=96, preset="ultrafast", encoder_threads=1
    )
    broadcast = BroadcastSession(config, program)
    broadcast.start([DestinationSpec(id=1, url=server.url, key="show")])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            frames = session.latest_frames()
            if red.identity in frames and green.identity in frames:
                break
            time.sleep(0.1)
        time.sleep(2.0)
        stream.scene = {"host_on_stage": False, "layout": "side_by_side"}
        stream.save()
        side_state = state_for(stream, ("landscape",))
        side_switch = program._frame_index  # the first program frame the new scene can appear in
        session.set_scene(side_state)
        time.sleep(2.0)
        Guest.objects.filter(pk=blue.pk).update(on_stage=True)
        stream.scene = {"host_on_stage": False, "layout": "grid"}
        stream.save()
        grid_state = state_for(stream, ("landscape",))
        grid_switch = program._frame_index
        session.set_scene(grid_state)
        time.sleep(2.5)
    finally:
        broadcast.stop()
        session.stop()

    path = server.wait_for_publish("show")
    video, audio = decode(path)
    assert len(video) > 5 * FPS, f"only {len(video)} frames arrived"

    def shows(state, frame) -> bool:
        layout_tiles = tiles(state["canvases"]["landscape"])
        return all(near(region_yuv(frame, rect), rgb_to_yuv(colours[s])) for s, rect in layout_tiles.items())

    def colour_at(frame, x, y, colour) -> bool:
        return near(region_yuv(frame, {"x": x - 20, "y": y - 20, "w": 40, "h": 40}), rgb_to_yuv(colour))

    # Points that tell the three layouts apart (640x360):
    #   pip: red everywhere but the window (green, bottom right)      → (560, 80) red
    #   side by side: red | green halves, full height                  → (80, 300) red, (560, 80) green
    #   grid of 3: red, green on top, blue centred below               → (80, 300) background
    pip_frames = [i for i, (_t, f) in enumerate(video) if shows(pip_state, f) and colour_at(f, 560, 80, RED)]
    side_frames = [
        i
        for i, (_t, f) in enumerate(video)
        if shows(side_state, f) and colour_at(f, 80, 300, RED) and colour_at(f, 560, 80, GREEN)
    ]
    grid_frames = [i for i, (_t, f) in enumerate(video) if shows(grid_state, f) and not colour_at(f, 80, 300, RED)]
    assert len(pip_frames) >= FPS, "picture-in-picture not in the output"
    assert len(side_frames) >= FPS, "side by side (red | green) not in the output"
    assert len(grid_frames) >= FPS, "the 3-up grid (with blue) not in the output"
    assert max(pip_frames) < min(side_frames) and max(side_frames) < min(grid_frames), "layouts out of order"

    # Output frame i went out as engine slot pts*fps; program frame n is slot n (the source never skipped).
    def slot(i: int) -> int:
        return round(video[i][0] * FPS)

    assert slot(min(side_frames)) - side_switch <= 10, (slot(min(side_frames)), side_switch)
    # Blue's first picture needs a subscription and a keyframe: allow that, but not a stall.
    assert slot(min(grid_frames)) - grid_switch <= 10 + FPS, (slot(min(grid_frames)), grid_switch)
    assert min(side_frames) - max(pip_frames) == 1, "a clean cut: no other frame between the layouts"

    # Audio: both on-stage tones; nothing of blue while backstage, blue once on stage.
    early = audio[: (48000 * 2)]
    assert len(early) > 48000
    assert level_at(early, TONES["red"]) > 10 * level_at(early, TONES["blue"])
    assert level_at(early, TONES["green"]) > 10 * level_at(early, TONES["blue"])
    late = audio[-int(48000 * 1.5) :]
    assert level_at(late, TONES["blue"]) > 0.2 * level_at(late, TONES["red"]), "blue is heard once on stage"


def _png(colour: tuple[int, int, int, int], size=(200, 100)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def test_overlays_vertical_mute_and_name_card_reach_rtmp(show, livekit, user, rtmp_servers):  # noqa: F811
    """Both canvases pushed live; logo and banner where the graph puts them; mute is silence; a stopped camera
    turns into a name card within a second."""
    from django.core.files.base import ContentFile

    from apps.branding.models import BrandAsset
    from apps.shows.compositor import AssetLoader
    from media.compositor.renderer import CARD_RGB
    from tests.factories import BrandKitFactory

    stream, people = show
    red, green = people["red"][0], people["green"][0]
    kit = BrandKitFactory(owner=user, primary_colour="#FFFF00", accent_colour="#000000")
    logo = BrandAsset(kit=kit, kind="logo", uid="logo1", width=200, height=100, x=0.8, y=0.04, scale=0.15)
    logo.file.save("logo.png", ContentFile(_png((255, 255, 255, 255))), save=True)
    stream.brand_kit = kit
    Guest.objects.filter(pk__in=[red.pk, green.pk]).update(on_stage=True)
    stream.scene = {
        "host_on_stage": False,
        "layout": "grid",
        "overlays": {"logo": True, "banner": True},
        "banner_text": "LIVE",
    }
    stream.save()
    state = state_for(stream)
    session = start_session(livekit, stream, state)
    session._load_asset = loader = AssetLoader(state["assets"])
    for program in session.programs.values():
        program.renderer.load_asset = loader
    wide, tall = session.program("landscape"), session.program("vertical")
    (server,) = rtmp_servers(1)
    config = {"fps": FPS, "video_kbps": 600, "audio_kbps": 96, "preset": "ultrafast", "encoder_threads": 1}
    wide_show = BroadcastSession(ShowConfig(width=W, height=H, **config), wide)
    tall_show = BroadcastSession(ShowConfig(width=H, height=W, **config), tall)
    wide_show.start([DestinationSpec(id=1, url=server.url, key="wide")])
    tall_show.start([DestinationSpec(id=2, url=server.url, key="tall")])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not {red.identity, green.identity} <= set(session.latest_frames()):
            time.sleep(0.1)
        time.sleep(2.0)
        Guest.objects.filter(pk=green.pk).update(audio_enabled=False)
        muted_at = wide._frame_index
        session.set_scene(state_for(stream))
        time.sleep(2.0)
        stopped_at = wide._frame_index
        people["green"][1].stop_video()
        time.sleep(2.0)
    finally:
        wide_show.stop()
        tall_show.stop()
        session.stop()

    wide_video, wide_audio = decode(server.wait_for_publish("wide"))
    tall_video, _ = decode(server.wait_for_publish("tall"))
    graph = state["canvases"]["landscape"]
    layers = {layer["kind"]: layer["rect"] for layer in graph["layers"] if layer["kind"] in ("logo", "banner")}
    boxes = tiles(graph)

    def slot(video, i: int) -> int:
        return round(video[i][0] * FPS)

    live = [
        i
        for i, (_t, f) in enumerate(wide_video)
        if near(region_yuv(f, boxes[red.identity]), rgb_to_yuv(RED))
        and near(region_yuv(f, boxes[green.identity]), rgb_to_yuv(GREEN))
    ]
    assert len(live) >= 2 * FPS, "red and green tiles not in the landscape output"
    frame = wide_video[live[len(live) // 2]][1]
    logo_rect = layers["logo"]
    assert near(region_yuv(frame, {**logo_rect, "y": logo_rect["y"] + logo_rect["h"] // 4}), (235, 128, 128), 16)
    banner = layers["banner"]
    # Yellow banner (235/255 opaque) on the right end, past the text.
    bx = {"x": banner["x"] + banner["w"] - 60, "y": banner["y"] + banner["h"] // 2 - 6, "w": 40, "h": 12}
    y, u, v = region_yuv(frame, {**bx, "y": bx["y"] - bx["h"] // 3})
    yellow = rgb_to_yuv((255, 255, 0))
    assert abs(y - yellow[0]) <= 24 and abs(u - yellow[1]) <= 16 and abs(v - yellow[2]) <= 16, (y, u, v)

    # The vertical program: the same two people, stacked.
    vboxes = tiles(state["canvases"]["vertical"])
    assert vboxes[red.identity]["y"] + vboxes[red.identity]["h"] <= vboxes[green.identity]["y"]
    tall_live = [
        i
        for i, (_t, f) in enumerate(tall_video)
        if near(region_yuv(f, vboxes[red.identity], H, W), rgb_to_yuv(RED))
        and near(region_yuv(f, vboxes[green.identity], H, W), rgb_to_yuv(GREEN))
    ]
    assert len(tall_live) >= 2 * FPS, "red over green not in the vertical output"

    # Audio: green is heard before the mute and not after it; red all along.
    rate = 48000
    base = round(wide_video[0][0] * rate)
    before = wide_audio[max(0, muted_at * rate // FPS - base - rate) : muted_at * rate // FPS - base]
    after = wide_audio[(muted_at + FPS // 2) * rate // FPS - base : (stopped_at * rate // FPS) - base]
    assert len(before) > rate // 2 and len(after) > rate // 2
    assert level_at(before, TONES["green"]) > 0.2 * level_at(before, TONES["red"])
    assert level_at(after, TONES["green"]) < 0.02 * level_at(after, TONES["red"]), "muted green still heard"

    # Green's camera stopped at `stopped_at`: its tile shows the name card within a second.
    card = rgb_to_yuv(CARD_RGB)
    corner = {"x": boxes[green.identity]["x"] + 2, "y": boxes[green.identity]["y"] + 2, "w": 12, "h": 12}
    carded = [
        i
        for i, (_t, f) in enumerate(wide_video)
        if slot(wide_video, i) >= stopped_at and near(region_yuv(f, corner), card, 8)
    ]
    assert carded, "no name card after the camera stopped"
    assert slot(wide_video, carded[0]) - stopped_at <= FPS, (
        f"name card after {slot(wide_video, carded[0]) - stopped_at} frames"
    )
    assert all(near(region_yuv(wide_video[i][1], boxes[red.identity]), rgb_to_yuv(RED)) for i in carded)
