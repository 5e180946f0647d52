"""Resumable chunked uploads: interrupted and resumed, byte-identical; refusals before anything is stored."""

from __future__ import annotations

import hashlib
import os

import pytest
from django.urls import reverse

from apps.accounts.tiers import GiB
from apps.library.models import MediaClip, UploadSession
from tests.factories import RecordingFactory, StreamFactory
from tests.support.library import make_clip, stored_files

CHUNK = 16 * 1024


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.UPLOAD_CHUNK_BYTES = CHUNK


def create(api, size, **extra):
    return api.post(reverse("api-upload-list"), {"purpose": "clip", "size": size, **extra}, format="json")


def patch(api, upload_id, offset, data, **headers):
    return api.generic(
        "PATCH",
        reverse("api-upload-detail", args=[upload_id]),
        data=data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    )


def head_offset(api, upload_id) -> int:
    response = api.head(reverse("api-upload-detail", args=[upload_id]))
    assert response.status_code == 200
    return int(response["Upload-Offset"])


def test_interrupted_upload_resumes_and_assembles_byte_identical(
    user_api, user, tmp_path, settings, django_capture_on_commit_callbacks
):
    source = make_clip(tmp_path / "talk.mp4", seconds=3, size="640x360").read_bytes()
    assert len(source) > 3 * CHUNK
    created = create(user_api, len(source), filename="talk.mp4", title="Talk")
    assert created.status_code == 201, created.content
    upload_id = created.json()["id"]
    assert created.json()["chunk_size"] == CHUNK

    # First two chunks arrive, then the connection drops.
    for offset in (0, CHUNK):
        assert patch(user_api, upload_id, offset, source[offset : offset + CHUNK]).status_code == 200
    # A retry of a chunk the server already holds is answered with where to continue.
    stale = patch(user_api, upload_id, 0, source[:CHUNK])
    assert stale.status_code == 409
    assert stale["Upload-Offset"] == str(2 * CHUNK)
    # A chunk from a later offset (one was lost) is refused too: no hole in the file.
    assert patch(user_api, upload_id, 3 * CHUNK, source[3 * CHUNK : 4 * CHUNK]).status_code == 409

    # "Later": the client asks where it stands and continues from there.
    offset = head_offset(user_api, upload_id)
    assert offset == 2 * CHUNK
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        while offset < len(source):
            response = patch(user_api, upload_id, offset, source[offset : offset + CHUNK])
            assert response.status_code == 200, response.content
            offset = response.json()["offset"]

    session = UploadSession.objects.get(pk=upload_id)
    assert session.status == UploadSession.Status.COMPLETE
    clip = MediaClip.objects.get(pk=session.clip_id)
    assert (clip.owner, clip.title, clip.status) == (user, "Talk", MediaClip.Status.PENDING)
    with clip.original.open("rb") as f:
        assembled = f.read()
    assert hashlib.sha256(assembled).hexdigest() == hashlib.sha256(source).hexdigest()
    assert not list(settings.UPLOAD_SPOOL_DIR.iterdir())  # the spool was moved into storage
    assert len(callbacks) == 1  # processing is enqueued once the row is committed


