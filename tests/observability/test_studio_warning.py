"""Issue 17, point 5, as the host sees it: the studio page is not green while the show falls behind.

The media process's HealthPublisher (apps/shows/health.py) is fed the engine's samples, as the health
thread feeds it: a program at 0.90 of real time and a destination receiving 40 % of the show's bitrate.
After the 5 s hold the host's studio page (Daphne serving streamus.asgi:application, Chromium) shows
the sentence under the program and "Falling behind" on that destination's badge, not "Live"; the other
destination, at its bitrate, stays live. Back at real time, both warnings go. The page stays axe-clean.
"""

from __future__ import annotations

import pytest

from apps.shows import health as show_health
from apps.shows.health import HealthPublisher
from apps.streams.models import Stream
from tests.factories import DestinationFactory
from tests.observability.test_health import Clock, destination, program
from tests.support.axe import axe_violations, format_violations
from tests.support.browser import open_studio, wait_js

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]

PRODUCED_KBPS = 564.0


def samples(rtf: float, slow_kbps: float, slow_id: int, fine_id: int) -> list[dict]:
    return [
        program(rtf),
        destination(slow_id, kbps=slow_kbps, fps=24 * rtf, produced=PRODUCED_KBPS),
        destination(fine_id, kbps=PRODUCED_KBPS, fps=24 * rtf, produced=PRODUCED_KBPS),
    ]


def badge(page, destination_id: int) -> tuple[str, str]:
    state, text = page.evaluate(
        "(id) => { const b = document.querySelector(`#dest-${id} .st-dest-state`);"
        " return [b.dataset.state, b.textContent.trim()]; }",
        destination_id,
    )
    return state, text


def test_the_host_sees_the_show_falling_behind_on_the_program_and_the_destination(
    livekit, web, browser_for, user, stream
):
    slow = DestinationFactory(stream=stream, name="Slow ingest")
    fine = DestinationFactory(stream=stream, name="Fine ingest")
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.LIVE)
    page, csp = open_studio(browser_for("red"), web, user, stream)
    assert page.is_hidden("#program-health")

    clock = Clock()
    publisher = HealthPublisher(stream.pk, video_kbps=500, audio_kbps=64, clock=clock)
    try:
        # One sample a second (the engine's rate), on a clock the test moves: 5 s below the bar, then 2 more.
        for second in range(7):
            clock.now = 1000.0 + second
            publisher(samples(0.9, 0.4 * PRODUCED_KBPS, slow.pk, fine.pk))
        wait_js(page, "() => !document.getElementById('program-health').hidden", what="the program's warning")
        line = page.inner_text("#program-health")
        assert line.startswith(show_health.PROGRAM_BEHIND), line
        assert "(0.90\u00d7 real time)" in line, line
        assert page.evaluate("() => document.getElementById('studio-app').dataset.programFallingBehind") == "true"
        wait_js(
            page,
            "(id) => document.querySelector(`#dest-${id} .st-dest-state`).dataset.state === 'behind'",
            slow.pk,
            what="the slow destination's badge",
        )
        assert badge(page, slow.pk) == ("behind", "Falling behind")
        assert page.is_visible(f"#dest-{slow.pk} .st-dest-behind")
        assert "Falling behind: receiving 226 kbps" in page.inner_text(f"#dest-{slow.pk} .st-dest-behind")
        assert badge(page, fine.pk) == ("live", "Live")
        assert page.is_hidden(f"#dest-{fine.pk} .st-dest-behind")
        violations = axe_violations(page)
        assert violations == [], format_violations(violations)

        # Back at real time and full bitrate: the warnings go at the next sample.
        clock.now += 1
        publisher(samples(1.0, PRODUCED_KBPS, slow.pk, fine.pk))
        wait_js(page, "() => document.getElementById('program-health').hidden", what="the warning gone")
        wait_js(
            page,
            "(id) => document.querySelector(`#dest-${id} .st-dest-state`).dataset.state === 'live'",
            slow.pk,
            what="the slow destination live again",
        )
        assert badge(page, slow.pk) == ("live", "Live")
        assert page.is_hidden(f"#dest-{slow.pk} .st-dest-behind")
    finally:
        publisher.close()
    assert csp == []
