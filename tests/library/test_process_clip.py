"""The probe/normalise job on real clips made by FFmpeg: mezzanine checked by decoding it with ffprobe."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files import File
from django.urls import reverse
from PIL import Image

from apps.library import media
from apps.library.models import MediaClip
from apps.library.tasks import process_clip
from tests.support.library import ffprobe_json, make_clip, stored_files

pytestmark = pytest.mark.media


def new_clip(user, path: Path, title: str = "Clip") -> MediaClip:
    clip = MediaClip(owner=user, title=title, size_bytes=path.stat().st_size)
    with open(path, "rb") as handle:
        clip.original.save(f"source{path.suffix}", File(handle), save=False)
    clip.save()
    return clip


def test_clip_is_normalised_to_the_mezzanine_with_a_thumbnail(user, tmp_path, settings, logged_ffprobe):
    source = make_clip(tmp_path / "in.mp4", seconds=2, size="640x360", rate=25)
    clip = new_clip(user, source, "Intro")

    assert process_clip(clip.pk) is True  # the Celery task, run in this process
    assert process_clip(clip.pk) is False  # already claimed: a second worker does nothing

    clip.refresh_from_db()
    assert clip.status == MediaClip.Status.READY, clip.error
    assert clip.progress == 1.0
    assert not clip.original  # dropped: only the mezzanine counts against the quota
    info = ffprobe_json(Path(clip.mezzanine.path))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert info["format"]["format_name"].startswith("mov,mp4")
    assert (video["codec_name"], video["width"], video["height"], video["pix_fmt"]) == ("h264", 640, 360, "yuv420p")
    assert video["avg_frame_rate"] == "30/1"  # fixed frame rate, whatever came in
    assert (audio["codec_name"], int(audio["sample_rate"]), audio["channels"]) == ("aac", 48000, 2)
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.15)
    assert (clip.width, clip.height, clip.fps) == (640, 360, 30.0)
    assert clip.duration_seconds == pytest.approx(2.0, abs=0.15)
    assert clip.size_bytes == clip.mezzanine.size + clip.thumbnail.size
    thumb = Image.open(clip.thumbnail.path)
    assert (thumb.format, thumb.size) == ("JPEG", (320, 180))
    # ffprobe ran with the whitelist, a forced demuxer and capped probing, on every call.
    calls = logged_ffprobe.read_text().splitlines()
    assert calls
    for call in calls:
        assert "-protocol_whitelist file" in call
        assert "-f mov" in call
        assert f"-probesize {media.PROBE_SIZE}" in call
        assert "-enable_drefs 0" in call


def test_large_clip_is_scaled_to_1080_lines_and_silent_clip_gets_audio(user, tmp_path):
    source = make_clip(tmp_path / "big.webm", seconds=1, size="2560x1440", rate=24, audio=False, fmt="webm")
    clip = new_clip(user, source)

    process_clip(clip.pk)

    clip.refresh_from_db()
    assert clip.status == MediaClip.Status.READY, clip.error
    info = ffprobe_json(Path(clip.mezzanine.path))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (1920, 1080)
    assert [s["codec_name"] for s in info["streams"] if s["codec_type"] == "audio"] == ["aac"]
    assert clip.source_format == "matroska,webm"


def test_truncated_mp4_fails_with_a_clear_message_and_nothing_kept(user, tmp_path, settings):
    whole = make_clip(tmp_path / "whole.mp4", seconds=2).read_bytes()
    cut = tmp_path / "cut.mp4"
    # moov is at the end without faststart: keep the header and half the media data.
    cut.write_bytes(whole[: len(whole) // 2])
    clip = new_clip(user, cut)

    process_clip(clip.pk)

    clip.refresh_from_db()
    assert clip.status == MediaClip.Status.FAILED
    assert "damaged or incomplete" in clip.error
    assert clip.size_bytes == 0
    assert stored_files(settings.MEDIA_ROOT) == []


def test_audio_only_file_is_not_video(user, tmp_path, settings):
    audio = tmp_path / "song.m4a"
    import subprocess

    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            "1",
            "-c:a",
            "aac",
            "-f",
            "mp4",
            str(audio),
        ],
        check=True,
    )
    clip = new_clip(user, audio)

    process_clip(clip.pk)

    clip.refresh_from_db()
    assert clip.status == MediaClip.Status.FAILED
    assert clip.error == "The file has no video track."
    assert stored_files(settings.MEDIA_ROOT) == []


def test_too_long_clip_is_refused(user, tmp_path, settings):
    settings.LIBRARY_MAX_CLIP_SECONDS = 1
    clip = new_clip(user, make_clip(tmp_path / "long.mp4", seconds=2))

    process_clip(clip.pk)

    clip.refresh_from_db()
    assert clip.status == MediaClip.Status.FAILED
    assert "clips may be at most" in clip.error and "long" in clip.error


@pytest.mark.parametrize(
    "content",
    [b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n", b"ffconcat version 1.0\nfile '/etc/passwd'\n", b"<html></html>"],
)
def test_probe_refuses_playlists_without_running_ffprobe(tmp_path, logged_ffprobe, content):
    path = tmp_path / "x.mp4"
    path.write_bytes(content)
    with pytest.raises(media.MediaError, match="not a video"):
        media.probe(path)
    assert logged_ffprobe.read_text() == ""


def test_mp4_container_whose_content_is_not_allowed_is_refused(tmp_path):
    # An ftyp box in front of a playlist: the forced mov demuxer reads it as (broken) MP4, never as HLS.
    path = tmp_path / "x.mp4"
    path.write_bytes(b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom" + b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n")
    with pytest.raises(media.MediaError):
        media.probe(path)


def test_library_page_lists_clips_with_progress_and_player(user_client, user, tmp_path):
    ready = new_clip(user, make_clip(tmp_path / "a.mp4", seconds=1), "Ready one")
    process_clip(ready.pk)
    waiting = MediaClip.objects.create(owner=user, title="Waiting one", progress=0.4, status="processing")

    page = user_client.get(reverse("library:clips")).content.decode()

    assert "Ready one" in page and "Waiting one" in page
    assert f'src="{reverse("library:clip_video", args=[ready.pk])}"' in page
    assert 'value="40"' in page  # the progress bar of the processing clip
    assert f'hx-get="{reverse("library:clip_row", args=[waiting.pk])}"' in page
    assert 'id="quota-meter"' in page

    video = user_client.get(reverse("library:clip_video", args=[ready.pk]), HTTP_RANGE="bytes=0-99")
    assert video.status_code == 206
    assert video["Content-Type"] == "video/mp4"
    assert len(b"".join(video.streaming_content)) == 100


def test_rename_and_delete_a_clip_from_the_page(
    user_client, user, tmp_path, settings, django_capture_on_commit_callbacks
):
    clip = new_clip(user, make_clip(tmp_path / "b.mp4", seconds=1), "Old name")
    process_clip(clip.pk)
    thumb = user_client.get(reverse("library:clip_thumbnail", args=[clip.pk]))
    assert (thumb.status_code, thumb["Content-Type"], thumb["X-Content-Type-Options"]) == (200, "image/jpeg", "nosniff")

    row = user_client.post(
        reverse("library:clip_rename", args=[clip.pk]), {"title": "New name"}, HTTP_HX_REQUEST="true"
    )
    assert row.status_code == 200 and "New name" in row.content.decode()
    clip.refresh_from_db()
    assert clip.title == "New name"

    with django_capture_on_commit_callbacks(execute=True):
        user_client.post(reverse("library:clip_delete", args=[clip.pk]), HTTP_HX_REQUEST="true")
    assert not MediaClip.objects.filter(pk=clip.pk).exists()
    assert stored_files(settings.MEDIA_ROOT) == []
