"""Issue 15: nothing in the studio needs a reload, for the host or a guest.

A clip that finishes processing appears in the open studio's Media panel (library.changed); the
guest's preview plays a clip in step with the program's clock (a guest's player used to freeze);
the logo of the stream's kit shows in the guest's preview and follows the host's switch.
Daphne serves `streamus.asgi:application`; two Chromium processes; LiveKit; the clip is made by
FFmpeg and processed by the library's own job, run in this process as a worker runs it.
"""

from __future__ import annotations

import io
import time

import pytest
from django.core.files import File
from PIL import Image

from apps.branding import services as branding
from apps.library.models import MediaClip
from apps.library.tasks import process_clip
from apps.streams import services as streams
from tests.support.browser import join_as_guest, login, wait_js
from tests.support.library import make_clip

from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.media, pytest.mark.django_db(transaction=True)]


def logo_pixel_is_green(page) -> bool:
    return bool(
        page.evaluate(
            """() => {
                const c = document.getElementById('program');
                const d = c.getContext('2d').getImageData(Math.floor(c.width * 0.86), Math.floor(c.height * 0.1), 1, 1).data;
                return d[1] > 170 && d[0] < 90 && d[2] < 90;
            }"""
        )
    )


def test_media_panel_guest_clip_and_logo_follow_without_reload(livekit, web_factory, browser_for, user, tmp_path):
    web = web_factory()
    stream = streams.stream_create(owner=user, title="Live updates", resolution="480p", layout="solo")
    kit = branding.brand_kit_create(owner=user, name="Green")
    image = io.BytesIO()
    Image.new("RGBA", (200, 100), (0, 255, 0, 255)).save(image, "PNG")
    image.seek(0)
    branding.brand_asset_upload(kit=kit, by=user, kind="logo", upload=image, filename="logo.png")
    branding.brand_asset_update(asset=kit.assets.get(), by=user, x=0.8, y=0.05, scale=0.15)
    branding.brand_kit_apply(kit=kit, stream=stream, by=user)
    guest_row, token = streams.guest_invite(stream=stream, by=user, display_name="", role="guest")

    host_ctx = browser_for("red").new_context(viewport=DESKTOP)
    login(host_ctx, web.url, user)
    host = host_ctx.new_page()
    host.goto(f"{web.url}/studio/{stream.pk}/")
    wait_js(host, "() => document.getElementById('conn-state').dataset.state === 'open'", what="studio socket")
    host.wait_for_selector("#media-library .empty-sm")  # no clips yet

    guest = browser_for("blue").new_page(viewport={"width": 1024, "height": 768})
    join_as_guest(guest, web, token, "Blue guest")
    guest.click("#join-backstage")
    wait_js(guest, "() => document.getElementById('conn-state').dataset.state === 'open'", what="guest socket")
    # Backstage, the guest sees themself.
    wait_js(guest, "() => document.getElementById('backstage-self').videoWidth > 0", what="guest self-view backstage")

    from apps.streams.models import Guest

    identity = Guest.objects.get(pk=guest_row.pk).identity
    host.click(f"#backstage [data-participant='{identity}'][data-online='true'] [data-action='stage']")
    wait_js(guest, "() => document.getElementById('stage-badge').textContent === 'On stage'", what="guest on stage")

    # --- the guest's preview has the kit's logo, and follows the host's Logo switch ------------------------
    deadline = time.monotonic() + 20
    while not logo_pixel_is_green(guest) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert logo_pixel_is_green(guest), "no logo in the guest's preview"
    host.click("[data-overlay='logo']")
    host.wait_for_selector("[data-overlay='logo'][aria-pressed='false']")
    deadline = time.monotonic() + 10
    while logo_pixel_is_green(guest) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not logo_pixel_is_green(guest), "the logo stayed in the guest's preview after the host switched it off"
    host.click("[data-overlay='logo']")
    deadline = time.monotonic() + 10
    while not logo_pixel_is_green(guest) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logo_pixel_is_green(guest), "the logo did not come back in the guest's preview"
    deadline = time.monotonic() + 10
    while not logo_pixel_is_green(host) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logo_pixel_is_green(host), "the logo did not come back in the host's preview"

    # --- a clip finishes processing while the studio is open: the Media panel lists it -----------------------
    source = make_clip(tmp_path / "in.mp4", seconds=40, size="640x360", rate=25)
    clip = MediaClip(owner=user, title="Colour bars", size_bytes=source.stat().st_size)
    with open(source, "rb") as handle:
        clip.original.save("source.mp4", File(handle), save=False)
    clip.save()
    assert process_clip(clip.pk) is True
    host.wait_for_selector(f"#media-clip-{clip.pk}", timeout=15_000)

    # --- played into the show: the guest's preview keeps the program's time -----------------------------------
    host.click(f"#media-clip-{clip.pk} [data-play='clip']")
    wait_js(
        guest,
        # Playing: loaded, not seeking, past its first second (the file's first bytes take a moment to arrive).
        "() => { const v = document.querySelector('video[data-clip-player]');"
        " return v && !v.paused && !v.seeking && v.readyState >= 3 && v.currentTime > 1; }",
        timeout=20,
        what="the clip playing in the guest's preview",
    )
    stream.refresh_from_db()
    playback = stream.scene["playback"]
    started, start = float(playback["started_at"]), float(playback["items"][0]["start"])
    # The guest is told the clip has the program, not that everyone sees them.
    assert "clip is playing" in guest.inner_text("#stage-text")
    duration = float(playback["items"][0]["duration"])
    samples = []
    for _ in range(12):
        current, now = guest.evaluate(
            "() => [document.querySelector('video[data-clip-player]').currentTime, Date.now() / 1000]"
        )
        if now - started - start > duration - 1:
            break  # the clip's end: the program goes back to the people
        samples.append((current, now - started - start))
        time.sleep(0.4)
    assert len(samples) >= 6, f"too few samples before the clip ended: {samples}"
    drifts = [abs(current - program) for current, program in samples]
    assert max(drifts) < 0.5, f"the guest's clip strays from the program: {samples}"
    assert samples[-1][0] > samples[0][0] + 3, f"the guest's clip does not advance: {samples}"
