"""Headless Chromium for browser tests, with a fake camera that shows one solid colour.

    def test_x(browser_for, web):
        host = browser_for("red")          # a Chromium whose camera is solid red
        page = host.new_page()

Each colour is its own browser process: the fake capture file is a
command-line switch, so two people with two colours need two browsers. The
system Chromium is used (never a downloaded one); the y4m files are made with
ffmpeg. Playwright's sync API runs an event loop in this thread, so Django's
async-safety check is relaxed for these tests (the ORM calls are still
synchronous, in the test's own thread).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Named colours and their RGB, for decoding checks.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "magenta": (255, 0, 255),
}
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def make_y4m(path: Path, colour: str, *, width: int = 640, height: int = 360, fps: int = 15) -> Path:
    """Two seconds of one solid colour; Chromium loops the file."""
    rgb = COLOURS[colour]
    hex_colour = "0x{:02X}{:02X}{:02X}".format(*rgb)
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=c={hex_colour}:s={width}x{height}:r={fps}",
            "-t",
            "2",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[object]:
    """Module-scoped: Playwright's sync API keeps an event loop running in the main
    thread while it is open, which would break every later asyncio test in the session."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            yield pw
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_for(playwright_instance, tmp_path_factory) -> Iterator[Callable[..., object]]:
    """Launch a Chromium whose fake camera shows `colour`; closed at the end of the test."""
    browsers = []
    directory = tmp_path_factory.mktemp("y4m")

    def launch(colour: str = "blue", *, extra_args: list[str] | None = None) -> object:
        y4m = directory / f"{colour}.y4m"
        if not y4m.exists():
            make_y4m(y4m, colour)
        browser = playwright_instance.chromium.launch(  # type: ignore[attr-defined]
            executable_path=CHROMIUM,
            headless=True,
            args=[*BASE_ARGS, f"--use-file-for-fake-video-capture={y4m}", *(extra_args or [])],
        )
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()


def login(context: object, base_url: str, user: object) -> None:
    """Give a browser context the user's session cookie (a real login, no form typing)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)  # type: ignore[attr-defined]
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()  # type: ignore[attr-defined]
    session.create()
    context.add_cookies(  # type: ignore[attr-defined]
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": base_url}]
    )


def wait_js(page: object, function: str, arg: object = None, *, timeout: float = 15.0, what: str = "") -> object:
    """Poll `function` (a JS arrow function) until it returns something truthy.

    Playwright's wait_for_function evaluates strings, which our CSP (no
    'unsafe-eval') rightly blocks; page.evaluate with a function does not.
    """
    import time

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = page.evaluate(function, arg)  # type: ignore[attr-defined]
        if last:
            return last
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what or function} (last: {last!r})")


def csp_violations(page: object) -> list[str]:
    """Collect console messages about the Content-Security-Policy for the page's lifetime."""
    found: list[str] = []
    page.on(  # type: ignore[attr-defined]
        "console", lambda message: found.append(message.text) if "Content Security Policy" in message.text else None
    )
    return found


# --- the studio and guest pages -----------------------------------------------------------------

DESKTOP = {"width": 1440, "height": 900}


def join_as_guest(page, web, token: str, name: str) -> None:
    """Open the link, give a name, wait for the green room's camera preview."""
    page.goto(f"{web.url}/join/{token}/")
    page.fill("#display-name", name)
    page.click("button[type=submit]")
    page.wait_for_selector("#green-room")
    wait_js(page, "() => document.getElementById('self-view').videoWidth > 0", what="camera preview")
    wait_js(page, "() => !document.getElementById('join-backstage').disabled", what="join button")


def wait_preview(page, fx: float, fy: float, colour: str, what: str) -> None:
    wait_js(
        page,
        """([fx, fy, c]) => {
            const el = document.getElementById('program');
            const d = el.getContext('2d').getImageData(Math.floor(el.width * fx), Math.floor(el.height * fy), 1, 1).data;
            if (c === 'red') return d[0] > 170 && d[1] < 90 && d[2] < 90;
            if (c === 'blue') return d[2] > 170 && d[0] < 90 && d[1] < 90;
            if (c === 'empty') return Math.max(d[0], d[1], d[2]) < 25;  // the bare preview, #0b0d13: no one drawn
            return d[1] > 170 && d[0] < 90 && d[2] < 90;
        }""",
        [fx, fy, colour],
        timeout=20,
        what=what,
    )


def open_studio(browser, web, user, stream):
    context = browser.new_context(viewport=DESKTOP)
    login(context, web.url, user)
    page = context.new_page()
    violations = csp_violations(page)
    response = page.goto(f"{web.url}/studio/{stream.pk}/")
    assert response.status == 200
    wait_js(page, "() => document.getElementById('conn-state').dataset.state === 'open'", what="studio socket")
    return page, violations
