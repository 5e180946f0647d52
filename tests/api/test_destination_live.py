"""POST/DELETE /api/v1/destinations/<pk>/live/: start or stop one destination's push while the show runs.

The running show follows the destination rows (apps/shows/runner.py reconciles; the show itself is
exercised in tests/shows/); here: what the API writes, that it wakes the show, and what it refuses.
"""

from __future__ import annotations

import pytest
import redis
from django.urls import reverse

from apps.core.realtime import show_wake_key
from apps.destinations.models import StreamDestination
from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def wakes(settings):
    r = redis.Redis.from_url(settings.REDIS_URL)
    seen: list[str] = []

    def count(stream_id: int) -> int:
        seen.append(show_wake_key(stream_id))
        return int(r.llen(show_wake_key(stream_id)))

    yield count
    if seen:
        r.delete(*seen)


def live_destination(owner, settings, **kwargs):
    stream = StreamFactory(owner=owner, status=Stream.Status.LIVE)
    redis.Redis.from_url(settings.REDIS_URL).delete(show_wake_key(stream.pk))
    return DestinationFactory(stream=stream, **kwargs)


def test_owner_starts_and_stops_a_destination_while_live(
    user, user_api, wakes, settings, django_capture_on_commit_callbacks
):
    destination = live_destination(user, settings, enabled=False)
    url = reverse("api-destination-live", kwargs={"pk": destination.pk})
    with django_capture_on_commit_callbacks(execute=True):
        added = user_api.post(url)
    assert added.status_code == 202, added.content
    assert added.json()["id"] == destination.pk and added.json()["enabled"] is True
    assert "live_sk_test" not in added.content.decode()  # the key stays masked
    assert StreamDestination.objects.get(pk=destination.pk).enabled
    assert wakes(destination.stream_id) == 1  # the running show looks at once
    with django_capture_on_commit_callbacks(execute=True):
        removed = user_api.delete(url)
    assert removed.status_code == 202
    assert not StreamDestination.objects.get(pk=destination.pk).enabled
    assert wakes(destination.stream_id) == 2


def test_refusals_say_why_and_change_nothing(
    user, user_api, other_user, wakes, settings, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    # Callbacks run: a refused request must not have woken a show after its commit.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scheduled = DestinationFactory(stream=StreamFactory(owner=user), enabled=False)
        response = user_api.post(reverse("api-destination-live", kwargs={"pk": scheduled.pk}))
        assert response.status_code == 400
        assert "not live" in response.content.decode()
        assert user_api.delete(reverse("api-destination-live", kwargs={"pk": scheduled.pk})).status_code == 400

        # The host is checked again before a push starts (it may resolve elsewhere now).
        settings.ALLOW_PRIVATE_DESTINATIONS = False
        private = live_destination(user, settings, rtmp_url="rtmp://169.254.169.254/live", enabled=False)
        response = user_api.post(reverse("api-destination-live", kwargs={"pk": private.pk}))
        assert response.status_code == 400
        assert "private or reserved address" in response.content.decode()

        stranger = APIClient()
        stranger.force_authenticate(other_user)
        theirs = live_destination(user, settings, enabled=False)
        assert stranger.post(reverse("api-destination-live", kwargs={"pk": theirs.pk})).status_code == 404
    assert callbacks == []
    for d in (scheduled, private, theirs):
        assert not StreamDestination.objects.get(pk=d.pk).enabled
        assert wakes(d.stream_id) == 0
