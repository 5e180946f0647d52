"""Security finding 10: guest uploads are limited per hour, an unsized session must fit, and parallel sessions of
one owner cannot overshoot the quota.

The overshoot is tested the way it happens in production: several web processes (two Daphnes on the same
database and Redis) receiving chunks at the same moment. Within one Daphne, Django runs sync views one at a
time, which hides the race.
"""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import models
from django.urls import reverse
from django.utils import timezone

from apps.accounts.tiers import limits_for
from apps.core import ratelimit
from apps.library import guest_views
from apps.library.models import UploadSession
from apps.library.quota import storage_used
from apps.recordings.models import Recording
from apps.streams.seats import SESSION_GUESTS_KEY
from tests.factories import GuestFactory, RecordingFactory, StreamFactory
from tests.support.library import csrf, make_clip, seated

CHUNK = 16 * 1024

pytestmark = pytest.mark.media


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.UPLOAD_CHUNK_BYTES = CHUNK


@pytest.fixture
def guest(user):
    stream = StreamFactory(owner=user, title="Panel", status="live")
    guest = GuestFactory(stream=stream, display_name="Ana", joined_at=timezone.now())
    forget_upload_counters(guest)
    return guest


def forget_upload_counters(*guests) -> None:
    """Hourly counters live in Redis and outlive the test database, whose ids repeat."""
    for guest in guests:
        ratelimit.reset(f"guest-uploads:{guest.pk}", 3600)
        ratelimit.reset(f"uploads:{guest.stream.owner_id}", 3600)


def fill_storage(owner, *, leave: int) -> None:
    """The owner's plan is full but for `leave` bytes (one recording of the right size)."""
    limit = limits_for(owner).storage_bytes
    used = storage_used(owner)
    stream = StreamFactory(owner=owner)
    RecordingFactory(stream=stream, size_bytes=limit - used - leave)
    assert limits_for(owner).storage_bytes - storage_used(owner) == leave


def create(browser, guest):
    return browser.post(
        reverse("library:guest_upload_create", args=[guest.stream_id]),
        data={"filename": "local.webm"},
        content_type="application/json",
        **csrf(browser),
    )


@pytest.mark.django_db
def test_a_guest_may_start_only_so_many_uploads_an_hour(guest):
    browser = seated(guest)
    codes = [create(browser, guest).status_code for _ in range(guest_views.GUEST_UPLOADS_PER_HOUR + 2)]
    assert codes == [201] * guest_views.GUEST_UPLOADS_PER_HOUR + [429, 429]
    assert UploadSession.objects.filter(guest=guest).count() == guest_views.GUEST_UPLOADS_PER_HOUR
    # Another guest of the same show has an hour of their own.
    other = GuestFactory(stream=guest.stream, display_name="Bo", joined_at=timezone.now())
    forget_upload_counters(other)
    assert create(seated(other), other).status_code == 201


@pytest.mark.django_db
def test_a_session_with_no_declared_size_must_fit_a_chunk(guest, user):
    fill_storage(user, leave=CHUNK - 1)
    response = create(seated(guest), guest)
    assert response.status_code == 413, response.content
    assert "Not enough storage" in response.content.decode()
    assert not UploadSession.objects.filter(guest=guest).exists()


@pytest.mark.django_db
def test_a_declared_size_is_reserved_until_the_upload_ends(user):
    from apps.library import services

    fill_storage(user, leave=3 * CHUNK)
    stream = StreamFactory(owner=user, status="live")
    first = services.upload_create(owner=user, purpose="participant", size=2 * CHUNK, stream=stream)
    assert storage_used(user) == limits_for(user).storage_bytes - CHUNK  # reserved, not yet received
    with pytest.raises(Exception, match="Not enough storage"):
        services.upload_create(owner=user, purpose="participant", size=2 * CHUNK, stream=stream)
    services.upload_abort(session=first, by=user)
    services.upload_create(owner=user, purpose="participant", size=2 * CHUNK, stream=stream)


def _at_once(calls: list) -> list[int]:
    """Run each call on its own thread, released together; their status codes."""
    barrier = threading.Barrier(len(calls))
    codes: list[int] = []

    def run(call) -> None:
        barrier.wait(timeout=30)
        codes.append(call())

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return codes


def test_parallel_uploads_on_several_web_processes_cannot_overshoot(web_factory, transactional_db, user, tmp_path):
    from apps.accounts import tokens

    processes = 3
    stream = StreamFactory(owner=user, title="Panel", status="live")
    guest = GuestFactory(stream=stream, display_name="Ana", joined_at=timezone.now())
    env = {"UPLOAD_CHUNK_BYTES": str(CHUNK), "UPLOAD_SPOOL_DIR": str(tmp_path / "spool")}
    servers = [web_factory(extra_env=env) for _ in range(processes)]
    forget_upload_counters(guest)

    # 1. The host starts nine clip uploads at once, each declaring exactly the room left: one fits.
    room = 5 * CHUNK
    fill_storage(user, leave=room)
    bearer = {"Authorization": f"Bearer {tokens.issue_pair(user).access}"}

    def start_clip(server) -> int:
        body = {"purpose": "clip", "size": room, "filename": "intro.mp4"}
        return httpx.post(f"{server.url}/api/v1/uploads/", json=body, headers=bearer, timeout=60).status_code

    codes = _at_once([lambda server=server: start_clip(server) for server in servers * 3])
    assert sorted(codes) == [201] + [413] * 8, codes
    assert storage_used(user) == limits_for(user).storage_bytes
    UploadSession.objects.filter(owner=user).update(status=UploadSession.Status.ABORTED)

    # 2. A guest's nine unsized sessions send their first chunk at once: only what fits is taken.
    session = SessionStore()  # one browser seat, as the join page leaves it, valid on every process
    session[SESSION_GUESTS_KEY] = {str(stream.pk): guest.pk}
    session.create()
    csrf_token = uuid.uuid4().hex
    cookies = {"sessionid": session.session_key, "csrftoken": csrf_token}
    headers = {"X-CSRFToken": csrf_token}
    urls = []
    for server in servers * 3:
        response = httpx.post(
            f"{server.url}/library/guest-uploads/{stream.pk}/",
            json={"filename": "local.webm"},
            cookies=cookies,
            headers=headers,
        )
        assert response.status_code == 201, response.text
        urls.append((server, response.json()["url"]))
    first_chunk = make_clip(tmp_path / "ana.webm", seconds=3, size="320x240", fmt="webm").read_bytes()[:CHUNK]
    assert len(first_chunk) == CHUNK
    Recording.objects.filter(stream__owner=user).update(size_bytes=models.F("size_bytes") + room - 2 * CHUNK)
    assert limits_for(user).storage_bytes - storage_used(user) == 2 * CHUNK

    def send_first(server, url) -> int:
        return httpx.patch(
            f"{server.url}{url}",
            content=first_chunk,
            headers={**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
            cookies=cookies,
            timeout=60,
        ).status_code

    codes = _at_once([lambda pair=pair: send_first(*pair) for pair in urls])
    assert sorted(codes) == [200] * 2 + [413] * 7, codes
    assert storage_used(user) == limits_for(user).storage_bytes
    received = sum(UploadSession.objects.filter(guest=guest).values_list("received_bytes", flat=True))
    assert received == 2 * CHUNK
