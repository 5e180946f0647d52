"""The whole media path: LiveKit room → compositor → broadcast engine → RTMP server, checked by decoding what arrived."""

from __future__ import annotations

import time

import av
import numpy as np
import pytest

from apps.streams.models import Guest
from tests.compositor.test_live import (
    BLUE,
    FPS,
    GREEN,
    RED,
    TONES,
    H,
    W,
    level_at,
    near,
    region_yuv,
    show,  # noqa: F401 - fixture
    start_session,
    state_for,
    tiles,
)
from tests.support.rtmp import rtmp_servers  # noqa: F401 - fixture
from workers.broadcast.pusher import DestinationSpec
from workers.broadcast.session import BroadcastSession, ShowConfig
from workers.broadcast.source import rgb_to_yuv

pytestmark = [pytest.mark.livekit, pytest.mark.media, pytest.mark.django_db]


def decode(path) -> tuple[list[tuple[float, np.ndarray]], np.ndarray]:
    """(pts seconds, flat I420) per video frame, and the first audio channel as float samples."""
    video, audio = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            video.append((float(frame.time or 0.0), frame.to_ndarray(format="yuv420p").reshape(-1).copy()))
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            audio.append(frame.to_ndarray()[0].astype(np.float64))
    return video, np.concatenate(audio) if audio else np.zeros(0)


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
