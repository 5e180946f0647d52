"""Take the README's screenshots from the product as `make run` starts it.

    .venv/bin/python docs/screenshots/capture.py

Starts `scripts/run.sh` on free ports with a throwaway var/ (the same launcher the smoke test in
tests/smoke/ uses: tests/support/instance.py), adds demo shows through the same services the pages
use (a `manage.py shell` in the instance's environment), then drives headless Chromium
(/usr/bin/chromium through Playwright) as a creator and a guest would: dashboard, a stream's page,
the dashboard on a phone, the studio with a guest on stage, the custom-layout editor, the studio on a
phone, and the guest's green room on a phone.
Cameras are Chromium's fake devices fed with solid colours (red host, blue guest, green phone guest).
Nothing here runs in `make test`: screenshots change only when someone runs this on purpose.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import BASE_ARGS, CHROMIUM, make_y4m, wait_js  # noqa: E402
from tests.support.instance import DEMO_EMAIL, DEMO_PASSWORD, MakeRunInstance  # noqa: E402

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

SEED = """
import json
from datetime import timedelta
from django.utils import timezone
from apps.accounts.models import User
from apps.destinations.services import destination_create
from apps.recordings.models import Recording
from apps.streams import services
from apps.shows import services as shows

user = User.objects.get(email="%(email)s")
now = timezone.now().replace(second=0, microsecond=0)
live = services.stream_create(owner=user, title="Maker Monday — live build", layout="side_by_side")
destination_create(stream=live, by=user, platform="youtube", stream_key="yt-live-0000-1111-9QX2")
destination_create(stream=live, by=user, platform="twitch", stream_key="live_123456789_abcdEFGH7k3p")
weekly = services.stream_create(
    owner=user, title="The Weekly Roundup", description="News, guests and your questions, every Friday.",
    scheduled_start=now + timedelta(days=2, hours=3), layout="grid",
)
destination_create(stream=weekly, by=user, platform="youtube", stream_key="yt-weekly-2222-3333-AB12")
destination_create(stream=weekly, by=user, platform="facebook", stream_key="FB-1234567890-ZXCV")
services.guest_invite(stream=weekly, by=user, display_name="Dr. Ada Brooks", role="guest")
services.guest_invite(stream=weekly, by=user, display_name="Sam (moderator)", role="moderator")
services.stream_create(owner=user, title="Q&A with the community", scheduled_start=now + timedelta(days=6),
                       resolution="720p", video_bitrate_kbps=3000, layout="pip")
ended = services.stream_create(owner=user, title="Launch day keynote", resolution="1080p")
shows.show_go_live(stream=ended, by=user)
shows.show_end(stream=ended, by=user)
Recording.objects.create(stream=ended, title="Launch day keynote", file="recordings/demo.mp4", size_bytes=734_003_200,
                         duration_seconds=3725, width=1920, height=1080, bitrate_kbps=4500)