def test_chunks_of_the_wrong_size_are_refused(user_api):
    upload_id = create(user_api, 3 * CHUNK).json()["id"]
    header = make_clip_header()
    response = patch(user_api, upload_id, 0, header + b"\x00" * (CHUNK // 2))
    assert response.status_code == 400
    assert "chunks of" in response.json()["chunk"][0]
    assert head_offset(user_api, upload_id) == 0


def make_clip_header() -> bytes:
    return b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


def test_someone_elses_upload_is_404(user_api, other_user):
    from rest_framework.test import APIClient

    upload_id = create(user_api, CHUNK).json()["id"]
    theirs = APIClient()
    theirs.force_authenticate(other_user)
    assert theirs.head(reverse("api-upload-detail", args=[upload_id])).status_code == 404
    assert patch(theirs, upload_id, 0, make_clip_header() + b"\x00" * (CHUNK - 32)).status_code == 404


HLS_PLAYLIST = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{canary}\n#EXT-X-ENDLIST\n"
FFCONCAT = b"ffconcat version 1.0\nfile '{canary}'\nfile '/etc/passwd'\n"


@pytest.mark.parametrize("template", [HLS_PLAYLIST, FFCONCAT], ids=["hls", "ffconcat"])
def test_playlists_pointing_at_local_files_are_refused_before_any_probe(
    user_api, settings, tmp_path, logged_ffprobe, template
):
    canary = tmp_path / "canary.ts"
    canary.write_bytes(b"secret")
    before = os.stat(canary)
    payload = template.replace(b"{canary}", str(canary).encode())
    upload_id = create(user_api, len(payload), filename="video.mp4").json()["id"]

    response = patch(user_api, upload_id, 0, payload)

    assert response.status_code == 415
    assert "not a video" in response.json()["file"][0]
    assert UploadSession.objects.get(pk=upload_id).status == UploadSession.Status.ABORTED
    assert not MediaClip.objects.exists()
    assert stored_files(settings.MEDIA_ROOT) == []
    assert list(settings.UPLOAD_SPOOL_DIR.iterdir()) == []
    # Refused from its first bytes: ffprobe never ran, so nothing could open the canary.
    assert logged_ffprobe.read_text() == ""
    assert os.stat(canary).st_atime_ns == before.st_atime_ns
    # And the session is dead: more chunks are not accepted.
    assert patch(user_api, upload_id, 0, payload).status_code == 410


def test_quota_exceeded_is_a_clear_message(user_api, user, settings):
    response = create(user_api, 6 * GiB)

    assert response.status_code == 413
    message = response.json()["size"][0]
    assert "Not enough storage" in message and "5.0 GB" in message and "Free plan" in message
    assert not UploadSession.objects.exists()


def test_quota_counts_recordings_clips_and_assets(user_api, user):
    stream = StreamFactory(owner=user)
    RecordingFactory(stream=stream, size_bytes=5 * GiB - 100)
    assert create(user_api, 50).status_code == 201
    # The 50-byte session above holds its declared size from the start: 51 more do not fit, 50 do.
    response = create(user_api, 51)
    assert response.status_code == 413
    assert "Delete recordings or clips" in response.json()["size"][0]
    assert create(user_api, 50).status_code == 201


def test_quota_is_enforced_while_chunks_arrive(user_api, user):
    """A declared size is held from the start; an unsized recording is checked chunk by chunk as it grows."""
    stream = StreamFactory(owner=user, status="live")
    sized = create(user_api, 2 * CHUNK).json()["id"]
    unsized = create(user_api, None, purpose="participant", stream=stream.pk, filename="me.mp4").json()["id"]
    RecordingFactory(stream=stream, size_bytes=5 * GiB - 3 * CHUNK)  # the disk filled up meanwhile
    header = make_clip_header() + b"\x00" * (CHUNK - 32)
    assert patch(user_api, unsized, 0, header).status_code == 200  # the last chunk that fits
    response = patch(user_api, unsized, CHUNK, b"\x00" * CHUNK)
    assert response.status_code == 413
    assert "Not enough storage" in response.json()["file"][0]
    # The sized upload still gets the room it was promised.
    assert patch(user_api, sized, 0, header).status_code == 200
    assert patch(user_api, sized, CHUNK, b"\x00" * CHUNK).status_code == 200


def test_cancel_drops_the_spool(user_api, settings):
    upload_id = create(user_api, 2 * CHUNK).json()["id"]
    patch(user_api, upload_id, 0, make_clip_header() + b"\x00" * (CHUNK - 32))
    assert len(list(settings.UPLOAD_SPOOL_DIR.iterdir())) == 1
    assert user_api.delete(reverse("api-upload-detail", args=[upload_id])).status_code == 204
    assert list(settings.UPLOAD_SPOOL_DIR.iterdir()) == []


def test_abandoned_uploads_are_swept(user_api, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.library.tasks import sweep_stale_uploads

    old_id = create(user_api, 2 * CHUNK).json()["id"]
    patch(user_api, old_id, 0, make_clip_header() + b"\x00" * (CHUNK - 32))
    fresh_id = create(user_api, 2 * CHUNK).json()["id"]
    UploadSession.objects.filter(pk=old_id).update(updated_at=timezone.now() - timedelta(days=2))

    assert sweep_stale_uploads() == 1

    assert UploadSession.objects.get(pk=old_id).status == UploadSession.Status.ABORTED
    assert UploadSession.objects.get(pk=fresh_id).status == UploadSession.Status.ACTIVE
    assert [p.name for p in settings.UPLOAD_SPOOL_DIR.iterdir()] == [f"{fresh_id}.part"]


def test_starting_uploads_is_rate_limited(user_api, monkeypatch):
    from apps.library import services

    monkeypatch.setattr(services, "UPLOADS_PER_HOUR", 2)
    answers = [create(user_api, 100).status_code for _ in range(3)]

    assert answers[-1] == 429
    assert UploadSession.objects.count() == answers.count(201) <= 2
