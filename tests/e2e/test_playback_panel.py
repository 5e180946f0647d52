"""The studio's Media panel in a real browser: the host plays a ready library clip into the show, the panel counts
down the remaining time and the preview draws the clip's frames (what the compositor puts on air)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.files import File

from apps.library.models import MediaClip
from apps.streams.models import Stream
from tests.support.browser import csp_violations, join_as_guest, login, wait_js, wait_preview

from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]

CLIP_SECONDS = 30


def green_mezzanine(path: Path, seconds: int) -> Path:
    """A solid green clip in the mezzanine format (H.264 + AAC MP4, as process_clip makes them)."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x00C000:size=640x360:rate=25"]
    cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds)]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"]
    cmd += ["-movflags", "+faststart", str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return path


def test_host_plays_a_clip_host_and_guest_see_it_with_the_remaining_time(
    livekit, web, browser_for, user, stream, tmp_path, make_invite
):
    source = green_mezzanine(tmp_path / "green.mp4", CLIP_SECONDS)
    clip = MediaClip(
        owner=user,
        uid=uuid.uuid4().hex,
        title="Green sponsor",
        status=MediaClip.Status.READY,
        duration_seconds=CLIP_SECONDS,
        width=640,
        height=360,
        fps=25,
        has_audio=True,
    )
    with source.open("rb") as handle:
        clip.mezzanine.save("mezzanine.mp4", File(handle), save=False)
    clip.save()

    context = browser_for("red").new_context(viewport=DESKTOP)
    login(context, web.url, user)
    page = context.new_page()
    violations = csp_violations(page)
    assert page.goto(f"{web.url}/studio/{stream.pk}/").status == 200
    wait_js(page, "() => document.getElementById('conn-state').dataset.state === 'open'", what="studio socket")
    wait_preview(page, 0.5, 0.5, "red", "host camera in the preview")
    assert page.locator("[data-playback-status]").is_hidden()
    # A guest backstage watches the same program preview on their page.
    _, token = make_invite(stream)
    guest = browser_for("blue").new_page(viewport={"width": 1280, "height": 800})
    join_as_guest(guest, web, token, "Blue guest")
    guest.click("#join-backstage")
    wait_js(guest, "() => document.getElementById('conn-state').dataset.state === 'open'", what="guest socket")
    wait_preview(guest, 0.5, 0.5, "red", "host camera in the guest's preview")

    page.click(f"#media-clip-{clip.pk} [data-play]")
    wait_preview(page, 0.5, 0.5, "green", "the clip drawn full screen in the preview")
    wait_preview(guest, 0.5, 0.5, "green", "the clip in the guest's preview")
    # The guests hear it too: their preview plays the clip with its sound (the join click allowed autoplay).
    wait_js(
        guest,
        "() => { const v = document.querySelector('[data-clip-player]'); return v && !v.paused && !v.muted; }",
        what="guest's clip audible",
    )
    wait_js(
        page,
        """(total) => {
            const el = document.querySelector('[data-playback-remaining]');
            const s = Number(el.dataset.seconds);
            return !el.closest('[hidden]') && s > 0 && s <= total && el.textContent.startsWith('-0:');
        }""",
        CLIP_SECONDS,
        what="remaining time shown",
    )
    assert page.locator("[data-playback-title]").text_content() == "Green sponsor"
    assert float(page.locator("[data-playback-bar]").get_attribute("max") or 0) == CLIP_SECONDS
    assert "playback" in Stream.objects.get(pk=stream.pk).scene

    page.click("[data-playback-stop]")
    wait_preview(page, 0.5, 0.5, "red", "back to the live layout after Stop")
    wait_preview(guest, 0.5, 0.5, "red", "back to the live layout after Stop, guest page")
    wait_js(page, "() => document.querySelector('[data-playback-status]').hidden", what="panel idle")
    assert "playback" not in Stream.objects.get(pk=stream.pk).scene
    assert violations == []
