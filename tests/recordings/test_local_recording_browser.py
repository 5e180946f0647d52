"""A headless-Chromium participant records its fake camera with MediaRecorder (upload_recorder.js) and
uploads chunks during the session; the chunks assemble into a playable file whose duration matches."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apps.recordings.models import Recording
from apps.recordings.tasks import finalize_participant_recording
from tests.factories import DEFAULT_PASSWORD, StreamFactory
from tests.support.library import ffprobe_json

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
SESSION_SECONDS = 4.0


@pytest.fixture
def camera_page(monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
            ],
        )
        page = browser.new_context().new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors  # type: ignore[attr-defined]
        yield page
        browser.close()


def test_local_recording_uploads_while_recording_and_matches_the_session(camera_page, web_factory, user):
    # Small chunks so several go out while the participant is still recording.
    server = web_factory(extra_env={"UPLOAD_CHUNK_BYTES": str(32 * 1024)})
    stream = StreamFactory(owner=user, title="Panel")
    page = camera_page
    page.goto(f"{server.url}/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{server.url}/")
    page.goto(f"{server.url}/recordings/")
    page.add_script_tag(url=f"{server.url}/static/dist/upload_recorder.js")

    page.evaluate(
        """async (streamId) => {
            const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
            window.rec = new window.StreamUsLocalRecorder(media, {
                streamId, title: "Ana (local)", timesliceMs: 500, bitsPerSecond: 1_000_000,
            });
            await window.rec.start();
        }""",
        stream.pk,
    )
    started = time.monotonic()
    page.wait_for_timeout(SESSION_SECONDS * 1000)  # the session itself, not a wait for an event
    offset_while_recording = page.evaluate("window.rec.offset")
    result = page.evaluate("window.rec.stop()")
    recorded = time.monotonic() - started

    assert offset_while_recording > 0  # chunks were uploaded during the show, not only at the end
    recording = Recording.objects.get(pk=result["recording"])
    assert (recording.kind, recording.stream_id, recording.title) == ("participant", stream.pk, "Ana (local)")
    assert recording.file.name.endswith(".webm")

    assert finalize_participant_recording(recording.pk) is True
    recording.refresh_from_db()
    info = ffprobe_json(Path(recording.file.path))
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (640, 360)
    assert any(s["codec_type"] == "audio" for s in info["streams"])
    assert float(info["format"]["duration"]) == pytest.approx(SESSION_SECONDS, abs=0.75)
    assert recording.duration_seconds <= recorded + 0.5
    assert page.errors == []  # type: ignore[attr-defined]
