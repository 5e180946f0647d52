"""A real show: run_show (the media worker's loop) with the compositor as its program, both canvases.

The show starts before anyone is in the room (the compositor opens it and subscribes as people
arrive); the landscape destination and the vertical destination each receive their own canvas.
"""

from __future__ import annotations

import threading

import pytest

from apps.destinations.models import Canvas
from apps.rtc import services as rtc
from apps.shows import runner as broadcast
from apps.shows import services as shows
from apps.shows.compositor import CompositorSourceFactory
from apps.streams.models import Stream
from media.broadcast.source import rgb_to_yuv
from tests.factories import DestinationFactory, GuestFactory, StreamFactory
from tests.support.compositor import GREEN, RED, near, region_yuv, tiles
from tests.support.rtmp import (
    judged_frames,
    rtmp_servers,  # noqa: F401 - fixture
    wait_for,
)

pytestmark = [pytest.mark.livekit, pytest.mark.media, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _show_settings(settings, tmp_path):
    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    settings.BROADCAST_X264_PRESET = "ultrafast"
    settings.ALLOW_PRIVATE_DESTINATIONS = True


class ShowThread(threading.Thread):
    def __init__(self, stream_id: int) -> None:
        super().__init__(daemon=True)
        self.stream_id = stream_id
        self.factory = CompositorSourceFactory()
        self.outcome: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.outcome = broadcast.run_show(stream_id=self.stream_id, source_factory=self.factory)
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_run_show_with_the_compositor_feeds_each_canvas_to_its_destinations(
    livekit,
    user,
    rtmp_servers,  # noqa: F811 - the fixture imported above
    synthetic_participants,
):
    (server,) = rtmp_servers(1)
    stream = StreamFactory(
        owner=user,
        resolution="480p",
        fps=24,
        video_bitrate_kbps=400,
        audio_bitrate_kbps=64,
        vertical_canvas=True,
        recording_enabled=False,
        scene={"host_on_stage": False, "layout": "side_by_side"},
    )
    stream.transition(Stream.Status.LIVE)
    stream.save()
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key="wide")
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key="tall", canvas=Canvas.VERTICAL)
    red, green = (GuestFactory(stream=stream, display_name=n, on_stage=True) for n in ("Red", "Green"))

    show = ShowThread(stream.pk)
    show.start()

    def good_frames(key: str, graph: dict, *, complete: bool = False) -> int:
        """Frames of what the ingest received for `key` so far with red and green each in their own tile."""
        boxes = tiles(graph)
        size = (graph["width"], graph["height"])

        def both(frame) -> bool:  # type: ignore[no-untyped-def]
            f = frame.to_ndarray(format="yuv420p").reshape(-1)
            return near(region_yuv(f, boxes[red.identity], *size), rgb_to_yuv(RED)) and near(
                region_yuv(f, boxes[green.identity], *size), rgb_to_yuv(GREEN)
            )

        judged = judged_frames(server.wait_for_publish(key), both, f"{key}-both", complete=complete)
        return sum(1 for _t, good in judged if good)

    try:

        def room_open() -> bool:
            assert show.is_alive(), show.error
            return rtc.rtc_room_exists(stream=stream)

        wait_for(room_open, 30, interval=0.2, message="the compositor opens the room")
        for guest, colour in ((red, RED), (green, GREEN)):
            token = rtc._token(
                identity=guest.identity,
                name=guest.display_name,
                grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(stream), can_publish=True),
            )
            synthetic_participants(livekit.url, token).connect().publish(colour=colour, tone_hz=440.0)
        session = show.factory.session
        assert session is not None and set(session.programs) == {"landscape", "vertical"}
        wide = session.programs["landscape"].graph
        tall = session.programs["vertical"].graph
        # Two seconds of both guests in their tiles on each canvas, however long a loaded machine takes to get there.
        wait_for(
            lambda: good_frames("wide", wide) >= 2 * 24 and good_frames("tall", tall) >= 2 * 24,
            40,
            interval=1.0,
            message="two seconds of red and green in their tiles never reached both ingests",
        )
    finally:
        shows.show_end(stream=stream, by=None)
        show.join(20)
    assert show.error is None, show.error
    assert not show.is_alive()
    assert not session.connected, "the room connection closes with the show"

    assert (wide["width"], wide["height"]) == (854, 480) and (tall["width"], tall["height"]) == (480, 854)
    for key, graph in (("wide", wide), ("tall", tall)):
        good = good_frames(key, graph, complete=True)  # the finished files
        assert good >= 2 * 24, f"{key}: only {good} frames show red and green in their tiles"
    boxes = tiles(tall)
    assert boxes[red.identity]["y"] + boxes[red.identity]["h"] <= boxes[green.identity]["y"], "stacked on 9:16"
