"""A full show through the production path, with nothing passed in by hand:

go live through the API (→ broadcast_start: the LiveKit room opens, `media.run_show` is queued) → two
synthetic guests (red, green) on stage publish into the room → the queued task runs `run_show` with the
default program source (the compositor) → nginx-rtmp receives side by side red | green → a second
destination is added and removed through the API while live → end through the API (→ broadcast_stop:
the show stops, the Recording row is created from ffprobe, the room is closed).

Small on purpose (480p24, a few seconds): the machine has two cores shared by everyone.
"""

from __future__ import annotations

import base64
import json
import threading

import pytest
import redis
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from apps.destinations.models import StreamDestination
from apps.recordings.models import Recording
from apps.rtc import services as rtc
from apps.shows import runner as broadcast
from apps.streams.models import Stream
from apps.studio import scene
from media.broadcast.session import BroadcastSession
from media.broadcast.source import rgb_to_yuv
from tests.factories import DestinationFactory, GuestFactory, StreamFactory
from tests.support.compositor import GREEN, RED, decode, near, region_yuv, tiles
from tests.support.rtmp import (
    rtmp_servers,  # noqa: F401 - fixture
    wait_for,
)

pytestmark = [pytest.mark.livekit, pytest.mark.media, pytest.mark.django_db(transaction=True)]

FPS = 24


@pytest.fixture
def media(settings, tmp_path):
    settings.BROADCAST_SOURCE = "compositor"  # the default, said out loud: this test is about it
    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    settings.BROADCAST_X264_PRESET = "ultrafast"
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.CELERY_TASK_ALWAYS_EAGER = False
    r = redis.Redis.from_url(settings.REDIS_URL)
    # Ids repeat across runs (fresh test database, same Redis): no queued task or show key from an earlier run.
    r.delete("media", *r.scan_iter("show:*"), *r.scan_iter(scene.redis_key(0).replace("0", "*")))
    yield r
    r.delete("media")
    r.close()


