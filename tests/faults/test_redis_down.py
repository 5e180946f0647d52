"""Redis down for 15 s during a show: the pushes and the recording go on without a gap, /readyz fails meanwhile
and /healthz does not, and the show is never started twice.

Everything that uses Redis uses a private redis-server the test stops (no persistence: it comes back empty,
as a crashed Redis without a volume does): two media workers (Celery, as the Procfile starts them, Redis
their broker too), a web process (Daphne, `streamus.asgi:application`) and this test process. The show
is picked up the way a live show without a holder is: a media worker's supervisor finds it in the
database and queues it. When Redis comes back, both workers' supervisors look for live shows nobody
holds; the running show's lease keeper must take its lease back first, or the other worker's run must
find it busy. The ingest's publish log (nginx-rtmp on_publish hooks) is the judge: one publish, never two.

The studio's sockets resyncing after a Redis restart is tests/e2e/test_resilience.py.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from channels.layers import channel_layers
from django.utils import timezone

from apps.core import redis as redis_client
from apps.recordings.models import Recording
from apps.shows import services as shows
from apps.streams.models import Stream
from tests.factories import DestinationFactory
from tests.support.rtmp import wait_for
from tests.support.shows import live_stream

from .conftest import ingest_kept_the_clock, recording_is_whole

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]

KEY = "through-the-outage"
OUTAGE_SECONDS = 15.0
FPS = 24


@pytest.fixture
def outage_redis(private_redis, settings):
    """This process on the private Redis too (its pools and channel layer), restored after."""
    settings.REDIS_URL = private_redis.url
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [private_redis.url]}}
    }
    redis_client.reset()
    channel_layers.backends.clear()
    yield private_redis
    redis_client.reset()
    channel_layers.backends.clear()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_redis_down_15_s_mid_show(outage_redis, web_factory, media_workers, rtmp_servers, user, settings):
    settings.BROADCAST_SOURCE = "test_scene"
    (server,) = rtmp_servers(1, publishes=True)
    web = web_factory(redis_url=outage_redis.url)
    workers = media_workers(2, redis_url=outage_redis.url)
    stream = live_stream(owner=user, fps=FPS, recording_enabled=True, recording_format="mp4", video_bitrate_kbps=400)
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key=KEY)
    # Live in the database for a while, held by nobody: a worker's supervisor queues it at once (as after a
    # lost go-live task). When Redis comes back empty it looks exactly like that again, to both supervisors.
    Stream.objects.filter(pk=stream.pk).update(started_at=timezone.now() - timedelta(minutes=10))
    on_air = server.publishes.wait("publish", KEY, 1, timeout=60)
    flv = server.wait_for_publish(KEY, timeout=30)
    holder = wait_for(lambda: next((w for w in workers if w.running_show()), None), 10, message="no worker runs it")
    assert status(f"{web.url}/readyz") == 200
    wait_for(lambda: time.monotonic() - on_air >= 4, 10)

    outage_redis.stop()
    down_at = time.monotonic()
    # While it is down: the web process is alive but not ready, every time it is asked.
    answers = []
    while time.monotonic() - down_at < OUTAGE_SECONDS:
        answers.append((status(f"{web.url}/healthz"), status(f"{web.url}/readyz")))
        time.sleep(1.0)  # a probe's period: the outage's length is the fault itself, not an event to await
    outage_redis.start()  # empty: no leases, no queue, no groups
    up_at = time.monotonic()
    assert answers and all(answer == (200, 503) for answer in answers), answers
    wait_for(lambda: status(f"{web.url}/readyz") == 200, 15, interval=0.5, message="/readyz did not recover")
    assert server.publishes.count("publish", KEY) == 1, (
        "the push was restarted (or the show started twice) over the outage"
    )

    # The show goes on through the new Redis: both supervisors have looked for orphans a few times by now.
    wait_for(lambda: time.monotonic() - up_at >= 8, 10)
    assert holder.running_show() and not any(w.running_show() for w in workers if w is not holder)
    shows.show_end(stream=Stream.objects.get(pk=stream.pk), by=user)
    server.publishes.wait("publish_done", KEY, 1, timeout=30)
    ended_at = time.monotonic()
    part = wait_for(
        lambda: Recording.objects.filter(stream=stream, kind=Recording.Kind.PROGRAM).first(),
        30,
        message="the recording was not stored",
    )
    assert server.publishes.count("publish", KEY) == 1 and server.publishes.max_concurrent(KEY) == 1

    # At the ingest: one connection, its media time matches the wall time it took, no hole over the outage.
    media, wall = ingest_kept_the_clock(server, KEY, flv, ended_at)
    # The outage lies inside what the ingest got, not at its end.
    assert media >= (up_at - on_air) + 5

    # The recording: one part, the whole show, every picture decodes, no hole either.
    assert Recording.objects.filter(stream=stream).count() == 1
    assert recording_is_whole(part.file.path, wall) >= (up_at - on_air) + 5
