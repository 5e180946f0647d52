"""PostgreSQL restarted during a show: the show goes on; a write made meanwhile is refused with a plain message and
leaves nothing behind; made again once the database is back, it takes effect (on air too).

A real media worker (Celery, as the Procfile starts it) runs the show; a real web process (Daphne) takes the
host's API calls; the database is the test run's own PostgreSQL, stopped (fast: every session cut) for
DOWN_SECONDS and started again. The ingest (nginx-rtmp, its on_publish hooks logged) shows whether the push
ever stopped; what it received and the recording are decoded.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.rest import DATABASE_UNAVAILABLE
from apps.destinations.models import StreamDestination
from apps.recordings.models import Recording
from apps.shows import services as shows
from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory
from tests.support.postgres import RunPostgres
from tests.support.rtmp import decode_all, wait_for

from .conftest import ingest_kept_the_clock, recording_is_whole

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]

KEY = "through-the-restart"
DOWN_SECONDS = 10.0


@pytest.fixture
def postgres():
    server = RunPostgres()
    yield server
    if not (server.data / "postmaster.pid").exists():
        server.start()  # whatever happened, the rest of the run has its database


def call(url: str, *, method: str = "GET", token: str | None = None, body: dict | None = None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_postgres_restarted_mid_show(postgres, web_factory, media_workers, rtmp_servers, user, settings):
    settings.BROADCAST_SOURCE = "test_scene"
    main, backup = rtmp_servers(2, publishes=True)
    web = web_factory()
    (worker,) = media_workers(1)
    stream = StreamFactory(
        owner=user,
        resolution="480p",
        fps=24,
        video_bitrate_kbps=400,
        audio_bitrate_kbps=64,
        recording_enabled=True,
        recording_format="mp4",
    )
    DestinationFactory(stream=stream, rtmp_url=main.url, stream_key=KEY)
    token = str(AccessToken.for_user(user))
    add_backup = {"platform": "custom", "name": "Backup", "rtmp_url": backup.url, "stream_key": "backup-key"}
    destinations_url = web.url + reverse("api-stream-destinations", kwargs={"pk": stream.pk})

    shows.show_go_live(stream=stream, by=user)
    on_air = main.publishes.wait("publish", KEY, 1, timeout=60)
    flv = main.wait_for_publish(KEY, timeout=30)
    wait_for(lambda: time.monotonic() - on_air >= 4, 10)

    down_at = postgres.stop()
    try:
        # Meanwhile the host adds a destination: refused, plainly, and retryable.
        status, headers, body = call(destinations_url, method="POST", token=token, body=add_backup)
        assert status == 503, body
        assert json.loads(body) == {"detail": DATABASE_UNAVAILABLE}
        assert headers.get("Retry-After") == "5"
        assert call(f"{web.url}/healthz")[0] == 200
        assert call(f"{web.url}/readyz")[0] == 503
        # The outage lasts DOWN_SECONDS: its length is the fault itself, not an event to await.
        wait_for(lambda: time.monotonic() - down_at >= DOWN_SECONDS, DOWN_SECONDS + 5, interval=0.5)
    finally:
        up_at = postgres.start()
    assert worker.running_show(), "the show stopped with the database"
    assert not StreamDestination.objects.filter(stream=stream, name="Backup").exists(), "half-written"

    # Back: the web process answers again, and the same write now takes effect, once, and on air.
    wait_for(lambda: call(f"{web.url}/readyz")[0] == 200, 20, interval=0.5, message="/readyz did not recover")
    status, _headers, body = call(destinations_url, method="POST", token=token, body=add_backup)
    assert status == 201, body
    assert StreamDestination.objects.filter(stream=stream, name="Backup").count() == 1
    backup.publishes.wait("publish", "backup-key", 1, timeout=20)
    backup_flv = backup.wait_for_publish("backup-key", timeout=20)

    wait_for(lambda: time.monotonic() - up_at >= 5, 10)
    shows.show_end(stream=Stream.objects.get(pk=stream.pk), by=user)
    main.publishes.wait("publish_done", KEY, 1, timeout=30)
    ended_at = time.monotonic()
    part = wait_for(
        lambda: Recording.objects.filter(stream=stream, kind=Recording.Kind.PROGRAM).first(),
        30,
        message="the recording was not stored",
    )

    # At the ingest: one connection all along, media time matching the wall time, no hole over the restart.
    assert main.publishes.count("publish", KEY) == 1, "the push restarted over the database restart"
    media, wall = ingest_kept_the_clock(main, KEY, flv, ended_at)
    assert media >= (up_at - on_air) + 4
    assert decode_all(backup_flv) > 0

    # The recording: one part, the whole show, every picture decodes, no hole.
    assert Recording.objects.filter(stream=stream).count() == 1
    recording_is_whole(part.file.path, wall)
