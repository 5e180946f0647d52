"""`make run`, used as a new user uses it: the product as it ships, not as the test harness starts it.

`scripts/run.sh` (what `make run` execs after setup) starts on free ports with a throwaway var/ and
its embedded defaults (SQLite, local files, its own Redis and LiveKit). Headless Chromium then
logs in with the demo login it prints and goes through the first pages a creator and a guest
see. On every page: the stylesheet is applied (a computed style, not a status code), the
JavaScript ran, no console errors and no Content-Security-Policy violations, also after HTMX swaps.
At the end the instance is stopped as a user stops it (Ctrl-C) and nothing it started is left.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import BASE_ARGS, CHROMIUM, make_y4m, wait_js
from tests.support.instance import DEMO_EMAIL, DEMO_PASSWORD, MakeRunInstance

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

# Records every CSP violation the page reports, with what was blocked and where.
VIOLATIONS_SCRIPT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
});
"""
# app.css paints the page this colour; a browser's default is white.
APP_BACKGROUND = "rgb(10, 12, 17)"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRunInstance]:
    running = MakeRunInstance.start_new(tmp_path_factory.mktemp("make-run"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chromium(playwright_instance: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    y4m = make_y4m(tmp_path_factory.mktemp("camera") / "red.y4m", "red")
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*BASE_ARGS, f"--use-file-for-fake-video-capture={y4m}"]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def signed_in(chromium: Any, instance: MakeRunInstance, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Log in once through the login form with the printed demo login; tests reuse the cookies."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(instance.url + "/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(instance.url + "/")
    state = tmp_path_factory.mktemp("state") / "demo.json"
    context.storage_state(path=str(state))
    context.close()
    return state


class Watched:
    """A page with its console errors, uncaught exceptions, failed responses and CSP violations."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.add_init_script(VIOLATIONS_SCRIPT)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def assert_clean(self, *, expected_errors: int = 0) -> None:
        """No CSP violation; no console error but `expected_errors` network lines for provoked 4xx answers."""
        assert self.violations() == []
        unexpected = [e for e in self.errors if not re.match(r"Failed to load resource: .* status of 4\d\d", e)]
        assert unexpected == []
        assert len(self.errors) == expected_errors, self.errors

    def assert_styled(self) -> None:
        assert self.page.evaluate("getComputedStyle(document.body).backgroundColor") == APP_BACKGROUND
        # app.js ran: htmx is loaded and configured from the meta tag (no eval, CSP-safe).
        assert self.page.evaluate("() => window.htmx && window.htmx.config.allowEval === false") is True


@pytest.fixture
def user_page(chromium: Any, signed_in: Path) -> Iterator[Watched]:
    context = chromium.new_context(storage_state=str(signed_in), viewport={"width": 1440, "height": 900})
    yield Watched(context)
    context.close()


def api(instance: MakeRunInstance, path: str, *, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The REST API as an integrator uses it (bearer tokens)."""
    if not hasattr(instance, "_access"):
        instance._access = _call(  # type: ignore[attr-defined]
            instance.url + "/api/v1/auth/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, None
        )["access"]
    return _call(instance.url + path, data, instance._access)  # type: ignore[attr-defined]


def _call(url: str, data: dict[str, Any] | None, token: str | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "X-Auth-Mode": "bearer"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def test_dashboard_is_styled_and_scripted(instance: MakeRunInstance, user_page: Watched) -> None:
    page = user_page.page
    page.goto(instance.url + "/")
    page.wait_for_load_state("networkidle")
    user_page.assert_styled()
    assert page.locator("h1").inner_text() == "Your streams"
    user_page.assert_clean()


def test_new_stream_destination_and_invite_through_htmx(instance: MakeRunInstance, user_page: Watched) -> None:
    page = user_page.page
    page.goto(instance.url + "/")
    # "New stream" opens the form in place (HTMX); submitting it empty shows the error in place.
    page.click("text=New stream")
    form = page.locator(".stream-create-card form")
    form.locator("button[type=submit]").click()
    page.locator(".stream-create-card .has-error .errorlist").first.wait_for()
    assert "This field is required" in form.inner_text()
    user_page.assert_styled()
    user_page.assert_clean(expected_errors=1)  # the browser logs the form's 422 answer
    page.locator(".stream-create-card input[name=title]").fill("Smoke test show")
    page.locator(".stream-create-card button[type=submit]").click()
    row = page.locator(".stream-row, .list-row", has_text="Smoke test show").first
    row.wait_for()

    # Its page: add a destination and invite a guest, both swapped in by HTMX.
    row.locator("text=Details").click()
    page.wait_for_url(re.compile(r"/streams/\d+/$"))
    destination = page.locator("#destination-create form")
    destination.locator("select[name=platform]").select_option("youtube")
    destination.locator("input[name=stream_key]").fill("smoke-key-0000-1111")
    destination.locator("button[type=submit]").click()
    page.locator("#destination-list li", has_text="YouTube").first.wait_for()
    assert "smoke-key-0000-1111" not in page.content()  # the key is write-only
    invite = page.locator("#guests form[hx-post]")
    invite.locator("input[name=display_name]").fill("Ada")
    invite.locator("button[type=submit]").click()
    page.locator("#guest-list li", has_text="Ada").wait_for()
    assert "/join/" in page.locator("#invite-url").input_value()
    user_page.assert_styled()
    user_page.assert_clean(expected_errors=1)


def test_studio_connects_to_the_socket_and_livekit(instance: MakeRunInstance, user_page: Watched) -> None:
    stream = api(instance, "/api/v1/streams/", data={"title": "Studio smoke"})
    page = user_page.page
    page.goto(f"{instance.url}/studio/{stream['id']}/")
    user_page.assert_styled()
    # The studio websocket...
    wait_js(page, "() => document.getElementById('conn-state').dataset.state === 'open'", what="studio socket")
    assert page.locator("#conn-state").inner_text() == "Connected"
    # ...and LiveKit: the fake camera is published and plays in the self view.
    wait_js(
        page,
        "() => document.getElementById('media-state').textContent === 'Camera and microphone on'",
        timeout=30,
        what="camera published through LiveKit",
    )
    wait_js(page, "() => document.getElementById('self-view').videoWidth > 0", what="self view playing")
    user_page.assert_clean()


def test_guest_join_page(instance: MakeRunInstance, chromium: Any) -> None:
    stream = api(instance, "/api/v1/streams/", data={"title": "Guest smoke"})
    invite = api(instance, f"/api/v1/streams/{stream['id']}/guests/", data={"display_name": ""})
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    guest = Watched(context)
    try:
        guest.page.goto(invite["join_url"])
        guest.assert_styled()
        guest.page.fill("input[name=display_name]", "Grace")
        guest.page.click("button[type=submit]")
        # The green room: camera preview from the fake device.
        wait_js(guest.page, "() => { const v = document.querySelector('video'); return v && v.videoWidth > 0 }")
        guest.assert_styled()
        guest.assert_clean()
    finally:
        context.close()


def test_clip_upload_is_processed_by_the_worker(instance: MakeRunInstance, user_page: Watched, tmp_path: Path) -> None:
    clip = tmp_path / "intro.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=15:d=2", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
        timeout=60,
    )
    page = user_page.page
    page.goto(instance.url + "/library/")
    page.fill("#clip-upload-title", "Smoke intro")
    page.set_input_files("#clip-upload-file", str(clip))
    page.click("#clip-upload button[type=submit]")
    # The default worker probes and normalises it; the row follows by HTMX polling.
    page.locator("#clip-rows li", has_text="Smoke intro").locator(".badge", has_text="Ready").wait_for(timeout=90_000)
    user_page.assert_styled()
    user_page.assert_clean()


def test_api_docs_list_the_operations(instance: MakeRunInstance, user_page: Watched) -> None:
    page = user_page.page
    page.goto(instance.url + "/api/v1/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 40
    page.locator(".opblock-summary").first.click()
    page.locator(".opblock-body").first.wait_for()
    assert page.get_by_role("link", name=re.compile("Back to StreamUs")).count() == 1
    user_page.assert_clean()


def test_every_process_serves_its_metrics_on_loopback(instance: MakeRunInstance) -> None:
    """Web's /metrics (open to loopback in development), beat, both workers' pool processes, LiveKit."""

    def scrape(port: int, path: str = "/metrics") -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return str(response.read().decode())

    base = instance.metrics_port
    assert "streamus_http_requests_total" in scrape(instance.web_port)
    beat = _wait_text(lambda: scrape(base), "streamus_live_streams ")
    assert "streamus_redis_up 1.0" in beat and "streamus_database_up 1.0" in beat
    for port in (base + 1, base + 2):  # the default pool's two processes (-c 2)
        _wait_text(lambda port=port: scrape(port), "streamus_celery_task_duration_seconds")
    for port in (base + 3, base + 4):  # the media pool's, with the disk live recordings are spooled to
        _wait_text(lambda port=port: scrape(port), 'streamus_disk_size_bytes{volume="spool"}')
    assert "livekit_" in scrape(instance.livekit_port + 3)


def _wait_text(read: Any, text: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = read()
            if text in found:
                return str(found)
        except OSError:
            found = ""
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not served within {timeout:.0f}s:\n{found[-1500:]}")
        time.sleep(0.5)


def test_stopping_leaves_nothing_behind(instance: MakeRunInstance) -> None:
    assert instance.leftovers(), "the instance should be running before it is stopped"
    instance.stop()
    assert instance.leftovers() == []
    started = time.monotonic()
    with pytest.raises(OSError):
        urllib.request.urlopen(instance.url + "/healthz", timeout=2)
    assert time.monotonic() - started < 5
