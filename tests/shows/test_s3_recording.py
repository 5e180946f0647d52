"""STORAGE=s3: the show's recording is uploaded to the bucket with the multipart API at stop."""

from __future__ import annotations

import pytest

from apps.recordings.models import Recording
from apps.shows import services as shows
from tests.support.rtmp import decode_all, packet_times, wait_for
from tests.support.s3 import BUCKET
from tests.support.shows import ShowThread, live_stream

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _show_settings(settings, tmp_path):
    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    settings.BROADCAST_X264_PRESET = "ultrafast"


def test_recording_goes_to_the_bucket_in_parts(s3, tmp_path):
    stream = live_stream()
    show = ShowThread(stream.pk)
    show.start()
    assert show.started.wait(20)
    wait_for(lambda: show.session.frames_encoded >= 3 * 30, 20)
    shows.show_end(stream=stream, by=stream.owner)
    show.join(15)
    assert show.outcome == "ended"

    recording = Recording.objects.get(stream=stream)
    head = s3.head_object(Bucket=BUCKET, Key=recording.file.name)
    # A multipart upload's ETag is "<md5 of part md5s>-<number of parts>".
    assert head["ETag"].strip('"').endswith("-1"), head["ETag"]
    assert head["ContentLength"] == recording.size_bytes > 0

    # What is in the bucket is the whole show and decodes end to end.
    local = tmp_path / "from-bucket.mp4"
    s3.download_file(BUCKET, recording.file.name, str(local))
    pictures = packet_times(local)
    assert decode_all(local) == len(pictures) and pictures[-1] >= recording.duration_seconds - 0.5
    assert recording.duration_seconds >= 2.5
    assert (recording.width, recording.height) == (854, 480)
