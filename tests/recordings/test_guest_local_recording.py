"""Studio guests (no account) upload their own local recording; it lands in the host's stream and storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.library.models import UploadSession
from apps.recordings.models import Recording
from tests.factories import GuestFactory, StreamFactory
from tests.support.library import csrf, make_clip, seated

CHUNK = 16 * 1024
pytestmark = pytest.mark.media


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.UPLOAD_CHUNK_BYTES = CHUNK


def send(browser, url, offset, data, total=None):
    extra = {"HTTP_UPLOAD_OFFSET": str(offset), **csrf(browser)}
    if total is not None:
        extra["HTTP_UPLOAD_LENGTH"] = str(total)
    return browser.generic("PATCH", url, data=data, content_type="application/offset+octet-stream", **extra)


@pytest.fixture
def guest(user):
    stream = StreamFactory(owner=user, title="Panel", status="live")
    return GuestFactory(stream=stream, display_name="Ana", joined_at=timezone.now())


def test_guest_uploads_a_local_recording_into_the_hosts_stream(guest, user, tmp_path):
    data = make_clip(tmp_path / "ana.webm", seconds=2, size="320x240", fmt="webm").read_bytes()
    browser = seated(guest)

    created = browser.post(
        reverse("library:guest_upload_create", args=[guest.stream_id]),
        data={"filename": "local.webm"},
        content_type="application/json",
        **csrf(browser),
    )

    assert created.status_code == 201, created.content
    url = created.json()["url"]
    offset = 0
    while offset < len(data):
        chunk = data[offset : offset + CHUNK]
        last = offset + len(chunk) == len(data)
        response = send(browser, url, offset, chunk, total=len(data) if last else None)
        assert response.status_code == 200, response.content
        offset = response.json()["offset"]
    assert int(browser.head(url)["Upload-Offset"]) == len(data)

    session = UploadSession.objects.get(pk=created.json()["id"])
    recording = Recording.objects.get(pk=session.recording_id)
    assert (recording.stream, recording.kind, recording.title) == (guest.stream, "participant", "Ana (local)")
    assert session.owner == user  # counts against the host's storage
    assert Path(recording.file.path).read_bytes() == data


def test_guest_writes_need_the_csrf_token(guest):
    browser = seated(guest)
    response = browser.post(
        reverse("library:guest_upload_create", args=[guest.stream_id]),
        data={"filename": "local.webm"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not UploadSession.objects.exists()


def test_strangers_and_other_guests_cannot_use_a_guest_upload(guest):
    owner_browser = seated(guest)
    created = owner_browser.post(
        reverse("library:guest_upload_create", args=[guest.stream_id]),
        data={"filename": "local.webm"},
        content_type="application/json",
        **csrf(owner_browser),
    ).json()

    stranger = Client()
    assert stranger.head(created["url"]).status_code == 404
    assert (
        stranger.post(
            reverse("library:guest_upload_create", args=[guest.stream_id]), data={}, content_type="application/json"
        ).status_code
        == 404
    )

    other = seated(GuestFactory(stream=guest.stream, display_name="Bo", joined_at=timezone.now()))
    assert other.head(created["url"]).status_code == 404
    header = b"\x1a\x45\xdf\xa3" + b"\x00" * (CHUNK - 4)
    assert send(other, created["url"], 0, header).status_code == 404

    # A revoked seat loses access to its own upload too.
    guest.revoked_at = timezone.now()
    guest.save()
    assert owner_browser.head(created["url"]).status_code == 404
