"""STORAGE=s3: the show's recording is uploaded to the bucket with the multipart API at stop."""

from __future__ import annotations

import pytest

from apps.recordings.models import Recording
from apps.streams import broadcast
from tests.broadcast.test_show import ShowThread, live_stream
from tests.support.rtmp import decode_all, wait_for
from tests.support.s3 import BUCKET

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
    broadcast.broadcast_stop(stream=stream, by=stream.owner)
    show.join(15)
    assert show.outcome == "stopped"

    recording = Recording.objects.get(stream=stream)
    head = s3.head_object(Bucket=BUCKET, Key=recording.file.name)
    # A multipart upload's ETag is "<md5 of part md5s>-<number of parts>".
    assert head["ETag"].strip('"').endswith("-1"), head["ETag"]
    assert head["ContentLength"] == recording.size_bytes > 0

    # What is in the bucket is the whole show and decodes end to end.
    local = tmp_path / "from-bucket.mp4"
    s3.download_file(BUCKET, recording.file.name, str(local))
    assert decode_all(local) >= 2.5 * 30
    assert recording.duration_seconds >= 2.5
    assert (recording.width, recording.height) == (854, 480)
