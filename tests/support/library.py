"""Media made on the spot with FFmpeg's lavfi sources, and an ffprobe that logs how it is called."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest


def make_clip(
    path: Path,
    *,
    seconds: float = 2.0,
    size: str = "640x360",
    rate: int = 25,
    audio: bool = True,
    fmt: str = "mp4",
) -> Path:
    """A test-pattern clip (testsrc + a 440 Hz tone) made by FFmpeg."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    cmd += ["-t", str(seconds)]
    if fmt == "webm":
        cmd += ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "500k"]
        cmd += ["-c:a", "libopus"] if audio else []
    else:
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        cmd += ["-c:a", "aac"] if audio else []
    cmd += ["-f", fmt, str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return path


def ffprobe_json(path: Path) -> dict:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return json.loads(done.stdout)


@pytest.fixture(autouse=True)
def upload_spool(settings, tmp_path):
    settings.UPLOAD_SPOOL_DIR = tmp_path / "spool"
    return settings.UPLOAD_SPOOL_DIR


@pytest.fixture
def logged_ffprobe(settings, tmp_path):
    """The real ffprobe behind a wrapper that appends each argv to a log: shows whether and how it ran."""
    log = tmp_path / "ffprobe-calls.log"
    log.touch()
    wrapper = tmp_path / "ffprobe-logged"
    real = shutil.which("ffprobe")
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    settings.FFPROBE_BIN = str(wrapper)
    return log


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page(monkeypatch):
    """A headless Chromium page that records script errors and CSP violations in `page.problems`."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context().new_page()
        page.set_default_timeout(20_000)
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on(
            "console",
            lambda m: problems.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None,
        )
        page.problems = problems  # type: ignore[attr-defined]
        yield page
        browser.close()


def stored_files(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


__all__ = ["ffprobe_json", "logged_ffprobe", "make_clip", "page", "stored_files", "upload_spool"]


def seated(guest: Any) -> Any:
    """A browser that went through the invite link: its session holds the guest's seat (and a CSRF cookie)."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    session = browser.session
    session["studio_guests"] = {str(guest.stream_id): guest.pk}
    session.save()
    browser.get("/accounts/login/")  # any page that renders a form sets the CSRF cookie
    return browser


def csrf(browser: Any) -> dict[str, str]:
    return {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
