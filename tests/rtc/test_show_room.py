"""The show's room follows the show: opened when it goes live, closed when it ends, and LiveKit being
down never stops either from happening (the full path with a real LiveKit is tests/compositor/test_full_show.py)."""

from __future__ import annotations

import logging
import socket

import pytest
import redis

from apps.core.realtime import show_wake_key
from apps.shows import runner as broadcast
from apps.shows import services as shows
from apps.shows.compositor import CompositorSourceFactory
from apps.streams.models import Stream
from media.broadcast.source import TestSceneSource
from tests.factories import StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def livekit_down(settings):
    """A loopback port nobody listens on: every RoomService call is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.LIVEKIT_URL = f"ws://127.0.0.1:{port}"
    settings.CELERY_TASK_ALWAYS_EAGER = True  # no media worker here: nothing is queued
    return settings


def test_going_live_and_ending_go_through_when_livekit_is_down(
    user, livekit_down, caplog, django_capture_on_commit_callbacks
):
    stream = StreamFactory(owner=user, resolution="480p")
    r = redis.Redis.from_url(livekit_down.REDIS_URL)
    r.delete(show_wake_key(stream.pk))
    caplog.set_level(logging.WARNING, logger="apps.shows.services")
    with django_capture_on_commit_callbacks(execute=True):
        shows.show_go_live(stream=stream, by=user)
    assert Stream.objects.get(pk=stream.pk).status == Stream.Status.LIVE
    assert any("Could not open the LiveKit room" in m for m in caplog.messages)
    with django_capture_on_commit_callbacks(execute=True):
        shows.show_end(stream=stream, by=user)
    assert Stream.objects.get(pk=stream.pk).status == Stream.Status.ENDED
    assert any("Could not close the LiveKit room" in m for m in caplog.messages)
    assert r.llen(show_wake_key(stream.pk)) == 1, "a running show would still notice at once"
    r.delete(show_wake_key(stream.pk))


def test_the_program_source_is_the_compositor_unless_the_test_scene_is_asked_for(settings, user):
    stream = StreamFactory(owner=user, resolution="480p", fps=24)
    settings.BROADCAST_SOURCE = "compositor"
    first, second = broadcast.program_source_factory(), broadcast.program_source_factory()
    assert isinstance(first, CompositorSourceFactory) and first is not second  # one room connection per run
    settings.BROADCAST_SOURCE = "test_scene"
    config = broadcast.ShowConfig(width=854, height=480, fps=24, video_kbps=400, audio_kbps=64)
    source = broadcast.program_source_factory()(stream, config)
    assert isinstance(source, TestSceneSource) and (source.width, source.height, source.fps) == (854, 480, 24)
