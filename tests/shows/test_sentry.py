"""Security finding 8: an error inside a running show reaches Sentry without a stream key or token in it.

A real media worker (Celery, prefork) runs a real show (test scene to nginx-rtmp) with SENTRY_DSN pointing
at a capturing ingest on loopback. Then the web side is given a new encryption key the worker was not
(a rotation done halfway), and a destination is added live with a key encrypted under it: the worker cannot
decrypt it, and the show raises inside its reconcile loop, where the running destination's key is within
reach of the frames' locals. Before the fix, the SDK's defaults sent every frame's locals.
"""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from apps.core import redis as redis_client
from apps.destinations.models import StreamDestination
from apps.shows import runner
from apps.shows.tasks import run_show_task
from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory
from tests.support.rtmp import rtmp_servers, wait_for  # noqa: F401 - fixture
from tests.support.sentry import sentry_ingest  # noqa: F401 - fixture

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]

RUNNING_KEY = "live_SENTRY_CANARY_4b7e9d2a1c"
ADDED_KEY = "live_SENTRY_ADDED_8f6a5e4d3c"


def test_an_error_inside_a_running_show_reaches_sentry_without_secrets(
    media_worker_factory,
    rtmp_servers,  # noqa: F811 - the fixture imported above
    sentry_ingest,  # noqa: F811
):
    (server,) = rtmp_servers(1)
    old_keys = list(settings.STREAM_KEY_ENCRYPTION_KEYS)
    worker = media_worker_factory(
        {"SENTRY_DSN": sentry_ingest.dsn, "STREAM_KEY_ENCRYPTION_KEYS": ",".join(old_keys), "LOG_LEVEL": "INFO"}
    )
    stream = StreamFactory(resolution="480p", fps=30, video_bitrate_kbps=400, audio_bitrate_kbps=64)
    stream.transition(Stream.Status.LIVE)
    stream.save()
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key=RUNNING_KEY)
    r = redis_client.client()
    r.delete(runner.runs_key(stream.pk), runner.lock_key(stream.pk))

    run_show_task.delay(stream.pk)
    server.wait_for_publish(RUNNING_KEY, timeout=60)
    assert worker.poll() is None

    # The web side rotates to a new key first; the media worker has not been given it yet.
    settings.STREAM_KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    added = DestinationFactory(stream=stream, rtmp_url=server.url, stream_key=ADDED_KEY)  # the runner reconciles

    event = sentry_ingest.wait_for(
        lambda e: any(v.get("type") == "ImproperlyConfigured" for v in (e.get("exception") or {}).get("values", [])),
        timeout=60,
    )
    frames = [
        frame for value in event["exception"]["values"] for frame in (value.get("stacktrace") or {}).get("frames", [])
    ]
    assert any(frame.get("function") == "reconcile" for frame in frames), "the error came from the running show"
    raw = sentry_ingest.raw
    for secret in (RUNNING_KEY, ADDED_KEY):
        assert secret not in raw
        assert secret[:-4] not in raw  # not even a masked form long enough to use
    assert "gAAAAA" not in raw  # nor the stored ciphertexts
    assert all("vars" not in frame for frame in frames)  # no local variables at all
    assert json.dumps(event)  # a well-formed event, for the record

    # The show ended (the error is real), and nothing of it was pushed under the unreadable key.
    wait_for(lambda: not r.exists(runner.lock_key(stream.pk)), 30, message="the show did not end")
    assert not server.recordings(ADDED_KEY)
    assert StreamDestination.objects.filter(pk=added.pk).exists()
