"""The studio websocket cut for 5, 25 and 84 s: the host's studio and a guest's page come back by themselves
and show the show as it is, with nothing stale.

Both pages reach the real web process (Daphne, `streamus.asgi:application`) through a TCP proxy that the
test cuts (tests/support/cut_proxy.py): for 5 and 84 s it resets every connection and refuses new ones (a
proxy restarting); for 25 s it keeps the connections open and passes nothing (a NAT or proxy dropping them
without a word, which the browser never reports: the page's own heartbeat must notice). While each cut
lasts, the show changes through the services, as the REST API or another tab would change it: a guest
brought on stage, the host muting them, the show ending. LiveKit is reached directly, as it is on its own
port in production.
"""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from apps.shows import services as shows
from apps.streams import services as streams
from apps.streams.models import Stream
from apps.studio import services as studio
from tests.support.browser import DESKTOP, join_as_guest, open_studio, wait_js
from tests.support.cut_proxy import CutProxy

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]

OPEN = "() => document.getElementById('conn-state').dataset.state === 'open'"
NOT_OPEN = "() => document.getElementById('conn-state').dataset.state !== 'open'"
# Back within this long of the cut's end: the pages' backoff tops out at 8 s (±25 % jitter).
BACK_WITHIN = 20.0


@pytest.fixture
def proxy(web):
    proxy = CutProxy(web.port).start()
    yield proxy
    proxy.stop()


def cut_for(proxy: CutProxy, mode: str, seconds: float, pages: dict, during) -> None:
    """Cut the pages' sockets for `seconds`; each page must say it lost the studio before the cut ends."""
    cut_at = time.monotonic()
    proxy.cut(mode)
    for name, page in pages.items():
        wait_js(page, NOT_OPEN, timeout=seconds - (time.monotonic() - cut_at), what=f"the {name} noticing the cut")
        print(f"figure: {mode} cut of {seconds:.0f} s, the {name} said so after {time.monotonic() - cut_at:.1f} s")
    during()
    remaining = seconds - (time.monotonic() - cut_at)
    assert remaining > 0, "the changes took longer than the cut"
    time.sleep(remaining)  # the cut's length is the fault itself, not a wait for an event
    proxy.restore()
    back_from = time.monotonic()
    for name, page in pages.items():
        wait_js(page, OPEN, timeout=BACK_WITHIN, what=f"the {name} reconnecting")
        print(f"figure: the {name} reconnected {time.monotonic() - back_from:.1f} s after the {seconds:.0f} s cut")


def test_host_and_guest_pages_resync_after_their_sockets_are_cut_for_5_25_and_84_s(
    livekit, web, proxy, browser_for, user, stream
):
    # A show on air (no media worker: what goes out is not this test's subject, the studio's word is).
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.LIVE, started_at=timezone.now())
    site = SimpleNamespace(url=proxy.url)
    host, violations = open_studio(browser_for("red"), site, user, stream)
    host.wait_for_selector("#onair:not([hidden])")

    guest, token = streams.guest_invite(stream=stream, by=user, ttl=timedelta(hours=1))
    page = browser_for("blue").new_context(viewport=DESKTOP).new_page()
    join_as_guest(page, site, token, "Cara Cut")
    page.click("#join-backstage")
    wait_js(page, OPEN, what="the guest's socket")
    row = f"[data-participant='guest-{guest.pk}']"
    host.wait_for_selector(f"#backstage {row}")
    pages = {"host": host, "guest": page}

    # 5 s, connections reset: the guest is brought on stage meanwhile.
    cut_for(proxy, "close", 5, pages, lambda: studio.guest_bring_on_stage(guest=guest, by=user))
    host.wait_for_selector(f"#on-stage {row}", timeout=5000)
    assert host.locator("#stage-count").inner_text() == "2"
    wait_js(page, "() => document.getElementById('stage-badge').textContent === 'On stage'", what="guest on stage")
    assert "live" in page.locator("#stage-text").inner_text()

    # 25 s, silent: nothing passes and nothing closes. The host mutes the guest meanwhile.
    cut_for(proxy, "silent", 25, pages, lambda: studio.guest_set_media(guest=guest, by=user, audio=False))
    wait_js(host, "(row) => document.querySelector(row).textContent.includes('muted')", f"#on-stage {row}")
    wait_js(
        page,
        "() => document.querySelector('#mute-mic span').textContent === 'Ask to unmute'",
        what="the guest's button after the host's mute",
    )
    wait_js(  # and told so, although the mute happened while the page was away
        page,
        "() => document.getElementById('sr-announcer').textContent === 'The host muted your microphone.'",
        what="the guest told about the mute",
    )

    # 84 s, connections reset: the show ends meanwhile. Nothing may still say live, nobody still on stage.
    cut_for(proxy, "close", 84, pages, lambda: shows.show_end(stream=Stream.objects.get(pk=stream.pk), by=user))
    wait_js(host, "() => document.getElementById('stream-status').textContent === 'Ended'", what="host: ended")
    assert host.locator("#onair").is_hidden() and host.locator("#end-show").is_hidden()
    assert host.locator(f"#on-stage {row}").count() == 0
    assert host.locator(row).count() <= 1, "the guest listed twice"
    page.wait_for_selector("#ended:not([hidden])", timeout=5000)
    assert page.locator("#ended-title").inner_text() == "The show has ended"
    assert page.locator("#onair").is_hidden()
    assert violations == []
