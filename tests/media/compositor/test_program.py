"""CanvasProgram without a room: scene switching (cut, fade), one clock for audio and video, the mix."""

from __future__ import annotations

import itertools
import secrets
import time

import numpy as np

from media.broadcast.source import rgb_to_yuv, solid_i420
from media.compositor.program import CompositorSession
from media.compositor.renderer import SourceFrame, planes
from media.scene.layout import Participant, compose

W, H, FPS = 320, 180, 30
RED, BLUE = (220, 30, 30), (40, 60, 220)


def state(layout: str, people: list[str], version: int, transition: dict | None = None) -> dict:
    graph = compose(layout=layout, on_stage=[Participant(id=p) for p in people], canvas=(W, H)).to_dict()
    return {
        "version": version,
        "scene": {"transition": transition or {"kind": "cut"}},
        "canvases": {"landscape": graph},
    }


def offline_session(initial: dict) -> CompositorSession:
    session = CompositorSession(
        url="ws://unused", token="unused", canvases={"landscape": (W, H)}, fps=FPS, state=initial
    )
    session.connected = True  # frames are injected below instead of received
    session.program("landscape")._running = True
    return session


def feed(session: CompositorSession) -> None:
    now = time.monotonic()
    session._frames = {
        "red": SourceFrame(W, H, solid_i420(W, H, RED), now),
        "blue": SourceFrame(W, H, solid_i420(W, H, BLUE), now),
    }


def luma_at(frame: np.ndarray, x: int, y: int) -> int:
    return int(planes(frame, W, H)[0][y, x])


def test_cut_applies_on_the_next_frame_and_audio_follows_the_frame_clock():
    session = offline_session(state("solo", ["red"], 1))
    program = session.program("landscape")
    feed(session)
    first = program.read(0.01)
    assert first is not None and first.pts == 0.0
    assert luma_at(first.video, W // 2, H // 2) == rgb_to_yuv(RED)[0]
    session.set_scene(state("solo", ["blue"], 2))
    second = program.read(0.01)
    assert luma_at(second.video, W // 2, H // 2) == rgb_to_yuv(BLUE)[0], "a cut shows on the very next frame"
    # An older scene never wins over a newer one.
    session.set_scene(state("solo", ["red"], 1))
    assert luma_at(program.read(0.01).video, W // 2, H // 2) == rgb_to_yuv(BLUE)[0]
    # 48000 / 30 = 1600 samples per frame, every frame, stamped by the frame counter.
    frames = [program.read(0.01) for _ in range(30)]
    assert all(f.audio.shape == (1600, 2) for f in frames)
    assert [round(f.pts * FPS) for f in frames] == list(range(3, 33))


def test_fade_blends_over_its_duration():
    session = offline_session(state("solo", ["red"], 1))
    program = session.program("landscape")
    feed(session)
    program.read(0.01)
    session.set_scene(state("solo", ["blue"], 2, {"kind": "fade", "duration_ms": 300}))  # 9 frames at 30 fps
    lumas = [luma_at(program.read(0.01).video, W // 2, H // 2) for _ in range(11)]
    red_y, blue_y = rgb_to_yuv(RED)[0], rgb_to_yuv(BLUE)[0]
    assert lumas[0] != red_y and lumas[0] != blue_y, "the fade starts on the next frame"
    steps = [abs(b - a) for a, b in itertools.pairwise(lumas)]
    assert all(min(red_y, blue_y) - 1 <= v <= max(red_y, blue_y) + 1 for v in lumas)
    assert lumas == sorted(lumas) or lumas == sorted(lumas, reverse=True), "monotonic"
    assert lumas[8] == blue_y and lumas[10] == blue_y, "done after 300 ms"
    assert max(steps) < abs(red_y - blue_y)


def test_the_mix_follows_the_scene_audio_list():
    session = offline_session(state("side_by_side", ["red", "blue"], 1))
    program = session.program("landscape")
    feed(session)
    program.mixer.push("red", np.full((4800, 2), 100, dtype=np.int16))
    program.mixer.push("blue", np.full((4800, 2), 10, dtype=np.int16))
    assert (program.read(0.01).audio == 110).all()
    muted = state("side_by_side", ["red", "blue"], 2)
    muted["canvases"]["landscape"]["audio"] = ["red"]
    session.set_scene(muted)
    assert (program.read(0.01).audio == 100).all()


def test_read_before_connect_or_after_stop_is_none():
    session = offline_session(state("solo", ["red"], 1))
    program = session.program("landscape")
    session.connected = False
    assert program.read(0.01) is None
    session.connected = True
    program.stop()
    assert program.read(0.01) is None
    program.stop()  # idempotent


def test_comment_card_from_redis_shows_in_its_slot_and_goes(settings):
    """apps.engagement writes the card to Redis; the compositor follows it and draws it in the comment slot."""
    from datetime import UTC, datetime

    import redis

    from apps.engagement import realtime
    from media.scene.card import card_content
    from media.scene.layout import Options

    stream_id = 10**9 + secrets.randbelow(10**9)  # a card key nobody else writes, even in parallel runs
    key = realtime.comment_card_key(stream_id)
    graph = compose(
        layout="solo", on_stage=[Participant(id="red")], canvas=(W, H), options=Options(comment_card=True)
    ).to_dict()
    slot = next(layer["rect"] for layer in graph["layers"] if layer["kind"] == "comment")
    session = CompositorSession(
        url="ws://unused",
        token="unused",
        canvases={"landscape": (W, H)},
        fps=FPS,
        state={"version": 1, "scene": {}, "canvases": {"landscape": graph}},
        redis_url=settings.REDIS_URL,
        card_key=key,
    )
    session.connected = True
    program = session.program("landscape")
    program._running = True
    feed(session)
    session.card_follower.start()
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        cx, cy = slot["x"] + slot["w"] - 6, slot["y"] + slot["h"] // 2  # right end of the panel, past the text
        red_y = rgb_to_yuv(RED)[0]
        assert luma_at(program.read(0.01).video, cx, cy) == red_y, "no card yet: the video shows"
        card = card_content(
            comment_id=1,
            platform="youtube",
            author_name="Ada",
            avatar_url="",
            text="Hello from chat",
            shown_at=datetime.now(UTC),
            auto_hide_seconds=0,
            primary_colour="#FFFFFF",
        )
        realtime.write_card(stream_id, card, None)
        deadline = time.monotonic() + 10  # generous: the suite may share the cores
        white = rgb_to_yuv((255, 255, 255))[0]
        while time.monotonic() < deadline:
            if abs(luma_at(program.read(0.01).video, cx, cy) - white) <= 3:
                break
            time.sleep(0.03)
        assert abs(luma_at(program.read(0.01).video, cx, cy) - white) <= 3, "the card (white panel) is drawn"
        realtime.clear_card(stream_id)
        deadline = time.monotonic() + 10  # generous: the suite may share the cores
        while time.monotonic() < deadline and luma_at(program.read(0.01).video, cx, cy) != red_y:
            time.sleep(0.03)
        assert luma_at(program.read(0.01).video, cx, cy) == red_y, "taken off screen"
    finally:
        client.delete(key)
        client.close()
        session.card_follower.stop()
