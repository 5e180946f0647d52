"""The compositor in a real LiveKit room: synthetic participants publishing colours and tones.

The program frames are read the way the broadcast engine reads them
(ProgramSource.read once per frame slot) and checked by region and spectrum.
"""

from __future__ import annotations

import time

import pytest

from apps.rtc import services as rtc
from apps.streams.models import Guest
from apps.studio import scene
from apps.studio import services as studio_services
from media.broadcast.source import rgb_to_yuv
from media.compositor.program import CompositorSession
from media.compositor.renderer import CARD_RGB, planes
from tests.factories import GuestFactory, StreamFactory
from tests.support.compositor import (
    BLUE,
    FPS,
    GREEN,
    RED,
    TONES,
    H,
    Reader,
    W,
    level_at,
    near,
    region_yuv,
    start_session,
    state_for,
    tiles,
)

pytestmark = [pytest.mark.livekit, pytest.mark.django_db]


def test_compositor_renders_the_stage_and_mixes_its_audio(show, livekit, user, django_capture_on_commit_callbacks):
    stream, people = show
    red, green, blue = (people[n][0] for n in ("red", "green", "blue"))
    Guest.objects.filter(pk__in=[red.pk, green.pk]).update(on_stage=True)
    stream.scene = {"host_on_stage": False, "layout": "side_by_side"}
    stream.save()
    state = state_for(stream)
    session = start_session(livekit, stream, state)
    program, vertical = session.program("landscape"), session.program("vertical")
    try:
        program.start()
        vertical.start()
        reader = Reader(program)
        graph = state["canvases"]["landscape"]
        boxes = tiles(graph)
        assert list(boxes) == [red.identity, green.identity]

        def stage_right(frame) -> bool:
            return near(region_yuv(frame, boxes[red.identity]), rgb_to_yuv(RED)) and near(
                region_yuv(frame, boxes[green.identity]), rgb_to_yuv(GREEN)
            )

        reader.until(stage_right, what="red left, green right")
        # Backstage blue: not subscribed at all (no decode), not in the picture.
        assert session.subscribed >= {f"{red.identity}:video", f"{green.identity}:video"}
        assert not any(s.startswith(blue.identity + ":") for s in session.subscribed)

        # The audio: the on-stage tones, and nothing of the backstage one.
        audio = reader.take_audio(2.0)
        assert level_at(audio, TONES["red"]) > 20 * level_at(audio, TONES["blue"]) + 1
        assert level_at(audio, TONES["green"]) > 20 * level_at(audio, TONES["blue"]) + 1

        # The vertical canvas holds the same two people, stacked.
        vgraph = state["canvases"]["vertical"]
        vboxes = tiles(vgraph)
        vframe = vertical.read(0.1).video
        assert near(region_yuv(vframe, vboxes[red.identity], H, W), rgb_to_yuv(RED))
        assert near(region_yuv(vframe, vboxes[green.identity], H, W), rgb_to_yuv(GREEN))
        assert vboxes[red.identity]["y"] + vboxes[red.identity]["h"] <= vboxes[green.identity]["y"]

        # Mute green through the scene (what the studio does): the mix drops it.
        Guest.objects.filter(pk=green.pk).update(audio_enabled=False)
        session.set_scene(state_for(stream))
        audio = reader.take_audio(1.5)
        assert level_at(audio, TONES["green"]) * 20 < level_at(audio, TONES["red"])

        # Layout switch through the API path (scene_set → Redis → compositor): to a 3-up grid, within 10 frames.
        with django_capture_on_commit_callbacks(execute=True):
            scene.scene_set(
                stream=stream, by=user, layout="grid", on_stage=[red.identity, green.identity, blue.identity]
            )
        # The stored state is for the stream's own size; our canvases are smaller, so re-publish at ours.
        new_state = state_for(stream)
        boxes = tiles(new_state["canvases"]["landscape"])
        session.set_scene(new_state)
        frames = reader.until(
            lambda f: near(region_yuv(f, boxes[blue.identity]), rgb_to_yuv(BLUE))
            and near(region_yuv(f, boxes[red.identity]), rgb_to_yuv(RED)),
            what="blue joins the grid",
        )
        assert frames <= 10 + 2 * FPS, f"layout switch took {frames} frames"  # includes blue's first decode

        # Blue's camera stops: a name card within a second.
        people["blue"][1].stop_video()
        card = rgb_to_yuv(CARD_RGB)
        start = time.monotonic()
        reader.until(
            lambda f: near(_corner(f, boxes[blue.identity]), card, 6),
            timeout=3,
            what="name card",
        )
        assert time.monotonic() - start <= 1.0 + 2 / FPS
    finally:
        session.stop()


