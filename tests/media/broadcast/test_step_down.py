"""The encoder steps down when the program stays too slow: faster preset, fewer fps, smaller picture.

The program here is the test scene drawn slowly (100 ms a frame: a compositor on a machine too busy for
30 fps). The session's own governor (media/broadcast/pacing.py) walks the ladder; what reaches a real
nginx-rtmp and the recording is decoded: the destination stays on one connection and decodes across
every change of codec settings, the audio never gaps, and each new codec configuration is a new
recording part that decodes on its own.
"""

from __future__ import annotations

import itertools
import time

import av
import pytest

from media.broadcast.pusher import DestinationSpec
from media.broadcast.source import ProgramFrame, TestSceneSource
from tests.support.rtmp import flv_tags, wait_for

pytestmark = pytest.mark.media

W, H, FPS = 854, 480, 30
DRAW_SECONDS = 0.1


class SlowScene(TestSceneSource):
    __test__ = False

    def read(self, timeout: float) -> ProgramFrame | None:
        time.sleep(DRAW_SECONDS)
        return super().read(timeout)


def test_a_program_that_stays_too_slow_walks_the_ladder(make_session, rtmp_servers, tmp_path):
    (server,) = rtmp_servers(1)
    source = SlowScene(width=W, height=H, fps=FPS, title="slow")
    session = make_session(source=source, width=W, height=H, preset="superfast", step_down_seconds=1.0)
    levels = [(s.preset, s.fps, s.width, s.height) for s in session.governor.steps]
    assert levels == [
        ("superfast", 30, 854, 480),
        ("ultrafast", 30, 854, 480),
        ("ultrafast", 15, 854, 480),
        ("ultrafast", 15, 640, 360),
    ]
    session.start([DestinationSpec(1, server.url, "ladder")])
    seen = []

    def reached_the_bottom() -> bool:
        step = session.program_snapshot()["step"]
        if not seen or seen[-1]["level"] != step["level"]:
            seen.append(step)
        return step["level"] == 3

    wait_for(reached_the_bottom, 60, interval=0.2, message="the ladder stopped before its last step")
    bottom = session.program_snapshot()["media_seconds"]
    wait_for(lambda: session.program_snapshot()["media_seconds"] >= bottom + 2, 20)
    session.stop()

    assert [s["level"] for s in seen] == [0, 1, 2, 3]
    assert seen[1]["reason"].startswith("This server could not keep up with 480p30 (superfast)")
    assert seen[3]["reason"].endswith("now goes out at 360p15 (ultrafast).")

    # One connection all along; it decodes across every change, at both sizes; its audio never gaps.
    (flv,) = server.recordings("ladder")
    with av.open(str(flv)) as container:
        sizes = [(f.width, f.height) for f in container.decode(video=0)]
    assert sizes[0] == (854, 480) and sizes[-1] == (640, 360)
    assert [k for k, _g in itertools.groupby(sizes)] == [(854, 480), (640, 360)]
    audio = [ts for kind, ts, _key in flv_tags(flv) if kind == 8]
    assert max(b - a for a, b in itertools.pairwise(audio)) <= 1024 / 48 + 2

    # A new part of the recording for each new codec configuration (the frame-rate step needs none).
    assert len(session.recordings) == 3
    for path, size in zip(session.recordings, [(854, 480), (854, 480), (640, 360)], strict=True):
        with av.open(str(path)) as container:
            frames = [(f.width, f.height) for f in container.decode(video=0)]
        assert frames and set(frames) == {size}, (path.name, set(frames))
