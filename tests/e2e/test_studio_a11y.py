"""Issue 15: every page accessible (axe-core, keyboard, live regions), the studio fits a laptop and a
phone, and the people list stays true through a resize, a reconnect and the end of the show.

axe-core comes from npm (node_modules/axe-core, installed by `make setup`) and runs inside the page
through the DevTools protocol: the page and its CSP stay exactly as they ship. Daphne serves
`streamus.asgi:application`; cameras are Chromium's fake devices; LiveKit is real.
"""

from __future__ import annotations

import pytest

from apps.branding import services as branding
from apps.streams import services as streams
from apps.streams.models import Guest
from tests.support.axe import axe_violations, format_violations
from tests.support.browser import join_as_guest, login, wait_js

from .conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]

LAPTOPS = [{"width": 1366, "height": 768}, {"width": 1440, "height": 900}]


def clean(page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{where}:\n{format_violations(violations)}"


def no_sideways_scroll(page, where: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{where} scrolls sideways: {width} px"


def test_every_page_is_axe_clean_on_desktop_and_phone(livekit, web, browser_for, user, stream):
    kit = branding.brand_kit_create(owner=user, name="House style")
    weekly = streams.stream_create(owner=user, title="A rather long title for the weekly roundup show")
    _, token = streams.guest_invite(stream=stream, by=user, display_name="", role="guest")
    _, phone_token = streams.guest_invite(stream=stream, by=user, display_name="", role="guest")
    pages = [
        "/",
        "/streams/new/",
        f"/streams/{weekly.pk}/",
        f"/studio/{stream.pk}/",
        "/brand-kits/",
        f"/brand-kits/{kit.pk}/",
        "/recordings/",
        "/library/",
        "/connections/",
        "/accounts/password/change/",
    ]
    browser = browser_for("red")
    for viewport in (DESKTOP, PHONE):
        anonymous = browser.new_context(viewport=viewport).new_page()
        for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
            assert anonymous.goto(web.url + path).status == 200
            clean(anonymous, f"{path} at {viewport['width']} px")
        context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
        login(context, web.url, user)
        page = context.new_page()
        for path in pages:
            assert page.goto(web.url + path).status == 200, path
            if path.startswith("/studio/"):
                wait_js(page, "() => document.getElementById('conn-state').dataset.state === 'open'", what="socket")
            clean(page, f"{path} at {viewport['width']} px")
            if viewport is PHONE:
                no_sideways_scroll(page, path)
                # Every page of the nav is on screen: no hidden scroller.
                hidden = page.evaluate(
                    """() => [...document.querySelectorAll('nav.nav a')].filter((a) => {
                        const r = a.getBoundingClientRect();
                        return r.width === 0 || r.right > window.innerWidth || r.left < 0;
                    }).map((a) => a.textContent.trim())"""
                )
                assert hidden == [], f"nav links off screen on {path}: {hidden}"
        context.close()

    # The guest's pages: the name form, the green room, backstage; desktop and phone.
    for viewport, invite in ((DESKTOP, token), (PHONE, phone_token)):
        context = browser_for("blue").new_context(
            viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE
        )
        page = context.new_page()
        page.goto(f"{web.url}/join/{invite}/")
        clean(page, f"guest name form at {viewport['width']} px")
        join_as_guest(page, web, invite, "Guest")
        clean(page, f"green room at {viewport['width']} px")
        page.click("#join-backstage")
        wait_js(page, "() => document.getElementById('conn-state').dataset.state === 'open'", what="guest socket")
        clean(page, f"backstage at {viewport['width']} px")
        if viewport is PHONE:
            no_sideways_scroll(page, "backstage")
            # A phone cannot share its screen: the button is not offered.
            assert page.is_hidden("#share-screen")
        context.close()


def test_studio_fits_a_laptop_and_a_phone(livekit, web, browser_for, user, stream):
    context = browser_for("red").new_context(viewport=LAPTOPS[0])
    login(context, web.url, user)
    page = context.new_page()
    page.goto(f"{web.url}/studio/{stream.pk}/")
    wait_js(page, "() => document.getElementById('self-view').videoWidth > 0", what="host camera")
    for viewport in LAPTOPS:
        page.set_viewport_size(viewport)
        below = page.evaluate(
            """() => ['preview-wrap', 'layout-picker', 'self-view', 'mute-mic', 'mute-cam', 'share-screen', 'go-live']
                .map((id) => [id, document.getElementById(id).getBoundingClientRect()])
                .filter(([, r]) => r.bottom > window.innerHeight || r.height === 0)
                .map(([id, r]) => `${id} ${Math.round(r.top)}-${Math.round(r.bottom)}`)"""
        )
        assert below == [], f"below the fold at {viewport}: {below}"
        scroll = page.evaluate("() => [document.documentElement.scrollHeight, window.innerHeight]")
        assert scroll[0] <= scroll[1], f"the page scrolls at {viewport}: {scroll}"
        # The side panels scroll on their own.
        side = page.evaluate(
            "() => { const s = document.querySelector('.st-side'); return [getComputedStyle(s).overflowY, s.scrollHeight > s.clientHeight]; }"
        )
        assert side == ["auto", True], side
        no_sideways_scroll(page, f"studio at {viewport['width']} px")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page, "studio on a phone")
    assert page.is_visible("#go-live") and page.is_visible("#program")


def test_keyboard_live_regions_and_a_people_list_that_stays_true(livekit, web_factory, browser_for, user, stream):
    web = web_factory()
    guest_row, token = streams.guest_invite(stream=stream, by=user, display_name="", role="guest")
    context = browser_for("red").new_context(viewport=DESKTOP)
    login(context, web.url, user)
    host = context.new_page()
    host.goto(f"{web.url}/studio/{stream.pk}/")
    wait_js(host, "() => document.getElementById('conn-state').dataset.state === 'open'", what="studio socket")

    # A skip link is the first Tab stop and lands in the content.
    host.keyboard.press("Tab")
    assert host.evaluate("() => document.activeElement.classList.contains('skip-link')")
    host.keyboard.press("Enter")
    assert host.evaluate("() => document.activeElement.id === 'main'")

    # The layout picker is one Tab stop; arrow keys move and choose.
    assert host.locator("[data-layout][tabindex='0']").count() == 1
    host.focus("[data-layout][tabindex='0']")
    checked = host.get_attribute("[data-layout][aria-checked='true']", "data-layout")
    host.keyboard.press("ArrowRight")
    host.wait_for_selector(f"[data-layout]:not([data-layout='{checked}'])[aria-checked='true']")
    now = host.evaluate("() => document.activeElement.dataset.layout")
    assert now != checked and host.get_attribute(f"[data-layout='{now}']", "aria-checked") == "true"
    assert host.locator("[data-layout][tabindex='0']").count() == 1
    stream.refresh_from_db()
    assert stream.scene["layout"] == now

    # A guest joins: the host's screen reader hears it; backstage the host sees their video.
    guest = browser_for("blue").new_page(viewport={"width": 1024, "height": 768})
    join_as_guest(guest, web, token, "Blue guest")
    guest.click("#join-backstage")
    identity = Guest.objects.get(pk=guest_row.pk).identity
    wait_js(host, "() => document.getElementById('sr-announcer').textContent.includes('joined')", what="join announced")
    wait_js(
        host,
        "(id) => { const v = document.querySelector(`[data-thumb='${id}']`); return v && v.videoWidth > 0 && v.videoWidth <= 320; }",
        identity,
        timeout=30,
        what="a backstage thumbnail at the lowest simulcast layer",
    )

    # The host mutes them: the guest is told, on screen and to their screen reader.
    host.click(f"#backstage [data-participant='{identity}'] button[aria-label='Mute Blue guest']")
    wait_js(
        guest,
        "() => document.getElementById('sr-announcer').textContent.includes('muted your microphone')",
        what="the guest hears they were muted",
    )

    # Leaving asks first.
    guest.click("#leave")
    guest.wait_for_selector("#leave-dialog[open]")
    guest.click("#leave-dialog button[value='stay']")
    assert guest.is_visible("#backstage")

    def people():
        return host.evaluate(
            """() => [...document.querySelectorAll('.st-person')].map((li) => [
                li.closest('ul').id, li.dataset.participant, li.dataset.role,
                li.querySelector('.st-person-name').textContent, li.querySelectorAll('button').length,
            ])"""
        )

    expected = [
        ["on-stage", f"host-{user.pk}", "host", user.username],
        ["backstage", identity, "guest", "Blue guest"],
    ]

    def settled():
        return [row[:4] for row in people()] == expected

    assert settled(), people()
    # A phone-sized window and back: the same list, the host still the host.
    host.set_viewport_size(PHONE)
    host.set_viewport_size(DESKTOP)
    assert settled(), people()
    assert host.inner_text("#stage-count") == "1"
    # The web process restarts: every socket reconnects and the list is rebuilt from the server, not doubled.
    web.stop()
    wait_js(host, "() => document.getElementById('conn-state').dataset.state !== 'open'", what="socket lost")
    web.start()
    wait_js(host, "() => document.getElementById('conn-state').dataset.state === 'open'", timeout=30, what="back")
    wait_js(
        guest, "() => document.getElementById('conn-state').dataset.state === 'open'", timeout=30, what="guest back"
    )
    wait_js(
        host,
        "(id) => document.querySelector(`#backstage [data-participant='${id}'][data-online='true']`) !== null",
        identity,
        what="guest online again",
    )
    assert settled(), people()

    # The end of the show: nobody nameless, nothing left to press.
    host.click("#go-live")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-live")
    host.click("#end-show")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-ended")
    wait_js(guest, "() => !document.getElementById('ended').hidden", what="guest told the show ended")
    wait_js(
        host,
        "() => document.querySelectorAll('.st-person button').length === 0",
        what="nothing left to press once the show ended",
    )
    rows = people()
    assert all(row[3] and row[3] != "?" for row in rows), rows
    assert all(row[4] == 0 for row in rows), f"buttons after the end: {rows}"
    assert [row[1] for row in rows if row[2] == "host"] == [f"host-{user.pk}"]
    for state in host.evaluate("() => [...document.querySelectorAll('.st-dest-state')].map((b) => b.dataset.state)"):
        assert state == "ended"
