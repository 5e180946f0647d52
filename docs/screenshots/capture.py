"""Take the dashboard screenshots in this folder.

    .venv/bin/python docs/screenshots/capture.py

Builds a throwaway SQLite database with a demo creator and a few shows (through
the same services the pages use), serves it with `manage.py runserver` on a free
loopback port, logs in with headless Chromium (/usr/bin/chromium, driven by
Playwright) and saves dashboard.png, stream.png and dashboard-phone.png next to this file.
Needs Redis at REDIS_URL (rate limits and cache), as the site itself does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
EMAIL, PASSWORD = "maya@streamus.example", "demo passphrase 2026"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed() -> int:
    """Demo data; returns the id of the stream to show on its own page."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.destinations.services import destination_create
    from apps.recordings.models import Recording
    from apps.streams import services
    from apps.streams.models import Stream

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username="maya", email=EMAIL, password=PASSWORD)
    now = timezone.now().replace(second=0, microsecond=0)

    live = services.stream_create(owner=user, title="Maker Monday — live build", layout="side_by_side")
    destination_create(stream=live, by=user, platform="youtube", stream_key="yt-live-0000-1111-9QX2")
    destination_create(stream=live, by=user, platform="twitch", stream_key="live_123456789_abcdEFGH7k3p")
    services.stream_go_live(stream=live, by=user)

    weekly = services.stream_create(
        owner=user,
        title="The Weekly Roundup",
        description="News, guests and your questions, every Friday.",
        scheduled_start=now + timedelta(days=2, hours=3),
        layout="grid",
    )
    destination_create(stream=weekly, by=user, platform="youtube", stream_key="yt-weekly-2222-3333-AB12")
    destination_create(stream=weekly, by=user, platform="facebook", stream_key="FB-1234567890-ZXCV")
    destination_create(
        stream=weekly,
        by=user,
        platform="custom",
        name="Company site",
        rtmp_url="rtmp://127.0.0.1:1935/live",
        stream_key="site-key-000000-LMNO",
    )
    services.guest_invite(stream=weekly, by=user, display_name="Dr. Ada Brooks", role="guest")
    services.guest_invite(stream=weekly, by=user, display_name="Sam (moderator)", role="moderator")

    services.stream_create(
        owner=user,
        title="Q&A with the community",
        scheduled_start=now + timedelta(days=6),
        resolution="720p",
        video_bitrate_kbps=3000,
        layout="pip",
    )
    ended = services.stream_create(owner=user, title="Launch day keynote", resolution="1080p")
    services.stream_go_live(stream=ended, by=user)
    services.stream_end(stream=ended, by=user)
    Recording.objects.create(
        stream=ended,
        title="Launch day keynote",
        file="recordings/demo.mp4",
        size_bytes=734_003_200,
        duration_seconds=3725,
        width=1920,
        height=1080,
        bitrate_kbps=4500,
    )
    return Stream.objects.get(pk=weekly.pk).pk


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="streamus-shot-"))
    env = {
        **os.environ,
        "STREAMUS_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "streamus.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "ALLOW_PRIVATE_DESTINATIONS": "1",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    stream_id = seed()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 - loopback
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("runserver did not start") from None
                time.sleep(0.2)

        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"], headless=True
            )
            page = browser.new_page(viewport={"width": 1360, "height": 900}, timezone_id="Europe/Paris")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=username]", EMAIL)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.wait_for_timeout(5500)  # let the welcome toast fade out
            page.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
            page.goto(f"{base}/streams/{stream_id}/")
            page.screenshot(path=str(OUT / "stream.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})  # a phone
            page.goto(f"{base}/")
            page.screenshot(path=str(OUT / "dashboard-phone.png"), full_page=False)
            browser.close()
            if errors:
                raise RuntimeError(f"console errors (CSP?): {errors}")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=10)
    print(f"saved {OUT / 'dashboard.png'} and {OUT / 'stream.png'}")


if __name__ == "__main__":
    main()
