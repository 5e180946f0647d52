"""The program's health sample (SHOW-HEALTH-CONTRACT.md): what the session measures. What the studio is told
(the falling-behind verdict) is tests/observability/test_health.py."""

from __future__ import annotations

import threading

import pytest

from media.broadcast.pacing import ladder
from media.broadcast.pusher import DestinationSpec
from tests.support.engine import FPS
from tests.support.rtmp import wait_for

pytestmark = pytest.mark.media

SNAPSHOT_KEYS = {
    "media_seconds",
    "wall_seconds",
    "real_time_factor",
    "fps",
    "frames_encoded",
    "frames_late",
    "frames_dropped",
    "frames_duplicated",
    "render_ms",
    "encode_ms",
    "step",
}


def test_health_callback_gets_the_program_sample_then_each_destination(make_session, rtmp_servers):
    (server,) = rtmp_servers(1)
    batches: list[list[dict]] = []
    got = threading.Event()

    def on_health(samples):
        batches.append(samples)
        if samples[0]["frames_encoded"] >= 3 * FPS:
            got.set()

    session = make_session(record=False, on_health=on_health)
    session.start([DestinationSpec(7, server.url, "health")])
    assert got.wait(20), "no program sample with 3 s of frames"
    program, *destinations = batches[-1]

    assert program["kind"] == "program" and program["canvas"] == "landscape"
    assert program.keys() >= SNAPSHOT_KEYS
    assert set(program["step"]) == {"preset", "fps", "width", "height", "level", "reason"}
    assert program["step"]["level"] == 0 and program["step"]["fps"] == FPS
    assert set(program["render_ms"]) == set(program["encode_ms"]) == {"p50", "p95"}
    assert program["encode_ms"]["p95"] >= program["encode_ms"]["p50"] > 0
    # The snapshot is cheap and callable from any thread, at any time.
    direct = session.program_snapshot()
    assert direct["frames_encoded"] >= program["frames_encoded"]
    assert direct["wall_seconds"] > 3 and direct["media_seconds"] > 2
    assert 0.5 < direct["real_time_factor"] < 1.2
    assert [d["kind"] for d in destinations] == ["destination"]
    assert destinations[0]["destination_id"] == 7
    wait_for(lambda: batches[-1][1]["program_kbps"] > 0, 5)
    assert all("key" not in d and "url" not in d for d in batches[-1][1:])


def test_ladder_steps_preset_then_fps_then_picture():
    steps = ladder(preset="veryfast", fps=30, width=1920, height=1080)
    labels = [(s.preset, s.fps, s.width, s.height) for s in steps]
    assert labels[:3] == [
        ("veryfast", 30, 1920, 1080),
        ("superfast", 30, 1920, 1080),
        ("ultrafast", 30, 1920, 1080),
    ]
    assert labels[3] == ("ultrafast", 15, 1920, 1080)
    assert labels[4:] == [
        ("ultrafast", 15, 1280, 720),
        ("ultrafast", 15, 960, 540),
        ("ultrafast", 15, 640, 360),
    ]
    assert [s.level for s in steps] == list(range(len(steps)))
    vertical = ladder(preset="ultrafast", fps=60, width=720, height=1280)
    assert [(s.fps, s.width, s.height) for s in vertical] == [
        (60, 720, 1280),
        (30, 720, 1280),
        (15, 720, 1280),
        (15, 540, 960),
        (15, 360, 640),
    ]
