"""Local per-participant recording in the real studio: the host (red camera) and a guest (blue camera) on
stage each record their own camera and microphone in the browser while the show is live and upload the
chunks as they go; one of the guest's chunk answers is lost on the way and the upload still completes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from apps.library.models import UploadSession
from apps.recordings.models import Recording
from apps.recordings.tasks import finalize_participant_recording
from tests.support.browser import join_as_guest, open_studio, wait_js
from tests.support.library import ffprobe_json

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.media, pytest.mark.django_db(transaction=True)]

SESSION_SECONDS = 4.0
# Small chunks, so several go out during a 4 s show of solid-colour cameras (a few hundred kB).
CHUNK_BYTES = 16 * 1024

INDICATOR_STATE = """([selector, state]) =>
    [...document.querySelectorAll(selector)].some((box) => box.dataset.state === state)"""
SESSION_MS = """(selector) => Math.max(...[...document.querySelectorAll(selector)].map((b) => Number(b.dataset.sessionMs || 0)))"""
RECORDED_BYTES = """(selector) => Math.max(...[...document.querySelectorAll(selector)].map((b) => Number(b.dataset.recorded || 0)))"""


@pytest.fixture
def recording_web(web_factory, tmp_path):
    return web_factory(extra_env={"UPLOAD_CHUNK_BYTES": str(CHUNK_BYTES), "UPLOAD_SPOOL_DIR": str(tmp_path / "spool")})


def centre_rgb(path: Path, at: float) -> tuple[int, int, int]:
    """The colour of one decoded frame, averaged down to a single pixel."""
    done = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-ss", str(at), "-i", str(path)),
            *("-frames:v", "1", "-vf", "scale=1:1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    r, g, b = done.stdout[:3]
    return r, g, b


def decode_errors(path: Path) -> str:
    """Decode every packet; a chunk stored twice or lost shows up as a demuxer or decoder error."""
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr}"
    # Browser WebM can repeat a timestamp, which only the null muxer minds: not a decoding error.
    return "\n".join(line for line in done.stderr.splitlines() if not line.startswith("[null @"))


def max_volume_db(path: Path) -> float:
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-i", str(path), "-map", "0:a", "-af", "volumedetect", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(x for x in done.stderr.splitlines() if "max_volume:" in x)
    return float(line.split("max_volume:")[1].split("dB")[0])


def test_host_and_guest_record_locally_and_upload_during_the_show(
    livekit, recording_web, browser_for, user, stream, make_invite
):
    web = recording_web
    host, violations = open_studio(browser_for("red"), web, user, stream)
    wait_js(host, "() => document.getElementById('media-state').textContent === 'Camera and microphone on'")

    guest_row, token = make_invite(stream)
    guest = browser_for("blue").new_page(viewport={"width": 1280, "height": 800})
    # The guest's network drops the answer to their second chunk: the server stored it, the browser
    # never heard. The browser retries from where it thinks it is, gets 409 + the server's offset,
    # and carries on from there.
    patches: list[tuple[str, int]] = []  # (Upload-Offset sent, status answered; 0 = answer lost)

    def lossy(route, request):
        if request.method == "PATCH" and len(patches) == 1:
            answer = route.fetch()
            patches.append((request.headers.get("upload-offset", ""), 0))
            assert answer.status == 200
            route.abort("connectionreset")
            return
        if request.method == "PATCH":
            answer = route.fetch()
            patches.append((request.headers.get("upload-offset", ""), answer.status))
            route.fulfill(response=answer)
            return
        route.continue_()

    guest.route("**/library/guest-uploads/session/**", lossy)
    join_as_guest(guest, web, token, "Blue guest")
    guest.click("#join-backstage")
    wait_js(guest, "() => document.getElementById('conn-state').dataset.state === 'open'", what="guest socket")
    host.wait_for_selector(f"#backstage [data-participant='guest-{guest_row.pk}'][data-online='true']")
    host.click(f"#backstage [data-participant='guest-{guest_row.pk}'] [data-action='stage']")
    wait_js(guest, "() => document.getElementById('stage-badge').textContent === 'On stage'", what="guest on stage")
    # Nobody records before the show is live.
    assert host.locator("#local-rec").is_hidden()
    assert UploadSession.objects.count() == 0

    clicked_live = time.monotonic()
    host.click("#go-live")
    host.click("#confirm-ok")
    wait_js(host, INDICATOR_STATE, ["#local-rec", "recording"], what="host recording")
    wait_js(guest, INDICATOR_STATE, ["[data-local-rec]", "recording"], what="guest recording")
    host.wait_for_timeout(SESSION_SECONDS * 1000)  # the show itself, not a wait for an event
    # Chunks went out while the show was running, not only at its end.
    assert int(host.get_attribute("#local-rec", "data-uploaded") or 0) > 0
    host.click("#end-show")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-ended")
    wall_seconds = time.monotonic() - clicked_live

    wait_js(host, INDICATOR_STATE, ["#local-rec", "done"], timeout=30, what="host upload finished")
    wait_js(guest, INDICATOR_STATE, ["[data-local-rec]", "done"], timeout=60, what="guest upload finished")
    recorded = {
        "host": host.evaluate(RECORDED_BYTES, "#local-rec"),
        "guest": guest.evaluate(RECORDED_BYTES, "[data-local-rec]"),
    }
    # Each person's session as their page saw it: from the show going live (they were on stage)
    # to its end. Within what the test saw, and at least the time it let the show run.
    sessions = {
        "host": host.evaluate(SESSION_MS, "#local-rec") / 1000,
        "guest": guest.evaluate(SESSION_MS, "[data-local-rec]") / 1000,
    }
    for seconds in sessions.values():
        assert SESSION_SECONDS <= seconds <= wall_seconds, (sessions, wall_seconds)

    # The lost answer was followed by a resend at the old offset, refused with the server's offset (409).
    lost = next(i for i, (_offset, status) in enumerate(patches) if status == 0)
    assert patches[lost + 1] == (patches[lost][0], 409), patches
    assert all(status == 200 for _offset, status in patches[lost + 2 :]), patches

    uploads = {
        "host": UploadSession.objects.get(stream=stream, guest__isnull=True),
        "guest": UploadSession.objects.get(stream=stream, guest=guest_row),
    }
    assert all(u.status == UploadSession.Status.COMPLETE and u.owner == user for u in uploads.values())
    recordings = {who: Recording.objects.get(pk=u.recording_id or 0, kind="participant") for who, u in uploads.items()}
    assert Recording.objects.filter(stream=stream, kind="participant").count() == 2
    assert recordings["host"].title == f"{user.username} (local)"
    assert recordings["guest"].title == "Blue guest (local)"
    colours = {"host": "red", "guest": "blue"}
    for who, recording in recordings.items():
        path = Path(recording.file.path)
        # Byte-complete: every byte MediaRecorder produced is in the file, once, in order.
        assert recording.size_bytes == path.stat().st_size == recorded[who] > 2 * CHUNK_BYTES, who
        assert decode_errors(path) == "", who

        assert finalize_participant_recording(recording.pk) is True
        recording.refresh_from_db()
        info = ffprobe_json(Path(recording.file.path))
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == (640, 360), who
        assert any(s["codec_type"] == "audio" for s in info["streams"]), who
        assert float(info["format"]["duration"]) == pytest.approx(sessions[who], abs=1.0), (
            who,
            [(x["codec_type"], x.get("start_time"), x.get("duration"), x.get("tags")) for x in info["streams"]],
            info["format"],
        )
        assert max_volume_db(Path(recording.file.path)) > -40.0, who  # Chromium's fake microphone beeps
        r, g, b = centre_rgb(Path(recording.file.path), float(info["format"]["duration"]) / 2)
        if colours[who] == "red":
            assert r > 170 and g < 90 and b < 90, (who, (r, g, b))
        else:
            assert b > 170 and r < 90 and g < 90, (who, (r, g, b))

    # The creator finds both files with the show on /recordings/.
    host.goto(f"{web.url}/recordings/")
    show = host.locator(f"#show-{stream.pk}")
    for recording in recordings.values():
        assert show.locator(f"#recording-{recording.pk}").count() == 1
    assert "Blue guest (local)" in show.inner_text()
    assert violations == []


def test_leaving_the_stage_finishes_the_file_and_coming_back_starts_another(
    livekit, recording_web, browser_for, user, stream
):
    web = recording_web
    host, violations = open_studio(browser_for("red"), web, user, stream)
    wait_js(host, "() => document.getElementById('media-state').textContent === 'Camera and microphone on'")
    host.click("#go-live")
    host.click("#confirm-ok")
    wait_js(host, INDICATOR_STATE, ["#local-rec", "recording"], what="host recording")
    host.wait_for_timeout(1500)  # a short first take

    host.click(f"#on-stage [data-participant='host-{user.pk}'] button")  # step off stage
    wait_js(host, INDICATOR_STATE, ["#local-rec", "done"], timeout=30, what="first file uploaded")
    first = UploadSession.objects.get(stream=stream)
    assert first.status == UploadSession.Status.COMPLETE

    host.click(f"#backstage [data-participant='host-{user.pk}'] button")  # back on stage
    wait_js(host, INDICATOR_STATE, ["#local-rec", "recording"], what="second take recording")
    host.wait_for_timeout(1500)
    host.click("#end-show")
    host.click("#confirm-ok")
    wait_js(host, INDICATOR_STATE, ["#local-rec", "done"], timeout=30, what="second file uploaded")

    uploads = list(UploadSession.objects.filter(stream=stream).order_by("created_at"))
    assert [u.status for u in uploads] == [UploadSession.Status.COMPLETE] * 2
    assert len({u.recording_id for u in uploads}) == 2
    for upload in uploads:
        recording = Recording.objects.get(pk=upload.recording_id or 0)
        assert decode_errors(Path(recording.file.path)) == ""
    assert violations == []
