"""The guest's side in a real browser: refused links, the green room on a phone, no way to host controls."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.streams.models import Guest, Stream
from tests.support.browser import csp_violations, join_as_guest, wait_js

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]


def test_expired_revoked_and_unknown_links_are_refused(livekit, web, browser_for, stream, make_invite):
    expired, expired_token = make_invite(stream)
    Guest.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    revoked, revoked_token = make_invite(stream)
    Guest.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())

    page = browser_for("blue").new_page(viewport=PHONE)
    response = page.goto(f"{web.url}/join/{expired_token}/")
    assert response.status == 410
    assert page.locator("h1").inner_text() == "This invite link has expired"
    assert page.locator("#display-name").count() == 0  # no way forward from here

    response = page.goto(f"{web.url}/join/{revoked_token}/")
    assert response.status == 410
    assert "withdrawn" in page.locator("h1").inner_text()

    response = page.goto(f"{web.url}/join/not-a-real-token/")
    assert response.status == 403
    assert "does not work" in page.locator("h1").inner_text()


def test_guest_green_room_on_a_phone(livekit, web, browser_for, stream, make_invite):
    guest, token = make_invite(stream)
    browser = browser_for("green")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    violations = csp_violations(page)
    join_as_guest(page, web, token, "Grace Hopper")

    guest.refresh_from_db()
    assert guest.display_name == "Grace Hopper" and guest.joined_at is not None
    # The fake camera's solid green reaches the preview.
    pixel = page.evaluate(
        """() => {
            const v = document.getElementById('self-view');
            const c = document.createElement('canvas');
            c.width = 8; c.height = 8;
            const ctx = c.getContext('2d');
            ctx.drawImage(v, 0, 0, 8, 8);
            return Array.from(ctx.getImageData(4, 4, 1, 1).data);
        }"""
    )
    assert pixel[1] > 180 and pixel[0] < 80 and pixel[2] < 80, pixel
    # Device pickers list the fake devices; the level meter is drawn from the analyser.
    assert page.locator("#camera-select option").count() >= 1
    assert page.locator("#mic-select option").count() >= 1
    # The level meter moves with the (fake, beeping) microphone: the analyser really reads it.
    wait_js(page, "() => Number(document.getElementById('level-meter').dataset.level) > 30", what="a loud moment")
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert violations == []


def test_guest_cannot_reach_host_controls(livekit, web, browser_for, stream, make_invite):
    _guest, token = make_invite(stream)
    page = browser_for("green").new_page(viewport=PHONE)
    join_as_guest(page, web, token, "Ada")
    page.click("#join-backstage")
    page.wait_for_selector("#backstage:not([hidden])")
    wait_js(page, "() => document.getElementById('conn-state').dataset.state === 'open'", what="studio socket")

    # UI: the guest page has no host controls, and the studio page is not theirs.
    for selector in ("#go-live", "#end-show", "[data-layout]", "[data-overlay]", "#destinations", "#invite-box"):
        assert page.locator(selector).count() == 0, selector
    response = page.goto(f"{web.url}/studio/{stream.pk}/")
    assert response.url.startswith(f"{web.url}/accounts/login/")  # no account, so: log in first

    # Websocket: the guest's own session, speaking the protocol directly.
    page.goto(f"{web.url}/join/{token}/")
    result = page.evaluate(
        """async (streamId) => {
            const ws = new WebSocket(`ws://${location.host}/ws/studio/${streamId}/`);
            const seen = [];
            const wait = (pred) => new Promise((resolve, reject) => {
                const t = setTimeout(() => reject(new Error('timeout: ' + JSON.stringify(seen))), 8000);
                ws.addEventListener('message', (e) => {
                    const m = JSON.parse(e.data);
                    seen.push(m);
                    if (pred(m)) { clearTimeout(t); resolve(m); }
                });
            });
            const state = await wait((m) => m.type === 'state.full');
            const replies = [];
            for (const [i, msg] of [
                {type: 'stream.go_live'},
                {type: 'scene.set', layout: 'solo'},
                {type: 'guest.stage', guest: 1, on_stage: true},
                {type: 'stream.end'},
            ].entries()) {
                ws.send(JSON.stringify({...msg, ref: 'r' + i}));
                replies.push(await wait((m) => m.type === 'error' && m.ref === 'r' + i));
            }
            ws.close();
            return {state, replies, types: seen.map((m) => m.type)};
        }""",
        stream.pk,
    )
    assert result["state"]["role"] == "guest"
    assert "destinations" not in result["state"]
    assert all("not allowed" in reply["message"] for reply in result["replies"]), json.dumps(result["replies"])
    assert "destination.health" not in result["types"]
    stream.refresh_from_db()
    assert stream.status == Stream.Status.SCHEDULED
    assert (stream.scene or {}).get("layout") in (None, "grid")