def queued_shows(r: redis.Redis) -> list[int]:
    """Stream ids of the `media.run_show` messages waiting in the media queue (what a worker would take)."""
    ids = []
    for raw in r.lrange("media", 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "media.run_show"
        ids.append(json.loads(base64.b64decode(message["body"]))[0][0])
    return ids


class MediaWorker(threading.Thread):
    """Runs the queued task's body the way the Celery media worker does: `run_show(stream_id=...)`, defaults."""

    def __init__(self, stream_id: int) -> None:
        super().__init__(daemon=True)
        self.stream_id = stream_id
        self.outcome: str | None = None
        self.error: BaseException | None = None
        self.session: BroadcastSession | None = None
        self.started = threading.Event()

    def on_started(self, session: BroadcastSession) -> None:
        self.session = session
        self.started.set()

    def run(self) -> None:
        try:
            self.outcome = broadcast.run_show(stream_id=self.stream_id, on_started=self.on_started)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.started.set()
            connection.close()  # this thread's connection, so the test database can be dropped


def test_a_show_goes_out_from_the_studio_room_to_rtmp_and_is_recorded(
    media,
    livekit,
    user,
    rtmp_servers,  # noqa: F811 - the fixture imported above
    synthetic_participants,
):
    (server,) = rtmp_servers(1)
    stream = StreamFactory(
        owner=user,
        resolution="480p",
        fps=FPS,
        video_bitrate_kbps=400,
        audio_bitrate_kbps=64,
        recording_enabled=True,
        recording_format="mp4",
        scene={"host_on_stage": False, "layout": "side_by_side"},
    )
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key="main")
    # Not part of the show at first: it joins while live, through the API.
    extra = DestinationFactory(stream=stream, rtmp_url=server.url, stream_key="extra", enabled=False)
    red, green = (GuestFactory(stream=stream, display_name=n, on_stage=True) for n in ("Red", "Green"))
    api = APIClient()
    api.force_authenticate(user)
    assert not rtc.rtc_room_exists(stream=stream)

    # Going live: broadcast_start opens the room (LiveKit never auto-creates it) and queues the show.
    assert api.post(reverse("api-stream-go-live", kwargs={"pk": stream.pk})).status_code == 200
    assert rtc.rtc_room_exists(stream=stream), "broadcast_start opens the room"
    assert queued_shows(media) == [stream.pk]
    media.delete("media")  # taken by the worker below

    for guest, colour in ((red, RED), (green, GREEN)):
        token = rtc._token(
            identity=guest.identity,
            name=guest.display_name,
            grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(stream), can_publish=True),
        )
        synthetic_participants(livekit.url, token).connect().publish(colour=colour, tone_hz=440.0)

    worker = MediaWorker(stream.pk)
    worker.start()
    try:
        assert worker.started.wait(60), "the show did not start"
        assert worker.error is None, worker.error
        session = worker.session
        assert session is not None
        compositor = session.source.session  # type: ignore[attr-defined]  # a CanvasProgram of the compositor
        wait_for(
            lambda: {red.identity, green.identity} <= set(compositor.latest_frames()),
            30,
            message="the compositor never received both guests",
        )
        # A few seconds of program with both guests in it.
        mark = session.frames_encoded
        wait_for(lambda: session.frames_encoded >= mark + 3 * FPS, 30, message="the encoder stalled")

        StreamDestination.objects.filter(pk=extra.pk).update(enabled=True)
        live_url = reverse("api-destination-live", kwargs={"pk": extra.pk})
        assert api.post(live_url).status_code == 202
        extra_flv = server.wait_for_publish("extra", timeout=30)
        assert api.delete(live_url).status_code == 202
        wait_for(
            lambda: not any(h["destination_id"] == extra.pk for h in session.health_snapshots()),
            15,
            message="the removed destination is still pushing",
        )
    finally:
        # Ending the show: broadcast_stop stops it and closes the room.
        ended = api.post(reverse("api-stream-end", kwargs={"pk": stream.pk}))
        worker.join(30)
    assert ended.status_code == 200
    assert worker.error is None, worker.error
    assert not worker.is_alive()
    assert worker.outcome == "ended"
    assert not compositor.connected, "the compositor leaves the room with the show"
    assert not rtc.rtc_room_exists(stream=stream), "broadcast_stop closes the room"

    graph = session.source.graph  # type: ignore[attr-defined]
    size = (graph["width"], graph["height"])
    assert size == (854, 480)
    boxes = tiles(graph)
    assert boxes[red.identity]["x"] + boxes[red.identity]["w"] <= 854 // 2 <= boxes[green.identity]["x"]

    def side_by_side(frames: list) -> int:
        return sum(
            1
            for _t, f in frames
            if near(region_yuv(f, boxes[red.identity], *size), rgb_to_yuv(RED))
            and near(region_yuv(f, boxes[green.identity], *size), rgb_to_yuv(GREEN))
        )

    received, _audio = decode(server.wait_for_publish("main"))
    good = side_by_side(received)
    assert good >= 2 * FPS, f"red left and green right in only {good} of {len(received)} frames at the ingest"
    extra_frames = decode(extra_flv)[0]
    assert side_by_side(extra_frames) >= 1, f"the destination added while live: {len(extra_frames)} frames"

    recording = Recording.objects.get(stream=stream)
    assert (recording.width, recording.height, recording.format) == (854, 480, Recording.Format.MP4)
    assert recording.duration_seconds >= 3.0
    assert recording.size_bytes > 0 and recording.bitrate_kbps > 0
    recorded, _audio = decode(recording.file.path)
    good = side_by_side(recorded)
    assert good >= 2 * FPS, f"the recording: red | green in only {good} of {len(recorded)} frames"
    assert Stream.objects.get(pk=stream.pk).status == Stream.Status.ENDED
