"""A media worker in the test process, and reading an RTMP output's frames as left/right colours.

The browser end-to-end tests (tests/e2e/) start the show from the studio page; this runs what a
media worker would (`run_show`, LiveKit compositor) on a thread and decodes what reached the ingest.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from apps.shows import runner as broadcast
from apps.streams.models import Stream
from tests.support.rtmp import rgb_samples

SAMPLE = (32, 18)  # decoded frames are scaled down to this many pixels: colours only


@pytest.fixture
def media_settings(settings, tmp_path):
    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    settings.BROADCAST_X264_PRESET = "ultrafast"
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    return settings


class MediaWorker(threading.Thread):
    """What a Celery `media` worker does for one show, with the compositor as the program source."""

    def __init__(self, stream_id: int) -> None:
        super().__init__(daemon=True)
        self.stream_id = stream_id
        self.outcome: str | None = None
        self.error: BaseException | None = None
        self.sessions: list = []

    def source(self, stream: Stream, config):
        from apps.shows.compositor import compositor_for_stream

        session = compositor_for_stream(stream.pk)
        self.sessions.append(session)
        return session.program("landscape")

    def run(self) -> None:
        try:
            self.outcome = broadcast.run_show(stream_id=self.stream_id, source_factory=self.source)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            for session in self.sessions:
                session.stop()


def frames(path: Path) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """(left-centre, right-centre) RGB of every decoded frame, four a second."""
    w, h = SAMPLE
    result = []
    for frame in rgb_samples(path, w, h):

        def px(x: int, y: int, frame: bytes = frame) -> tuple[int, int, int]:
            i = (y * w + x) * 3
            return frame[i], frame[i + 1], frame[i + 2]

        result.append((px(w // 4, h // 2), px(3 * w // 4, h // 2)))
    return result


def red(rgb) -> bool:
    return rgb[0] > 160 and rgb[1] < 90 and rgb[2] < 90


def blue(rgb) -> bool:
    return rgb[2] > 160 and rgb[0] < 90 and rgb[1] < 90
