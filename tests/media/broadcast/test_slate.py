"""The fallback slate goes out when the program source stops, and the program comes back."""

from __future__ import annotations

import itertools

import av
import numpy as np
import pytest

from media.broadcast.pusher import DestinationSpec
from media.broadcast.slate import SLATE_BACKGROUND
from media.broadcast.source import TestSceneSource
from tests.support.engine import FPS, HEIGHT, WIDTH
from tests.support.rtmp import packet_times, wait_for

pytestmark = pytest.mark.media

PROGRAM_RGB = (0, 160, 80)


def classify(rgb: np.ndarray) -> str:
    pixel = rgb[8:24, 8:24].reshape(-1, 3).mean(axis=0)
    if np.abs(pixel - PROGRAM_RGB).max() < 25:
        return "program"
    if np.abs(pixel - SLATE_BACKGROUND).max() < 25:
        return "slate"
    return f"other{tuple(int(c) for c in pixel)}"


def test_slate_covers_a_program_outage_then_the_program_returns(make_session, rtmp_servers):
    (server,) = rtmp_servers(1)
    source = TestSceneSource(width=WIDTH, height=HEIGHT, fps=FPS, background=PROGRAM_RGB, moving=False)
    session = make_session(source=source, record=False)
    session.start([DestinationSpec(1, server.url, "slate")])
    server.wait_for_publish("slate")
    wait_for(lambda: session.frames_encoded >= 2 * FPS, 10)

    source.pause()  # the compositor went away
    wait_for(lambda: session.on_slate and session.slate_frames >= 2 * FPS, 10, message="no slate")
    source.resume()
    wait_for(lambda: not session.on_slate, 5, message="program did not return")
    back = session.frames_encoded
    wait_for(lambda: session.frames_encoded >= back + 2 * FPS, 10)
    session.stop()

    path = server.recordings("slate")[0]
    labels = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            labels.append(classify(frame.to_ndarray(format="rgb24")))
    runs = [label for i, label in enumerate(labels) if i == 0 or labels[i - 1] != label]
    assert runs == ["program", "slate", "program"], runs[:10]
    assert labels.count("slate") >= 2 * FPS - 5
    # the ingest never saw a gap: the encoder kept its clock through the outage
    times = packet_times(path)
    assert max(b - a for a, b in itertools.pairwise(times)) <= 0.25
