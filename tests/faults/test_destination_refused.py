"""A destination refuses the stream key: it fails fast, says so plainly on that destination only, holds nothing,
and is asked again seconds apart, not in a tight loop; fixing the key puts it live at once.

The "platform" is nginx-rtmp whose on_publish hook answers 403 for the wrong key (it then closes the
connection in answer to `publish`, as Twitch does). The show runs through `run_show`, as a media worker
runs it; the destinations' rows are what the studio, the dashboard and the API show.
"""

from __future__ import annotations

import time

import pytest

from apps.destinations.models import StreamDestination
from apps.destinations.services import destination_update
from apps.shows import services as shows
from media.broadcast.pusher import REFUSED_RETRY_SECONDS
from tests.factories import DestinationFactory
from tests.support.rtmp import wait_for
from tests.support.shows import ShowThread, live_stream

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]

FAILS_FAST_SECONDS = 5.0


@pytest.fixture(autouse=True)
def _test_scene(settings):
    settings.BROADCAST_SOURCE = "test_scene"


def test_a_destination_that_refuses_the_key_fails_fast_and_alone(rtmp_servers, user):
    good, picky = rtmp_servers(2, publishes=True)
    picky.publishes.deny.add("wrong-key")
    stream = live_stream(owner=user)
    steady = DestinationFactory(stream=stream, rtmp_url=good.url, stream_key="right-key", name="Steady")
    refused = DestinationFactory(stream=stream, rtmp_url=picky.url, stream_key="wrong-key", name="Picky")
    show = ShowThread(stream.pk)
    show.start()
    try:
        assert show.started.wait(30)
        first = picky.publishes.wait("denied", "wrong-key", 1, timeout=15)

        # Fails fast, with a plain message on that destination.
        row = wait_for(
            lambda: (r := StreamDestination.objects.get(pk=refused.pk)).status == StreamDestination.Status.ERROR and r,
            FAILS_FAST_SECONDS + 5,
            message="the refusal never reached the destination's row",
        )
        assert time.monotonic() - first <= FAILS_FAST_SECONDS
        print(f"figure: refusal on the destination's row {time.monotonic() - first:.1f} s after the publish")
        assert row.last_error.startswith("127.0.0.1 refused the stream key")
        assert "Check this destination's stream key" in row.last_error
        assert "wrong-key" not in row.last_error
        # ... and holds nothing meanwhile: no connection, no packets queued for it.
        pusher = show.session.pushers[refused.pk]
        assert pusher.stats.state == "refused"
        wait_for(lambda: pusher._publisher is None, 5)
        assert not pusher._queue

        # Asked again seconds apart, never in a tight loop.
        second = picky.publishes.wait("denied", "wrong-key", 2, timeout=REFUSED_RETRY_SECONDS[0] + 5)
        assert second - first >= REFUSED_RETRY_SECONDS[0] - 1
        assert picky.publishes.count("denied", "wrong-key") == 2

        # The other destination never noticed: one publish, live, no error.
        assert good.publishes.count("publish", "right-key") == 1
        other = StreamDestination.objects.get(pk=steady.pk)
        assert (other.status, other.last_error) == (StreamDestination.Status.CONNECTED, "")

        # The host fixes the key: the pusher starts again at once with it (no waiting out the backoff).
        fixed_at = time.monotonic()
        destination_update(destination=refused, by=user, stream_key="fixed-key")
        picky.publishes.wait("publish", "fixed-key", 1, timeout=10)
        assert time.monotonic() - fixed_at <= FAILS_FAST_SECONDS
        wait_for(lambda: StreamDestination.objects.get(pk=refused.pk).status == StreamDestination.Status.CONNECTED, 10)
    finally:
        stream.refresh_from_db()
        shows.show_end(stream=stream, by=user)
        show.join(15)
    assert show.outcome == "ended"
    assert picky.publishes.count("denied", "wrong-key") == 2
    assert len(good.recordings("right-key")) == 1
