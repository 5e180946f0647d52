"""The show's health as the media process publishes it: the falling-behind verdict (with its 5 s hold),
the studio events and the Redis summary, and the show's series, which leave with the show."""

from __future__ import annotations

import json

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from prometheus_client import REGISTRY

from apps.core import realtime
from apps.shows import health as show_health
from apps.shows.health import HealthPublisher
from tests.factories import DestinationFactory, StreamFactory

pytestmark = pytest.mark.django_db(transaction=True)

FPS = 24


def program(rtf: float, *, wall: float = 30.0) -> dict:
    return {
        "kind": "program",
        "canvas": "landscape",
        "media_seconds": wall * rtf,
        "wall_seconds": wall,
        "real_time_factor": rtf,
        "fps": FPS * rtf,
        "frames_encoded": int(wall * FPS * rtf),
        "frames_late": 0,
        "frames_dropped": 0,
        "frames_duplicated": 0,
        "render_ms": {"p50": 3.0, "p95": 6.0},
        "encode_ms": {"p50": 5.0, "p95": 9.0},
        "step": {"preset": "veryfast", "fps": FPS, "width": 854, "height": 480, "level": 0, "reason": ""},
        "on_slate": False,
    }


def destination(did: int, *, kbps: float, fps: float, sent: int = 0, state: str = "live", produced: float) -> dict:
    return {
        "kind": "destination",
        "canvas": "landscape",
        "destination_id": did,
        "state": state,
        "bytes_sent": sent,
        "frames_sent": 0,
        "frames_dropped": 0,
        "reconnects": 0,
        "uptime": 1.0,
        "last_error": "",
        "bitrate_kbps": kbps,
        "program_kbps": produced,
        "fps": fps,
        "program": "program",
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hosts(stream_for_health):
    """Receives what the show sends to the host's sockets (the real channel layer on the test Redis)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.hosts_group(stream_for_health.pk), channel)

    def receive() -> dict:
        return async_to_sync(layer.receive)(channel)

    yield receive
    async_to_sync(layer.group_discard)(realtime.hosts_group(stream_for_health.pk), channel)


@pytest.fixture
def stream_for_health(user):
    return StreamFactory(owner=user, video_bitrate_kbps=500, audio_bitrate_kbps=64)


def test_a_slow_program_is_falling_behind_after_five_seconds_and_recovers(stream_for_health, hosts):
    clock = Clock()
    publisher = HealthPublisher(stream_for_health.pk, video_kbps=500, audio_kbps=64, clock=clock)
    sid = str(stream_for_health.pk)
    try:
        verdicts = []
        for second in range(7):
            clock.now = 1000.0 + second
            publisher([program(0.9)])
            event = hosts()
            assert event["type"] == "program.health"
            verdicts.append(event["program"]["falling_behind"])
        # Not a warning for a passing hiccup: only once it has held for FALLING_BEHIND_SECONDS.
        assert verdicts == [False] * 5 + [True] * 2
        assert event["program"]["message"] == show_health.PROGRAM_BEHIND
        assert event["program"]["real_time_factor"] == 0.9
        assert REGISTRY.get_sample_value("streamus_show_falling_behind", {"stream_id": sid}) == 1
        assert (
            REGISTRY.get_sample_value("streamus_show_real_time_factor", {"stream_id": sid, "canvas": "landscape"})
            == 0.9
        )
        summary = json.loads(
            redis.Redis.from_url(publisher_redis_url()).get(show_health.summary_key(stream_for_health.pk))
        )
        assert summary["program"]["falling_behind"] is True

        clock.now += 1
        publisher([program(1.0)])
        event = hosts()
        assert event["program"]["falling_behind"] is False and event["program"]["message"] == ""
        assert REGISTRY.get_sample_value("streamus_show_falling_behind", {"stream_id": sid}) == 0
        # A new spell below real time starts its own 5 s.
        clock.now += 1
        publisher([program(0.9)])
        assert hosts()["program"]["falling_behind"] is False
    finally:
        publisher.close()
    # The show ended in this process: its series and its summary are gone.
    assert REGISTRY.get_sample_value("streamus_show_live", {"stream_id": sid}) is None
    assert (
        REGISTRY.get_sample_value("streamus_show_real_time_factor", {"stream_id": sid, "canvas": "landscape"}) is None
    )
    assert not redis.Redis.from_url(publisher_redis_url()).exists(show_health.summary_key(stream_for_health.pk))


def publisher_redis_url() -> str:
    from django.conf import settings

    return str(settings.REDIS_URL)


def test_a_destination_falls_behind_when_it_gets_less_than_the_show_sends(stream_for_health, hosts):
    still = DestinationFactory(stream=stream_for_health)
    slow = DestinationFactory(stream=stream_for_health)
    clock = Clock()
    publisher = HealthPublisher(stream_for_health.pk, video_kbps=500, audio_kbps=64, clock=clock)
    try:
        for second in range(7):
            clock.now = 1000.0 + second
            publisher(
                [
                    program(1.0),
                    # A still picture: the encoder produces few bits (far below the configured 564 kbit/s)
                    # and the destination gets all of them.
                    destination(still.pk, kbps=120, fps=FPS, sent=second * 15_000, produced=130),
                    # A slow link: the show sends its bitrate, the destination gets a third of it.
                    destination(slow.pk, kbps=200, fps=8, sent=second * 25_000, produced=560),
                ]
            )
            events = [hosts() for _ in range(3)]
        by_type = {}
        for event in events:
            by_type.setdefault(event["type"], []).append(event)
        shown = {e["destination"]["id"]: e["destination"]["falling_behind"] for e in by_type["destination.health"]}
        shown_states = {e["destination"]["id"]: e["destination"]["state"] for e in by_type["destination.health"]}
        assert shown == {still.pk: False, slow.pk: True}
        (program_event,) = by_type["program.health"]
        assert program_event["program"]["falling_behind"] is True
        assert program_event["program"]["destinations_behind"] == [slow.pk]
        assert program_event["program"]["message"] == show_health.DESTINATION_BEHIND
        sid = str(stream_for_health.pk)
        labels = {"stream_id": sid, "destination_id": str(slow.pk)}
        assert REGISTRY.get_sample_value("streamus_destination_falling_behind", labels) == 1
        assert REGISTRY.get_sample_value("streamus_destination_sent_bytes_total", labels) == 6 * 25_000
        assert REGISTRY.get_sample_value("streamus_destination_state", {**labels, "state": "live"}) == 1
        assert REGISTRY.get_sample_value("streamus_destination_state", {**labels, "state": "reconnecting"}) == 0
        assert shown_states == {still.pk: "live", slow.pk: "live"}
        slow.refresh_from_db()
        assert slow.health["falling_behind"] is True  # the row the dashboard and the API read

        publisher.forget_destination(slow.pk)  # removed while live
        assert REGISTRY.get_sample_value("streamus_destination_sent_bytes_total", labels) is None
    finally:
        publisher.close()
