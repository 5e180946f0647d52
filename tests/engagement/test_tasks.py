"""The Celery adapters: a kick starts a runner only for live shows without one; a slice runs the runner."""

from __future__ import annotations

import pytest

from apps.engagement import realtime
from apps.engagement.ingest import runner
from apps.engagement.tasks import ingest_stream_task, kick_ingest_task
from apps.streams.models import Stream
from tests.factories import StreamFactory


def test_kick_enqueues_live_shows_without_a_runner(db, monkeypatch):
    live, busy = StreamFactory(status=Stream.Status.LIVE), StreamFactory(status=Stream.Status.LIVE)
    StreamFactory()  # scheduled: no chat to read yet
    realtime.redis_client_str().set(runner.lease_key(busy.pk), "someone", ex=30)
    queued: list[int] = []
    monkeypatch.setattr(ingest_stream_task, "delay", lambda stream_id: queued.append(stream_id))
    assert kick_ingest_task() == 2
    assert queued == [live.pk]


@pytest.mark.django_db(transaction=True)
def test_slice_without_chats_ends_and_does_not_chain(monkeypatch, settings):
    stream = StreamFactory(status=Stream.Status.LIVE)
    queued: list[int] = []
    monkeypatch.setattr(ingest_stream_task, "delay", lambda stream_id: queued.append(stream_id))
    settings.ENGAGEMENT_INGEST_SLICE_SECONDS = 1
    assert ingest_stream_task(stream.pk) == {}
    assert queued == []
    assert not realtime.redis_client_str().exists(runner.lease_key(stream.pk))
