"""The studio survives a Redis restart: the socket reconnects by itself and the full state resyncs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.streams import services
from apps.studio import services as studio_services
from apps.studio.services import guest_join
from tests.support.browser import open_studio, wait_js

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]


def test_studio_resyncs_after_redis_restart(livekit, web_factory, private_redis, browser_for, user, stream):
    web = web_factory(redis_url=private_redis.url)
    host, violations = open_studio(browser_for("red"), web, user, stream)
    host.wait_for_selector(f"#on-stage [data-participant='host-{user.pk}']")

    private_redis.stop()
    wait_js(host, "() => document.getElementById('conn-state').dataset.state !== 'open'", what="socket drops")

    # While Redis is down, the show changes: a guest joins and the host's co-worker (the API) puts them on stage.
    guest, _token = services.guest_invite(stream=stream, by=user, ttl=timedelta(hours=1))
    guest = guest_join(guest=guest, display_name="Late Larry")
    studio_services.guest_bring_on_stage(guest=guest, by=user)

    private_redis.start()  # empty: no presence, no groups, nothing remembered
    wait_js(host, "() => document.getElementById('conn-state').dataset.state === 'open'", timeout=30, what="reconnect")
    # state.full brought the change the studio missed.
    host.wait_for_selector(f"#on-stage [data-participant='guest-{guest.pk}']", timeout=10000)
    assert "Late Larry" in host.locator(f"[data-participant='guest-{guest.pk}']").inner_text()
    assert host.locator("#stage-count").inner_text() == "2"

    # And live events flow through the new Redis: a layout change round-trips to the page.
    host.keyboard.press("3")
    host.wait_for_selector("[data-layout='grid'][aria-checked='true']")
    host.keyboard.press("2")
    host.wait_for_selector("[data-layout='side_by_side'][aria-checked='true']")
    stream.refresh_from_db()
    assert stream.scene["layout"] == "side_by_side"
    assert violations == []
