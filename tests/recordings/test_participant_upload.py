"""Local per-participant recordings (server side): chunks of a growing WebM, resumable, assembled into a
Recording of kind "participant" that plays and seeks (duration written by the finalize job)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from apps.library.models import UploadSession
from apps.recordings.models import Recording
from apps.recordings.tasks import finalize_participant_recording
from tests.factories import StreamFactory
from tests.support.library import ffprobe_json

CHUNK = 16 * 1024
pytestmark = pytest.mark.media


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.UPLOAD_CHUNK_BYTES = CHUNK


def browser_like_webm(path: Path, seconds: float) -> bytes:
    """WebM written live, like MediaRecorder: no duration, no cues."""
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"),
            *("-f", "lavfi", "-i", "sine", "-t", str(seconds), "-c:v", "libvpx", "-deadline", "realtime"),
            *("-c:a", "libopus", "-live", "1", "-f", "webm", str(path)),
        ],
        check=True,
        timeout=120,
    )
    return path.read_bytes()


def patch(api, upload_id, offset, data, **extra):
    return api.generic(
        "PATCH",
        reverse("api-upload-detail", args=[upload_id]),
        data=data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **extra,
    )


def test_growing_recording_uploads_during_the_show_and_becomes_a_seekable_recording(
    user_api, user, user_client, tmp_path, django_capture_on_commit_callbacks
):
    stream = StreamFactory(owner=user, title="Live Q&A")
    data = browser_like_webm(tmp_path / "ana.webm", seconds=3)
    assert "duration" not in ffprobe_json(tmp_path / "ana.webm")["format"]
    created = user_api.post(
        reverse("api-upload-list"),
        {"purpose": "participant", "stream": stream.pk, "filename": "ana.webm", "title": "Ana (local)"},
        format="json",
    )
    assert created.status_code == 201, created.content
    upload_id = created.json()["id"]
    assert created.json()["size"] is None  # still recording: the length comes with the last chunk

    offset = 0
    # Full chunks while the show runs; a network drop after the second one.
    for _ in range(2):
        assert patch(user_api, upload_id, offset, data[offset : offset + CHUNK]).status_code == 200
        offset += CHUNK
    assert int(user_api.head(reverse("api-upload-detail", args=[upload_id]))["Upload-Offset"]) == offset
    assert patch(user_api, upload_id, 0, data[:CHUNK]).status_code == 409
    with django_capture_on_commit_callbacks(execute=False):
        while offset < len(data):
            chunk = data[offset : offset + CHUNK]
            last = offset + len(chunk) == len(data)
            extra = {"HTTP_UPLOAD_LENGTH": str(len(data))} if last else {}
            response = patch(user_api, upload_id, offset, chunk, **extra)
            assert response.status_code == 200, response.content
            offset = response.json()["offset"]

    session = UploadSession.objects.get(pk=upload_id)
    assert session.status == UploadSession.Status.COMPLETE
    recording = Recording.objects.get(pk=session.recording_id)
    assert (recording.kind, recording.stream, recording.title, recording.format) == (
        "participant",
        stream,
        "Ana (local)",
        "webm",
    )
    assert recording.file.read() == data
    recording.file.close()

    assert finalize_participant_recording(recording.pk) is True

    recording.refresh_from_db()
    info = ffprobe_json(Path(recording.file.path))
    assert float(info["format"]["duration"]) == pytest.approx(3.0, abs=0.2)
    assert recording.duration_seconds == pytest.approx(3.0, abs=0.2)
    assert (recording.width, recording.height) == (320, 240)
    assert recording.size_bytes == recording.file.size
    page = user_client.get(reverse("recordings:list")).content.decode()
    assert "Ana (local)" in page and "Live Q&amp;A" in page


def test_participant_upload_must_be_the_declared_container(user_api, user, settings):
    stream = StreamFactory(owner=user)
    upload_id = user_api.post(
        reverse("api-upload-list"), {"purpose": "participant", "stream": stream.pk, "filename": "a.webm"}, format="json"
    ).json()["id"]
    mp4_header = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    response = patch(user_api, upload_id, 0, mp4_header + b"\x00" * 100, HTTP_UPLOAD_LENGTH=str(len(mp4_header) + 100))
    assert response.status_code == 415
    assert not Recording.objects.exists()


def test_participant_upload_needs_your_own_stream(user_api, other_user):
    theirs = StreamFactory(owner=other_user)
    response = user_api.post(
        reverse("api-upload-list"), {"purpose": "participant", "stream": theirs.pk, "filename": "a.webm"}, format="json"
    )
    # A field error, worded as for a stream that does not exist: someone else's id reveals nothing.
    assert response.status_code == 400
    assert list(response.json()) == ["stream"] and "does not exist" in response.json()["stream"][0]
