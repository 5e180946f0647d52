"""The whole show in real browsers: create, invite, stage, side by side, live to two RTMP servers, guest only, end.

Host (red camera) and guest (blue camera) are two Chromium processes. The web
process is Daphne; the media side is the broadcast engine (apps/streams/broadcast.py
`run_show`) with the LiveKit compositor (workers/compositor) as its program,
run here on a thread the way a media worker runs it. Both RTMP servers'
recordings are decoded and their frames checked: left red / right blue while
side by side, then all blue once the host leaves the stage with the solo layout.
"""

from __future__ import annotations

import pytest

from apps.destinations.models import StreamDestination
from apps.recordings.models import Recording
from apps.streams.models import Guest, Stream
from tests.support.browser import join_as_guest, wait_js, wait_preview
from tests.support.media_worker import MediaWorker, blue, frames, media_settings, red  # noqa: F401 - fixture
from tests.support.rtmp import (
    rtmp_servers,  # noqa: F401 - fixture
    wait_for,
)

from .conftest import DESKTOP

pytestmark = [
    pytest.mark.browser,
    pytest.mark.livekit,
    pytest.mark.media,
    pytest.mark.django_db(transaction=True),
]


def test_full_show(livekit, media_settings, web_factory, browser_for, rtmp_servers, user, password):  # noqa: F811
    web = web_factory(extra_env={"CELERY_TASK_ALWAYS_EAGER": "1", "ALLOW_PRIVATE_DESTINATIONS": "1"})
    ingest = rtmp_servers(2)

    # --- the host logs in, creates a stream and adds two destinations, through the pages ---------
    host_ctx = browser_for("red").new_context(viewport=DESKTOP)
    host = host_ctx.new_page()
    host.goto(f"{web.url}/accounts/login/")
    host.fill("#id_username", user.email)
    host.fill("#id_password", password)
    host.click("form button[type=submit]")
    host.wait_for_url(f"{web.url}/")
    host.goto(f"{web.url}/streams/new/")
    host.fill("#id_title", "Colour check live")
    host.click("details.advanced summary")  # output settings are folded away by default
    host.select_option("#id_resolution", "480p")
    host.select_option("#id_fps", "30")
    host.fill("#id_video_bitrate_kbps", "600")
    host.fill("#id_audio_bitrate_kbps", "64")
    host.click("#main form button[type=submit]")
    host.wait_for_url("**/streams/*/")
    stream = Stream.objects.get(owner=user, title="Colour check live")
    for index, server in enumerate(ingest):
        host.select_option("#id_platform", "custom")
        host.fill("#id_name", f"Ingest {index}")
        host.fill("#id_rtmp_url", server.url)
        host.fill("#id_stream_key", f"key{index}")
        host.click("#destination-create button[type=submit]")
        host.wait_for_selector(f"text=Ingest {index}")
    assert StreamDestination.objects.filter(stream=stream).count() == 2

    # --- studio, invite, the guest joins from a second browser ------------------------------------
    host.click("#open-studio")
    host.wait_for_url(f"{web.url}/studio/{stream.pk}/")
    wait_js(host, "() => document.getElementById('conn-state').dataset.state === 'open'", what="studio socket")
    wait_preview(host, 0.5, 0.5, "red", "host camera in the preview")
    host.click("#create-invite")
    token = host.input_value("#invite-url").rstrip("/").rsplit("/", 1)[-1]
    guest = browser_for("blue").new_page(viewport={"width": 1024, "height": 768})
    join_as_guest(guest, web, token, "Blue guest")
    guest.click("#join-backstage")
    guest_row = Guest.objects.get(stream=stream)

    # --- on stage, side by side, live ----------------------------------------------------------------
    host.wait_for_selector(f"#backstage [data-participant='{guest_row.identity}'][data-online='true']")
    host.click(f"#backstage [data-participant='{guest_row.identity}'] [data-action='stage']")
    host.click("[data-layout='side_by_side']")
    wait_preview(host, 0.75, 0.5, "blue", "guest on the right in the preview")
    host.click("#go-live")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-live")
    wait_for(lambda: Stream.objects.get(pk=stream.pk).is_live, timeout=10, message="stream live")
    worker = MediaWorker(stream.pk)
    worker.start()
    for index, server in enumerate(ingest):
        try:
            server.wait_for_publish(f"key{index}", timeout=60, min_bytes=60_000)
        except AssertionError as exc:
            states = list(StreamDestination.objects.filter(stream=stream).values_list("status", "last_error"))
            raise AssertionError(f"{exc}; worker {worker.outcome!r} {worker.error!r}; destinations {states}") from exc
    # The destinations panel follows the pushers' health live: state, bitrate and its sparkline.
    for destination in StreamDestination.objects.filter(stream=stream):
        wait_js(
            host,
            """(id) => {
                const row = document.getElementById(`dest-${id}`);
                const kbps = parseInt(row.querySelector('.st-dest-bitrate').textContent, 10);
                return row.querySelector('.st-dest-state').dataset.state === 'live' && kbps > 0;
            }""",
            destination.pk,
            timeout=20,
            what=f"health of destination {destination.pk} in the studio",
        )

    # --- guest only: the host leaves the stage, solo layout ------------------------------------------
    host.click(f"#on-stage [data-participant='host-{user.pk}'] button")
    host.click("[data-layout='solo']")
    wait_preview(host, 0.25, 0.5, "blue", "guest only in the preview")
    sizes = [server.recordings(f"key{i}")[-1].stat().st_size for i, server in enumerate(ingest)]
    wait_for(
        lambda: all(s.recordings(f"key{i}")[-1].stat().st_size > sizes[i] + 100_000 for i, s in enumerate(ingest)),
        timeout=60,
        message="more program after the switch",
    )

    # --- end the show ----------------------------------------------------------------------------------
    host.click("#end-show")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-ended")
    worker.join(60)
    assert not worker.is_alive(), "the show did not stop"
    assert worker.error is None, worker.error

    for index, server in enumerate(ingest):
        seen = frames(server.recordings(f"key{index}")[-1])
        side = next((i for i, (left, right) in enumerate(seen) if red(left) and blue(right)), None)
        assert side is not None, f"ingest {index}: never red left / blue right: {seen[::8]}"
        solo = next((i for i, (left, right) in enumerate(seen[side:], side) if blue(left) and blue(right)), None)
        assert solo is not None, f"ingest {index}: never guest only after side by side: {seen[side::8]}"

    # --- the recording is in the library and plays in the page ----------------------------------------
    # The program recording (the show's own; people on stage also upload local recordings of their camera).
    recording = wait_for(
        lambda: Recording.objects.filter(stream=stream, kind=Recording.Kind.PROGRAM).first(),
        timeout=30,
        message="program recording row",
    )
    assert recording.duration_seconds > 5
    host.goto(f"{web.url}/recordings/")
    player = host.locator(f"#recording-{recording.pk} video")
    player.wait_for()
    player.evaluate("(v) => { v.muted = true; return v.play(); }")
    wait_js(
        host,
        "(id) => { const v = document.querySelector(`#recording-${id} video`); return v && v.currentTime > 0.5; }",
        recording.pk,
        timeout=20,
        what="the recording plays in the library page",
    )
    size = host.evaluate(
        "(id) => { const v = document.querySelector(`#recording-${id} video`); return [v.videoWidth, v.videoHeight]; }",
        recording.pk,
    )
    assert size == [854, 480]
