"""The library page in headless Chromium: upload.js sends chunks, survives a dropped request, shows progress."""

from __future__ import annotations

import hashlib

import pytest

from apps.library.models import MediaClip, UploadSession
from tests.factories import DEFAULT_PASSWORD
from tests.support.library import make_clip

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.django_db(transaction=True)]

CHUNK = 16 * 1024


def test_chunked_upload_from_the_page_resumes_after_a_dropped_request(page, web_factory, user, tmp_path):
    server = web_factory(extra_env={"UPLOAD_CHUNK_BYTES": str(CHUNK)})
    source = make_clip(tmp_path / "holiday.mp4", seconds=3)
    data = source.read_bytes()
    assert len(data) > 4 * CHUNK

    page.goto(f"{server.url}/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{server.url}/")
    page.goto(f"{server.url}/library/")

    # The third chunk's request dies on the network once, like a Wi-Fi drop.
    seen: list[str] = []

    def flaky(route, request):
        offset = request.headers.get("upload-offset")
        if request.method == "PATCH":
            seen.append(offset)
            if offset == str(2 * CHUNK) and seen.count(offset) == 1:
                return route.abort("internetdisconnected")
        return route.continue_()

    page.route("**/api/v1/uploads/**", flaky)
    # Stay on the page afterwards so the finished progress bar can be read.
    page.evaluate("document.getElementById('clip-upload').removeAttribute('data-done-url')")
    page.fill("#clip-upload-title", "Holiday")
    page.set_input_files("#clip-upload-file", str(source))
    page.click("#clip-upload button[type=submit]")
    page.locator("#clip-upload output", has_text="Uploaded").wait_for()

    assert page.eval_on_selector("#clip-upload progress", "p => p.value") == 100
    assert seen.count(str(2 * CHUNK)) == 2  # dropped once, sent again after asking the server
    session = UploadSession.objects.get(owner=user)
    assert session.status == UploadSession.Status.COMPLETE
    clip = MediaClip.objects.get(owner=user)
    assert clip.title == "Holiday"
    with clip.original.open("rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    assert page.problems == []  # type: ignore[attr-defined]
