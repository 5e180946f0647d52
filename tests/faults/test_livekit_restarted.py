"""livekit-server restarted mid-show: the show goes on, the compositor rejoins, the guest's page comes back.

A LiveKit server of this test's own (the session's is shared) is stopped and started again on the same ports, as
a deploy or a crash-and-restart does. It comes back empty: no rooms, and rooms are not created on join
(`auto_create: false`). The compositor must open the room again itself before it rejoins; the guest's page
(Chromium, red camera, the real guest page on Daphne) must find its way back by itself, with no click. Evidence:
the ingest's on_publish hooks (one publish: the show was never restarted) and its recording decoded frame by
frame (the guest, then not the guest while the SFU is away, then the guest again).
"""

from __future__ import annotations

import concurrent.futures
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from apps.rtc import services as rtc
from apps.shows import services as shows
from apps.streams import services as streams
from apps.streams.models import Guest, Stream
from apps.studio import services as studio
from tests.factories import DestinationFactory, StreamFactory
from tests.support.browser import DESKTOP, join_as_guest
from tests.support.livekit import TEST_API_KEY, TEST_API_SECRET, LiveKitServer
from tests.support.rtmp import judged_frames, wait_for

from .conftest import FPS, KEY

pytestmark = [pytest.mark.media, pytest.mark.livekit, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BACK_SECONDS = 10.0  # the guest on the program again within this of LiveKit being back


@pytest.fixture
def own_livekit(settings, tmp_path):
    server = LiveKitServer.on_free_ports(api_key=TEST_API_KEY, api_secret=TEST_API_SECRET, log_path=tmp_path / "lk.log")
    server.start()
    settings.LIVEKIT_URL = server.url
    settings.LIVEKIT_API_KEY = server.api_key
    settings.LIVEKIT_API_SECRET = server.api_secret
    yield server
    server.stop()


def off_the_loop(fn, /, **kwargs):  # type: ignore[no-untyped-def]
    """Call `fn` on a thread of its own: Playwright's sync API keeps an event loop running on this one, and
    LiveKit calls (asyncio.run, async_to_sync) refuse to run inside it."""
    from django.db import connection

    def call():  # type: ignore[no-untyped-def]
        try:
            return fn(**kwargs)
        finally:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result(60)


def participants(server: LiveKitServer, stream: Stream) -> set[str]:
    import asyncio

    from livekit import api

    async def go() -> set[str]:
        lk = api.LiveKitAPI(server.http_url, server.api_key, server.api_secret)
        try:
            listing = await lk.room.list_participants(api.ListParticipantsRequest(room=rtc.room_name(stream)))
            return {p.identity for p in listing.participants}
        except api.TwirpError:
            return set()  # no such room (yet)
        finally:
            await lk.aclose()

    return off_the_loop(asyncio.run, main=go())


def _guest_red(frame) -> bool:
    rgb = frame.to_ndarray(format="rgb24")
    h, w = rgb.shape[:2]
    r, g, b = (int(np.median(rgb[h // 2 - 6 : h // 2 + 6, w // 2 - 6 : w // 2 + 6, c])) for c in range(3))
    return r > 170 and g < 90 and b < 90


def guest_on_air(path: Path) -> list[tuple[float, bool]]:
    """(seconds, whether the middle of the picture is the guest's red camera) for every frame so far."""
    return judged_frames(path, _guest_red, "guest-red")  # type: ignore[return-value]


def test_livekit_restarted_mid_show_the_compositor_rejoins_and_the_guests_page_comes_back(
    own_livekit, web_factory, browser_for, user, rtmp_servers, media_workers
):
    (server,) = rtmp_servers(1, publishes=True)
    media_workers(1, extra_env={"BROADCAST_SOURCE": "compositor"})
    web = web_factory()
    stream = StreamFactory(
        owner=user,
        resolution="480p",
        fps=FPS,
        video_bitrate_kbps=500,
        audio_bitrate_kbps=64,
        recording_enabled=False,
        scene={"host_on_stage": False, "layout": "solo"},
    )
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key=KEY)
    guest, token = streams.guest_invite(stream=stream, by=user, ttl=timedelta(hours=1))
    page = browser_for("red").new_context(viewport=DESKTOP).new_page()
    join_as_guest(page, web, token, "Red")
    page.click("#join-backstage")
    wait_for(lambda: guest.identity in participants(own_livekit, stream), 20, interval=0.2, message="guest not in")
    off_the_loop(studio.guest_bring_on_stage, guest=Guest.objects.get(pk=guest.pk), by=user)
    off_the_loop(shows.show_go_live, stream=Stream.objects.get(pk=stream.pk), by=user)
    on_air = server.publishes.wait("publish", KEY, 1, timeout=60)
    path = server.wait_for_publish(KEY, timeout=30)
    wait_for(lambda: any(red for _t, red in guest_on_air(path)), 30, interval=0.5, message="the guest never on air")

    gone_at = time.monotonic() - on_air  # seconds into the program
    own_livekit.stop()
    own_livekit.start()  # same ports, no rooms
    back_at = time.monotonic() - on_air
    print(f"figure: LiveKit away for {back_at - gone_at:.1f} s")

    # The compositor opens the room again by itself and rejoins.
    compositor = rtc.compositor_identity(stream)
    wait_for(
        lambda: compositor in participants(own_livekit, stream),
        BACK_SECONDS,
        interval=0.2,
        message="the compositor never rejoined",
    )
    print(f"figure: the compositor rejoined {time.monotonic() - on_air - back_at:.1f} s after LiveKit was back")

    # The guest's page comes back by itself, and with it the guest on the program. In between the program showed
    # something else (the name card, the slate): it did not freeze on the guest's last picture.
    def back_on_air() -> float | None:
        frames = guest_on_air(path)
        away = next((i for i, (t, red) in enumerate(frames) if t > gone_at and not red), None)
        return None if away is None else next((t for t, red in frames[away:] if red), None)

    red_at = wait_for(back_on_air, BACK_SECONDS + 20, interval=0.5, message="the guest never came back on air")
    print(f"figure: the guest back on the program {red_at - back_at:.1f} s after LiveKit was back")
    assert red_at - back_at <= BACK_SECONDS
    # The show itself never stopped: one publish at the ingest.
    assert server.publishes.count("publish", KEY) == 1
