"""The mobile app end to end, on its web build in Chromium at phone size, against the real server.

A host signs in through the app (bearer mode), creates a stream, adds an RTMP destination and
an invite, opens the studio (red camera). A guest opens the invite link in the app (blue
camera): name, green room, backstage. The host brings the guest on stage, picks side by side
and goes live; the RTMP server's recording is decoded and shows the host left (red) and the
guest right (blue). The host mutes the guest (the guest's screen says so), ends the show, and
the guest is told. Web process: Daphne (streamus.asgi); media: the broadcast engine with the
LiveKit compositor on a thread, as a media worker runs it (see test_full_show.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.destinations.models import StreamDestination
from apps.streams.models import Guest, Stream
from tests.support.media_worker import MediaWorker, blue, frames, media_settings, red  # noqa: F401 - fixture
from tests.support.mobile_web import mobile_web  # noqa: F401 - fixture
from tests.support.rtmp import rtmp_servers, wait_for  # noqa: F401 - fixture

from .conftest import PHONE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.livekit,
    pytest.mark.media,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"


def phone(browser):
    page = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True).new_page()
    # The app's own errors end up in the test's output when it fails.
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    page.on(
        "console", lambda message: print(f"console {message.type}: {message.text}") if message.type == "error" else None
    )
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"mobile-{name}.png"))


def test_host_and_guest_run_a_show_from_the_app(
    livekit,
    media_settings,  # noqa: F811
    web_factory,
    browser_for,
    rtmp_servers,  # noqa: F811
    mobile_web,  # noqa: F811
    user,
    password,
):
    web = web_factory(
        extra_env={
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "ALLOW_PRIVATE_DESTINATIONS": "1",
            "API_CORS_ORIGINS": mobile_web.url,
        }
    )
    (ingest,) = rtmp_servers(1)
    app = mobile_web.url

    # --- the host signs in through the app -------------------------------------------------------
    host = phone(browser_for("red"))
    host.goto(f"{app}/sign-in")
    host.get_by_test_id("server").fill(web.url)
    host.get_by_test_id("email").fill(user.email)
    host.get_by_test_id("password").fill(password)
    shot(host, "sign-in")
    host.get_by_test_id("sign-in-submit").click()
    host.get_by_test_id("new-stream").wait_for()

    # --- creates a stream, adds a destination and an invite ---------------------------------------
    host.get_by_test_id("new-stream").click()
    host.get_by_test_id("stream-title").fill("Phone show")
    host.get_by_test_id("resolution-480p").click()
    host.get_by_test_id("stream-submit").click()
    host.get_by_test_id("stream-detail").wait_for()
    stream = Stream.objects.get(owner=user, title="Phone show")
    assert stream.resolution == "480p"
    Stream.objects.filter(pk=stream.pk).update(fps=30, video_bitrate_kbps=600, audio_bitrate_kbps=64)

    host.get_by_test_id("platform-custom").click()
    host.get_by_test_id("destination-name").fill("Local ingest")
    host.get_by_test_id("destination-url").fill(ingest.url)
    host.get_by_test_id("destination-key").fill("phonekey1234")
    host.get_by_test_id("destination-add").click()
    destination = wait_for(
        lambda: StreamDestination.objects.filter(stream=stream).first(), timeout=10, message="destination row"
    )
    row = host.get_by_test_id(f"destination-{destination.pk}")
    row.wait_for()
    assert "phonekey1234" not in row.inner_text()  # masked as the server sends it
    assert "1234" in row.inner_text()
    assert host.get_by_test_id("destination-key").input_value() == ""  # the key left the form

    host.get_by_test_id("invite").click()
    invite_url = host.get_by_test_id("invite-url").inner_text().strip()
    token = invite_url.rstrip("/").rsplit("/", 1)[-1]
    shot(host, "stream")

    # --- the studio ---------------------------------------------------------------------------------
    host.get_by_test_id("open-studio").click()
    host.get_by_test_id("studio").wait_for()
    host.get_by_text("camera live in the room").wait_for(timeout=30_000)

    # --- the guest opens the invite link in the app -----------------------------------------------
    guest = phone(browser_for("blue"))
    guest.goto(f"{app}/join/{token}?server={web.url}")
    guest.get_by_test_id("guest-name").fill("Blue guest")
    shot(guest, "join")
    guest.get_by_test_id("name-continue").click()
    guest.get_by_test_id("join-green-room").wait_for()
    guest.wait_for_function("() => document.querySelector('[data-testid=local-preview]')?.videoWidth > 0")
    # Chromium's fake microphone beeps: the level meter moves.
    guest.wait_for_function(
        "() => Number(document.querySelector('[data-testid=mic-meter]')?.getAttribute('aria-valuenow')) > 0",
        timeout=15_000,
    )
    shot(guest, "green-room")
    guest.get_by_test_id("join-backstage").click()
    guest.get_by_text("You are backstage").wait_for(timeout=30_000)
    guest_row = Guest.objects.get(stream=stream)
    assert guest_row.display_name == "Blue guest"

    # --- on stage, side by side, live ------------------------------------------------------------------
    identity = guest_row.identity
    host.get_by_test_id(f"stage-{identity}").click()
    guest.get_by_text("You are ON STAGE").wait_for(timeout=15_000)
    host.get_by_test_id("layout-side_by_side").click()
    wait_for(lambda: Stream.objects.get(pk=stream.pk).scene.get("layout") == "side_by_side", timeout=10)
    host.get_by_test_id("go-live").click()
    host.get_by_test_id("confirm-ok").click()
    host.get_by_test_id("on-air-clock").wait_for(timeout=15_000)
    wait_for(lambda: Stream.objects.get(pk=stream.pk).is_live, timeout=10, message="stream live")
    worker = MediaWorker(stream.pk)
    worker.start()
    try:
        ingest.wait_for_publish("phonekey1234", timeout=60, min_bytes=150_000)
    except AssertionError as exc:
        states = list(StreamDestination.objects.filter(stream=stream).values_list("status", "last_error"))
        raise AssertionError(f"{exc}; worker {worker.outcome!r} {worker.error!r}; destinations {states}") from exc
    host.get_by_test_id(f"health-state-{destination.pk}").get_by_text("live").wait_for(timeout=20_000)
    shot(host, "studio")
    host.get_by_test_id("destination-health").scroll_into_view_if_needed()
    shot(host, "studio-health")

    # --- the host mutes the guest; the guest is told --------------------------------------------------
    host.get_by_test_id(f"mute-{identity}").click()
    guest.get_by_test_id("muted-by-host").wait_for(timeout=10_000)
    shot(guest, "on-stage")
    assert Guest.objects.get(pk=guest_row.pk).audio_enabled is False

    # --- the host ends the show; the guest is told -----------------------------------------------------
    host.get_by_test_id("end-show").click()
    host.get_by_test_id("confirm-ok").click()
    guest.get_by_test_id("ended-reason").wait_for(timeout=15_000)
    assert "ended" in guest.get_by_test_id("ended-reason").inner_text()
    worker.join(60)
    assert not worker.is_alive(), "the show did not stop"
    assert worker.error is None, worker.error

    seen = frames(ingest.recordings("phonekey1234")[-1])
    assert any(red(left) and blue(right) for left, right in seen), f"never host left / guest right: {seen[::8]}"