_, token = services.guest_invite(stream=live, by=user, display_name="", role="guest")
_, phone_token = services.guest_invite(stream=weekly, by=user, display_name="", role="guest")
print(json.dumps({"live": live.pk, "weekly": weekly.pk, "token": token, "phone_token": phone_token}))
"""


def seed(instance: MakeRunInstance) -> dict:
    env = instance.manage_env()
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-c", SEED % {"email": DEMO_EMAIL}],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode:
        raise RuntimeError(f"seeding failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def launch(pw, colour: str, directory: Path):
    y4m = make_y4m(directory / f"{colour}.y4m", colour)
    return pw.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*BASE_ARGS, f"--use-file-for-fake-video-capture={y4m}"]
    )


def main() -> None:
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="streamus-shots-"))
    with MakeRunInstance.start_new(workdir) as instance, sync_playwright() as pw:
        ids = seed(instance)
        base = instance.url
        errors: list[str] = []

        host_browser = launch(pw, "red", workdir)
        host = host_browser.new_page(viewport=DESKTOP, timezone_id="Europe/Paris")
        host.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        host.goto(f"{base}/accounts/login/")
        host.fill("input[name=username]", DEMO_EMAIL)
        host.fill("input[name=password]", DEMO_PASSWORD)
        host.click("button[type=submit]")
        host.wait_for_url(f"{base}/")
        wait_js(host, "() => !document.querySelector('#toasts .toast')", timeout=15, what="welcome toast gone")
        host.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
        host.goto(f"{base}/streams/{ids['weekly']}/")
        host.screenshot(path=str(OUT / "stream.png"), full_page=True)
        host.set_viewport_size(PHONE)
        host.goto(f"{base}/")
        host.screenshot(path=str(OUT / "dashboard-phone.png"))
        host.set_viewport_size(DESKTOP)

        # The studio: the host (red camera) and a guest (blue camera) side by side.
        host.goto(f"{base}/studio/{ids['live']}/")
        wait_js(host, "() => document.getElementById('self-view').videoWidth > 0", timeout=30, what="host camera")
        guest = launch(pw, "blue", workdir).new_page(viewport={"width": 1024, "height": 768})
        guest.goto(f"{base}/join/{ids['token']}/")
        guest.fill("#display-name", "Dr. Ada Brooks")
        guest.click("button[type=submit]")
        wait_js(guest, "() => !document.getElementById('join-backstage').disabled", timeout=30, what="green room")
        guest.click("#join-backstage")
        host.wait_for_selector("#backstage [data-online='true'] [data-action='stage']", timeout=30_000)
        host.click("#backstage [data-online='true'] [data-action='stage']")
        host.click("[data-layout='side_by_side']")
        time.sleep(3)  # both cameras drawn in the preview
        host.screenshot(path=str(OUT / "studio.png"), full_page=True)

        # The custom-layout editor: side by side turned into a custom arrangement, the guest dragged
        # into a smaller window over the host's picture (the program follows the hand).
        host.click("#customise-layout")
        host.wait_for_selector(".st-edit-tile + .st-edit-tile")
        tile = host.locator(".st-edit-tile").nth(1).bounding_box()
        corner = (tile["x"] + tile["width"] - 1, tile["y"] + tile["height"] - 1)
        host.mouse.move(*corner)
        host.mouse.down()
        host.mouse.move(tile["x"] + tile["width"] * 0.55, tile["y"] + tile["height"] * 0.55, steps=6)
        host.mouse.up()
        tile = host.locator(".st-edit-tile").nth(1).bounding_box()
        host.mouse.move(tile["x"] + tile["width"] / 2, tile["y"] + tile["height"] / 2)
        host.mouse.down()
        host.mouse.move(tile["x"] + tile["width"] / 2 + 60, tile["y"] + tile["height"] / 2 + 140, steps=8)
        host.mouse.up()
        time.sleep(2)
        host.screenshot(path=str(OUT / "studio-custom.png"))

        # The studio on a phone: one column, the preview first, nothing wider than the screen.
        host.set_viewport_size(PHONE)
        time.sleep(1)
        host.screenshot(path=str(OUT / "studio-phone.png"))
        host.set_viewport_size(DESKTOP)

        # A guest's green room on a phone (green camera).
        phone = launch(pw, "green", workdir).new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
        page = phone.new_page()
        page.goto(f"{base}/join/{ids['phone_token']}/")
        page.fill("#display-name", "Grace Hopper")
        page.click("button[type=submit]")
        wait_js(page, "() => document.getElementById('self-view').videoWidth > 0", timeout=30, what="phone camera")
        wait_js(page, "() => Number(document.getElementById('level-meter').dataset.level) > 30", what="mic level")
        page.screenshot(path=str(OUT / "guest.png"), full_page=True)
        if errors:
            raise RuntimeError(f"console errors in the studio: {errors}")
    print(f"saved dashboard, stream, dashboard-phone, studio, studio-custom, studio-phone and guest PNGs in {OUT}")


if __name__ == "__main__":
    main()
