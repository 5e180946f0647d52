"""A real show: run_show (the media worker's loop) with the compositor as its program, both canvases.

The show starts before anyone is in the room (the compositor opens it and subscribes as people
arrive); the landscape destination and the vertical destination each receive their own canvas.
"""

from __future__ import annotations

import threading
import time

import pytest

from apps.destinations.models import Canvas
from apps.rtc import services as rtc
from apps.shows import runner as broadcast
from apps.shows import services as shows
from apps.shows.compositor import CompositorSourceFactory
from apps.streams.models import Stream
from media.broadcast.source import rgb_to_yuv
from tests.factories import DestinationFactory, GuestFactory, StreamFactory
from tests.support.compositor import GREEN, RED, decode, near, region_yuv, tiles
from tests.support.rtmp import rtmp_servers  # noqa: F401 - fixture

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
    try:
        deadline = time.monotonic() + 30
        while not rtc.rtc_room_exists(stream=stream) and time.monotonic() < deadline:
            assert show.is_alive(), show.error
            time.sleep(0.2)
        assert rtc.rtc_room_exists(stream=stream), "the compositor opens the room"
        for guest, colour in ((red, RED), (green, GREEN)):
            token = rtc._token(
                identity=guest.identity,
                name=guest.display_name,
                grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(stream), can_publish=True),
            )
            synthetic_participants(livekit.url, token).connect().publish(colour=colour, tone_hz=440.0)
        session = show.factory.session
        assert session is not None and set(session.programs) == {"landscape", "vertical"}
        deadline = time.monotonic() + 20
        while not {red.identity, green.identity} <= set(session.latest_frames()) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3.0)
    finally:
        shows.show_end(stream=stream, by=None)
        show.join(20)
    assert show.error is None, show.error
    assert not show.is_alive()
    assert not session.connected, "the room connection closes with the show"

    wide = session.programs["landscape"].graph
    tall = session.programs["vertical"].graph
    assert (wide["width"], wide["height"]) == (854, 480) and (tall["width"], tall["height"]) == (480, 854)
    for key, graph in (("wide", wide), ("tall", tall)):
        video, _audio = decode(server.wait_for_publish(key))
        boxes = tiles(graph)
        size = (graph["width"], graph["height"])
        good = [
            f
            for _t, f in video
            if near(region_yuv(f, boxes[red.identity], *size), rgb_to_yuv(RED))
            and near(region_yuv(f, boxes[green.identity], *size), rgb_to_yuv(GREEN))
        ]
        assert len(good) >= 2 * 24, f"{key}: only {len(good)} frames show red and green in their tiles"
    assert boxes[red.identity]["y"] + boxes[red.identity]["h"] <= boxes[green.identity]["y"], "stacked on 9:16"
