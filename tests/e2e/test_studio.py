"""The host's studio in a real browser, with a guest in a second browser (each camera a solid colour)."""

from __future__ import annotations

import pytest

from apps.streams.models import Guest, Stream
from tests.support.browser import join_as_guest, login, open_studio, wait_js, wait_preview

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]

# Sample the preview canvas (what the host sees = the scene graph drawn with the LiveKit tracks).
PREVIEW_PIXEL = """([fx, fy]) => {
    const c = document.getElementById('program');
    const d = c.getContext('2d').getImageData(Math.floor(c.width * fx), Math.floor(c.height * fy), 1, 1).data;
    return [d[0], d[1], d[2]];
}"""


def is_colour(rgb, colour: str) -> bool:
    r, g, b = rgb
    return {
        "red": r > 170 and g < 90 and b < 90,
        "blue": b > 170 and r < 90 and g < 90,
        "green": g > 170 and r < 90 and b < 90,
    }[colour]


def test_only_the_owner_opens_the_studio(livekit, web, browser_for, stream, other_user):
    context = browser_for("red").new_context()
    login(context, web.url, other_user)
    page = context.new_page()
    assert page.goto(f"{web.url}/studio/{stream.pk}/").status == 404


def test_host_invites_guest_brings_them_on_stage_and_switches_layouts(livekit, web, browser_for, user, stream):
    host, violations = open_studio(browser_for("red"), web, user, stream)
    wait_js(
        host,
        "() => document.getElementById('media-state').textContent === 'Camera and microphone on'",
        what="host camera",
    )
    # Alone on stage: the whole program is the host's red camera.
    wait_preview(host, 0.5, 0.5, "red", "host in the preview")

    # Invite link: expiry and role chosen, copied from the field.
    host.select_option("#invite-expiry", "1h")
    host.fill("#invite-name", "Blue guest")
    host.click("#create-invite")
    host.wait_for_selector("#invite-url")
    invite_url = host.input_value("#invite-url")
    assert invite_url.startswith(f"{web.url}/join/")
    guest_row = Guest.objects.get(stream=stream)
    assert guest_row.role == "guest" and guest_row.token_hash not in invite_url

    guest = browser_for("blue").new_page(viewport={"width": 1280, "height": 800})
    join_as_guest(guest, web, invite_url.rsplit("/", 2)[-2], "Blue guest")
    guest.click("#join-backstage")
    wait_js(guest, "() => document.getElementById('conn-state').dataset.state === 'open'", what="guest socket")

    # The host sees them arrive backstage, brings them on stage and picks side by side (key 2).
    host.wait_for_selector(f"#backstage [data-participant='guest-{guest_row.pk}'][data-online='true']")
    host.click(f"#backstage [data-participant='guest-{guest_row.pk}'] [data-action='stage']")
    host.wait_for_selector(f"#on-stage [data-participant='guest-{guest_row.pk}']")
    wait_js(guest, "() => document.getElementById('stage-badge').textContent === 'On stage'", what="guest on stage")
    host.keyboard.press("2")
    host.wait_for_selector("[data-layout='side_by_side'][aria-checked='true']")
    stream.refresh_from_db()
    assert stream.scene["layout"] == "side_by_side"
    wait_preview(host, 0.25, 0.5, "red", "host on the left")
    wait_preview(host, 0.75, 0.5, "blue", "guest on the right")
    # The guest's page draws the same program.
    wait_preview(guest, 0.25, 0.5, "red", "host on the left, guest page")
    wait_preview(guest, 0.75, 0.5, "blue", "guest on the right, guest page")

    # Overlays and chat, so the screenshot shows a working studio.
    host.click("[data-overlay='banner']")
    host.wait_for_selector("[data-overlay='banner'][aria-pressed='true']")
    guest.fill("#chat-input", "Ready when you are!")
    guest.press("#chat-input", "Enter")
    host.wait_for_selector("#chat-list >> text=Ready when you are!")
    assert host.locator("#chat-list li").count() == 1

    # Guest only: the host steps off stage and picks solo (key 1).
    host.click(f"#on-stage [data-participant='host-{user.pk}'] button")
    host.wait_for_selector(f"#backstage [data-participant='host-{user.pk}']")
    host.keyboard.press("1")
    host.wait_for_selector("[data-layout='solo'][aria-checked='true']")
    wait_preview(host, 0.25, 0.5, "blue", "guest only (left)")
    wait_preview(host, 0.75, 0.5, "blue", "guest only (right)")

    # Go live with the L key and its confirmation; the on-air clock runs.
    host.keyboard.press("l")
    host.wait_for_selector("#confirm-dialog[open]")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-live")
    clock = host.locator("#onair-clock")
    first = clock.inner_text()
    wait_js(host, "(t) => document.getElementById('onair-clock').textContent !== t", first, what="clock ticking")
    stream.refresh_from_db()
    assert stream.status == Stream.Status.LIVE
    wait_js(guest, "() => !document.getElementById('onair').hidden", what="guest sees LIVE")

    host.click("#end-show")
    host.wait_for_selector("#confirm-dialog[open]")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-ended")
    wait_js(guest, "() => !document.getElementById('ended').hidden", what="guest told the show ended")
    # Nothing is on air any more: the host's preview draws no one (it drew the last line-up, or name cards).
    for fx in (0.25, 0.5, 0.75):
        wait_preview(host, fx, 0.5, "empty", "an empty preview after the end")
    stream.refresh_from_db()
    assert stream.status == Stream.Status.ENDED
    assert violations == []


def test_host_shares_the_screen(livekit, web, browser_for, user, stream):
    browser = browser_for("red", extra_args=["--auto-select-desktop-capture-source=Entire screen"])
    host, violations = open_studio(browser, web, user, stream)
    wait_js(
        host,
        "() => document.getElementById('media-state').textContent === 'Camera and microphone on'",
        what="host camera",
    )
    host.click("#share-screen")
    host.wait_for_selector("#share-screen[aria-pressed='true']")
    host.wait_for_selector("[data-layout='screen_share'][aria-checked='true']")
    stream.refresh_from_db()
    assert stream.scene["screen_share"] == f"host-{user.pk}"
    # The preview draws the shared screen (the fake capture) in the screen layer, not a name card.
    wait_js(
        host,
        "(key) => { const v = document.querySelector(`#sources video[data-source='${key}']`); return v && v.videoWidth > 0; }",
        f"host-{user.pk}:screen",
        what="screen track in the preview sources",
    )
    host.click("#share-screen")
    host.wait_for_selector("[data-layout='grid'][aria-checked='true']")
    stream.refresh_from_db()
    assert stream.scene["screen_share"] is None
    assert violations == []