def _corner(frame, rect):
    y, u, v = planes(frame, W, H)
    x0, y0 = rect["x"] + 4, rect["y"] + 4
    return int(y[y0, x0]), int(u[y0 // 2, x0 // 2]), int(v[y0 // 2, x0 // 2])


def test_scene_from_redis_switches_layout_within_ten_frames(show, livekit, user, django_capture_on_commit_callbacks):
    stream, people = show
    red, green = people["red"][0], people["green"][0]
    Guest.objects.filter(pk__in=[red.pk, green.pk]).update(on_stage=True)
    stream.scene = {"host_on_stage": False, "layout": "side_by_side"}
    stream.save()
    session = start_session(livekit, stream, state_for(stream, ("landscape",)))
    session.programs.pop("vertical")
    program = session.program("landscape")
    try:
        program.start()
        reader = Reader(program)
        boxes = tiles(program.graph)
        reader.until(lambda f: near(region_yuv(f, boxes[green.identity]), rgb_to_yuv(GREEN)), what="green on stage")

        # What the studio does: publish a scene state on the Redis key; here solo red, at our canvas size.
        import json

        import redis
        from django.conf import settings

        stream.scene = {"host_on_stage": False, "layout": "solo"}
        stream.save()
        Guest.objects.filter(pk=green.pk).update(on_stage=False)
        new_state = state_for(stream, ("landscape",))
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.set(scene.redis_key(stream.pk), json.dumps(new_state))
        client.publish(scene.redis_key(stream.pk), "1")
        client.close()
        frames = reader.until(
            lambda f: near(region_yuv(f, {"x": W - 100, "y": 0, "w": 100, "h": 100}), rgb_to_yuv(RED)),
            what="solo red",
        )
        assert frames <= 10, f"the switch took {frames} frames"
        # Green went backstage: its subscription is dropped.
        deadline = time.monotonic() + 5
        while any(s.startswith(green.identity + ":") for s in session.subscribed) and time.monotonic() < deadline:
            reader.read()
        assert not any(s.startswith(green.identity + ":") for s in session.subscribed)
    finally:
        session.stop()


def test_removing_a_guest_reflows_the_grid(show, livekit, user, django_capture_on_commit_callbacks):
    """The whole control path at the stream's own size: remove a guest → revoke + kick → Redis → compositor."""
    from apps.shows.compositor import compositor_for_stream

    stream, people = show
    red, green, blue = (people[n][0] for n in ("red", "green", "blue"))
    Guest.objects.filter(pk__in=[red.pk, green.pk, blue.pk]).update(on_stage=True)
    stream.scene = {"host_on_stage": False, "layout": "grid"}
    stream.vertical_canvas = False
    stream.save()
    session = compositor_for_stream(stream.pk)
    program = session.program("landscape")
    width, height = program.width, program.height
    assert (width, height) == stream.size
    try:
        program.start()
        reader = Reader(program)
        three = tiles(program.graph)
        assert len(three) == 3

        def shows(boxes, colours, frame) -> bool:
            return all(near(region_yuv(frame, boxes[g.identity], width, height), rgb_to_yuv(c)) for g, c in colours)

        reader.until(lambda f: shows(three, [(red, RED), (green, GREEN), (blue, BLUE)], f), what="three tiles")
        with django_capture_on_commit_callbacks(execute=True):
            studio_services.guest_remove(guest=blue, by=user)
        stream.refresh_from_db()
        two = tiles(scene.scene_state(stream)["canvases"]["landscape"])
        assert set(two) == {red.identity, green.identity}
        frames = reader.until(lambda f: shows(two, [(red, RED), (green, GREEN)], f), what="grid of two")
        assert frames <= 10 + FPS // 2, f"reflow took {frames} frames"  # Redis hop included
        assert people["blue"][1].disconnected.wait(10), "the removed guest is still connected"
        deadline = time.monotonic() + 5
        while any(s.startswith(blue.identity + ":") for s in session.subscribed) and time.monotonic() < deadline:
            reader.read()
        assert not any(s.startswith(blue.identity + ":") for s in session.subscribed)
    finally:
        session.stop()


def test_each_source_arrives_at_the_simulcast_layer_its_tile_needs(livekit, user, synthetic_participants):
    """720p cameras with simulcast (320x180, 640x360, 1280x720): the top layer for the full-canvas tile, the
    lowest for the PiP window."""
    stream = StreamFactory(owner=user, resolution="480p")
    rtc.rtc_open_room(stream=stream, by=user)
    big, small = GuestFactory(stream=stream, display_name="Big"), GuestFactory(stream=stream, display_name="Small")
    for guest, colour in ((big, RED), (small, GREEN)):
        token = rtc._token(
            identity=guest.identity,
            name=guest.display_name,
            grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(stream), can_publish=True),
        )
        participant = synthetic_participants(livekit.url, token, width=1280, height=720)
        participant.connect().publish(colour=colour)
    graph = scene.engine.compose(
        layout="pip",
        on_stage=[scene.engine.Participant(id=big.identity), scene.engine.Participant(id=small.identity)],
        canvas=(1280, 720),
    ).to_dict()
    sizes = {k: (r["w"], r["h"]) for k, r in tiles(graph).items()}
    assert sizes[small.identity][0] <= 330 and sizes[big.identity] == (1280, 720), sizes
    session = CompositorSession(
        url=livekit.url,
        token=rtc.rtc_compositor_token(stream=stream),
        canvases={"landscape": (1280, 720)},
        fps=FPS,
        state={"version": 1, "scene": {}, "canvases": {"landscape": graph}},
    )
    try:
        session.start()

        def widths() -> dict[str, int]:
            return {k: f.width for k, f in session.latest_frames().items()}

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            got = widths()
            if got.get(big.identity) == 1280 and got.get(small.identity) == 320:
                break
            time.sleep(0.2)
        got = widths()
        assert got.get(big.identity) == 1280, f"the full-canvas tile gets the top layer: {got}"
        assert got.get(small.identity) == 320, f"the PiP window gets the lowest layer: {got}"
    finally:
        session.stop()


def test_solo_custom_and_screen_share_layouts(show, livekit, user):
    """The remaining layouts, with a real screen-share track (its own publication, source SCREENSHARE)."""
    stream, people = show
    red, green, blue = (people[n][0] for n in ("red", "green", "blue"))
    yellow = (230, 220, 40)
    people["blue"][1].publish(screen_colour=yellow)
    Guest.objects.filter(pk__in=[red.pk, green.pk]).update(on_stage=True)
    stream.scene = {"host_on_stage": False, "layout": "solo"}
    stream.vertical_canvas = False
    stream.save()
    Guest.objects.filter(pk=green.pk).update(on_stage=False)
    session = start_session(livekit, stream, state_for(stream, ("landscape",)))
    session.programs.pop("vertical")
    program = session.program("landscape")
    try:
        program.start()
        reader = Reader(program)
        # Solo: red fills the canvas.
        reader.until(
            lambda f: all(
                near(region_yuv(f, {"x": x, "y": y, "w": 20, "h": 20}), rgb_to_yuv(RED))
                for x, y in ((10, 10), (W - 30, 10), (10, H - 60), (W - 30, H - 60))
            ),
            what="solo red",
        )
        # Custom: green top-left quarter, red bottom-right quarter.
        Guest.objects.filter(pk=green.pk).update(on_stage=True)
        stream.scene = {
            "host_on_stage": False,
            "layout": "custom",
            "positions": {green.identity: [0, 0, 0.5, 0.5], red.identity: [0.5, 0.5, 0.5, 0.5]},
        }
        stream.save()
        session.set_scene(state_for(stream, ("landscape",)))
        quarter = {"w": W // 2, "h": H // 2}
        reader.until(
            lambda f: near(region_yuv(f, {"x": 0, "y": 0, **quarter}), rgb_to_yuv(GREEN))
            and near(region_yuv(f, {"x": W // 2, "y": H // 2, **quarter}), rgb_to_yuv(RED)),
            what="custom positions",
        )
        # Screen share: blue presents from backstage; its screen (yellow) big, red and green in the sidebar.
        stream.scene = {"host_on_stage": False, "layout": "screen_share", "screen_share": blue.identity}
        stream.save()
        state = state_for(stream, ("landscape",))
        graph = state["canvases"]["landscape"]
        session.set_scene(state)
        boxes = tiles(graph)
        share = boxes[f"{blue.identity}:screen"]
        reader.until(
            lambda f: near(region_yuv(f, share), rgb_to_yuv(yellow))
            and near(region_yuv(f, boxes[red.identity]), rgb_to_yuv(RED))
            and near(region_yuv(f, boxes[green.identity]), rgb_to_yuv(GREEN)),
            what="screen share with sidebar",
        )
        assert f"{blue.identity}:screen:video" in session.subscribed
        assert f"{blue.identity}:video" not in session.subscribed, "blue's camera is not on stage"
        assert f"{blue.identity}:audio" not in session.subscribed, "nor its microphone"
    finally:
        session.stop()
