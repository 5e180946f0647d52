"""A live show end to end through the Django side: run_show, control via Redis, health, recording."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from apps.destinations.models import StreamDestination
from apps.destinations.services import destination_live_set
from apps.recordings.models import Recording
from apps.shows import runner as broadcast
from apps.shows import services as shows
from apps.shows.checks import show_check
from apps.streams.models import Stream
from media.broadcast.capacity import CapacityError, choose_encoder
from tests.factories import DestinationFactory, StreamFactory, UserFactory
from tests.support.rtmp import audio_stream, decode_all, ffprobe, packet_times, video_stream, wait_for
from tests.support.shows import ShowThread, cmdlines, join_group, live_stream, receive

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]

CANARY = "live_CANARY_9f3b2a71e0c4_streamkey"


@pytest.fixture(autouse=True)
def _show_settings(settings, tmp_path):
    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    settings.BROADCAST_X264_PRESET = "ultrafast"
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_show_streams_reports_health_and_records_then_stops_gracefully(rtmp_servers, caplog, capfd):
    caplog.set_level("INFO")
    (server,) = rtmp_servers(1)
    stream = live_stream()
    destination = DestinationFactory(stream=stream, rtmp_url=server.url, stream_key=CANARY)
    layer, channel = join_group(f"stream-{stream.pk}-hosts")  # health is for the host's eyes only

    show = ShowThread(stream.pk)
    show.start()
    assert show.started.wait(20)
    server.wait_for_publish(CANARY)

    # Health arrives every second on the studio's group, and never carries the key or the URL.
    messages, programs = [], []

    def two_live_samples() -> bool:
        message = receive(layer, channel, 5)
        (messages if message["type"] == "destination.health" else programs).append(message)
        return sum(1 for m in messages if m["destination"]["state"] == "live" and m["destination"]["fps"] > 20) >= 2

    wait_for(two_live_samples, 20)
    # The program's own health goes to the same group (SHOW-HEALTH-CONTRACT.md).
    assert programs and {p["type"] for p in programs} == {"program.health"}
    assert programs[-1]["program"]["falling_behind"] in (True, False)
    health = messages[-1]
    assert health["type"] == "destination.health"
    assert health["destination"]["id"] == destination.pk
    for field in (
        "state",
        "bitrate_kbps",
        "fps",
        "frames_sent",
        "frames_dropped",
        "reconnects",
        "uptime",
        "last_error",
    ):
        assert field in health["destination"]
    assert health["destination"]["bitrate_kbps"] > 50
    dumped = json.dumps(messages)
    assert CANARY not in dumped and server.url not in dumped

    # Nowhere on the machine does a command line carry the key; the recorder's FFmpeg is whitelisted.
    lines = cmdlines()
    assert not [line for line in lines if CANARY in line]
    recorder_lines = [line for line in lines if "ffmpeg" in line and str(stream.pk) in line and "pipe:0" in line]
    assert recorder_lines and all("-protocol_whitelist pipe,file" in line for line in recorder_lines)

    # Summary on the row.
    wait_for(lambda: StreamDestination.objects.get(pk=destination.pk).status == "connected", 10)
    assert StreamDestination.objects.get(pk=destination.pk).health["frames_sent"] > 0

    wait_for(lambda: show.session.frames_encoded >= 4 * 30, 15)
    stop_at = time.monotonic()
    shows.show_end(stream=stream, by=stream.owner)
    show.join(10)
    assert show.outcome == "ended"
    assert show.finished_at - stop_at <= 5.0, "stop was not graceful within 5 s"

    recording = Recording.objects.get(stream=stream)
    info = ffprobe(recording.file.path)
    assert (recording.width, recording.height, recording.format) == (854, 480, "mp4")
    assert recording.size_bytes == Path(recording.file.path).stat().st_size > 0
    assert abs(recording.duration_seconds - float(info["format"]["duration"])) < 0.01
    assert recording.duration_seconds >= 3.5
    assert recording.bitrate_kbps > 50
    assert video_stream(info)["codec_name"] == "h264" and audio_stream(info)["codec_name"] == "aac"
    # Every picture in it decodes, to its end (a busy machine drops pictures to keep the wall clock).
    pictures = packet_times(recording.file.path)
    assert decode_all(recording.file.path) == len(pictures) and pictures[-1] >= recording.duration_seconds - 0.5
    assert not list((Path(broadcast.spool_dir(stream.pk))).glob("*")), "spool not cleaned"
    assert StreamDestination.objects.get(pk=destination.pk).status == "disconnected"

    # The key never reached a log line, our stderr, or an API response.
    assert CANARY not in caplog.text
    out, err = capfd.readouterr()
    assert CANARY not in out and CANARY not in err
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(stream.owner)
    for url in (f"/api/v1/destinations/{destination.pk}/", f"/api/v1/streams/{stream.pk}/destinations/"):
        response = api.get(url)
        assert response.status_code == 200
        assert CANARY not in response.content.decode()
    # and no process left behind
    assert not [line for line in cmdlines() if "ffmpeg" in line and "pipe:0" in line and str(stream.pk) in line]


def test_webm_recording_and_live_destination_control(rtmp_servers):
    first, second = rtmp_servers(2)
    stream = live_stream(recording_format="webm")
    d1 = DestinationFactory(stream=stream, rtmp_url=first.url, stream_key="webm-one")
    d2 = DestinationFactory(stream=stream, rtmp_url=second.url, stream_key="webm-two", enabled=False)
    show = ShowThread(stream.pk)
    show.start()
    assert show.started.wait(20)
    first.wait_for_publish("webm-one")

    # While live: one destination enabled, the other disabled, through the same service as the API.
    destination_live_set(destination=d2, by=stream.owner, on=True)
    second.wait_for_publish("webm-two")
    destination_live_set(destination=d1, by=stream.owner, on=False)
    wait_for(lambda: d1.pk not in show.session.pushers, 5)
    wait_for(lambda: show.session.frames_encoded >= 3 * 30, 15)
    shows.show_end(stream=stream, by=stream.owner)
    show.join(10)
    assert show.outcome == "ended"
    assert len(first.recordings("webm-one")) == 1 and len(second.recordings("webm-two")) == 1

    recording = Recording.objects.get(stream=stream)
    info = ffprobe(recording.file.path)
    assert recording.format == "webm" and recording.file.name.endswith(".webm")
    assert video_stream(info)["codec_name"] == "vp9" and audio_stream(info)["codec_name"] == "opus"
    assert decode_all(recording.file.path) > 30


def test_a_show_never_runs_twice(rtmp_servers):
    (server,) = rtmp_servers(1)
    stream = live_stream(recording_enabled=False)
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key="once")
    show = ShowThread(stream.pk)
    show.start()
    assert show.started.wait(20)
    # A second delivery of the task while the first run is alive: it waits out the lock TTL, then gives up.
    assert broadcast.run_show(stream_id=stream.pk, lock_wait=1.0) == "busy"
    server.wait_for_publish("once")
    shows.show_end(stream=stream, by=None)
    show.join(10)
    assert show.outcome == "ended"
    assert len(server.recordings("once")) == 1
    # After stop, a late duplicate does not restart it.
    assert broadcast.run_show(stream_id=stream.pk, lock_wait=1.0) == "not-live"


def test_capacity_is_checked_honestly_before_going_live():
    pro = UserFactory(tier="pro")
    free = UserFactory(tier="free")
    with pytest.raises(ValidationError, match="hardware encoder"):
        show_check(stream=StreamFactory(owner=pro, resolution="2160p", fps=60, video_bitrate_kbps=20000))
    with pytest.raises(ValidationError, match="plan"):
        show_check(stream=StreamFactory(owner=free, resolution="2160p", fps=30, video_bitrate_kbps=20000))
    assert show_check(stream=StreamFactory(owner=free, resolution="720p", fps=30)) == "libx264"
    # With a hardware encoder the same 4K60 show is accepted.
    assert choose_encoder(3840, 2160, 60, encoders=("h264_nvenc", "libx264")) == "h264_nvenc"
    assert choose_encoder(1920, 1080, 30, encoders=("libx264",), cores=2) == "libx264"


def test_orphaned_live_shows_are_enqueued_again_once(settings):
    import redis
    from django.utils import timezone

    r = redis.Redis.from_url(settings.REDIS_URL)
    r.delete("media")
    long_ago = timezone.now() - timedelta(minutes=5)
    orphan, held, ended, _just_went_live = (live_stream() for _ in range(4))
    Stream.objects.filter(pk__in=[orphan.pk, held.pk, ended.pk]).update(started_at=long_ago)
    Stream.objects.filter(pk=ended.pk).update(status=Stream.Status.ENDED)
    r.set(broadcast.lock_key(held.pk), "someone", px=10_000)
    try:
        assert shows.shows_resume_orphans() == [orphan.pk]
        assert shows.shows_resume_orphans() == []  # not twice while the first is on its way
        messages = [json.loads(m) for m in r.lrange("media", 0, -1)]
        assert [m["headers"]["task"] for m in messages] == ["media.run_show"]
        assert json.loads(base64.b64decode(messages[0]["body"]))[0] == [orphan.pk]
    finally:
        r.delete("media")


def test_going_live_refuses_a_show_this_worker_cannot_carry():
    pro = UserFactory(tier="pro")
    stream = StreamFactory(owner=pro, resolution="2160p", fps=60, video_bitrate_kbps=20000)
    with pytest.raises(ValidationError, match="hardware encoder"):
        shows.show_go_live(stream=stream, by=pro)
    stream.refresh_from_db()
    assert stream.status == Stream.Status.SCHEDULED  # refused before going live, not after


def test_vertical_destinations_get_the_vertical_program(rtmp_servers):
    (server,) = rtmp_servers(1)
    stream = live_stream(vertical_canvas=True, recording_enabled=False)
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key="wide", canvas="landscape")
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key="tall", canvas="vertical")
    show = ShowThread(stream.pk)
    show.start()
    assert show.started.wait(20)
    wide, tall = server.wait_for_publish("wide"), server.wait_for_publish("tall")
    shows.show_end(stream=stream, by=None)
    show.join(10)
    assert show.outcome == "ended"
    assert (video_stream(ffprobe(wide))["width"], video_stream(ffprobe(wide))["height"]) == (854, 480)
    assert (video_stream(ffprobe(tall))["width"], video_stream(ffprobe(tall))["height"]) == (480, 854)
    # Two canvases are two encodes: capacity counts both.
    with pytest.raises(CapacityError, match="two canvases"):
        choose_encoder(1920, 1080, 30, canvases=2, encoders=("libx264",), cores=2)
