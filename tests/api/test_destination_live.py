"""POST/DELETE /api/v1/destinations/<pk>/live/: start or stop one destination's push while the show runs.

The command travels to the running show through its Redis control list (the show itself is exercised in
tests/broadcast/test_show.py and tests/compositor/test_full_show.py); here: what the API accepts and refuses.
"""

from __future__ import annotations

import json

import pytest
import redis
from django.urls import reverse

from apps.streams import broadcast
from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def control(settings):
    r = redis.Redis.from_url(settings.REDIS_URL)
    keys: list[str] = []

    def commands(stream_id: int) -> list[dict]:
        keys.append(broadcast.control_key(stream_id))
        return [json.loads(c) for c in r.lrange(broadcast.control_key(stream_id), 0, -1)]

    yield commands
    if keys:
        r.delete(*keys)


def live_destination(owner, **kwargs):
    stream = StreamFactory(owner=owner, status=Stream.Status.LIVE)
    redis.Redis.from_url(broadcast.settings.REDIS_URL).delete(broadcast.control_key(stream.pk))
    return DestinationFactory(stream=stream, **kwargs)


def test_owner_adds_and_removes_a_destination_while_live(user, user_api, control, django_capture_on_commit_callbacks):
    destination = live_destination(user)
    url = reverse("api-destination-live", kwargs={"pk": destination.pk})
    with django_capture_on_commit_callbacks(execute=True):
        added = user_api.post(url)
    assert added.status_code == 202, added.content
    assert added.json()["id"] == destination.pk
    assert "live_sk_test" not in added.content.decode()  # the key stays masked
    with django_capture_on_commit_callbacks(execute=True):
        removed = user_api.delete(url)
    assert removed.status_code == 202
    assert control(destination.stream_id) == [
        {"op": "add", "id": destination.pk},
        {"op": "remove", "id": destination.pk},
    ]


def test_refusals_say_why_and_send_nothing(
    user, user_api, other_user, control, settings, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    # Callbacks run: a refused request must not have queued a command for after its commit.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scheduled = DestinationFactory(stream=StreamFactory(owner=user))
        response = user_api.post(reverse("api-destination-live", kwargs={"pk": scheduled.pk}))
        assert response.status_code == 400
        assert "not live" in response.content.decode()
        assert user_api.delete(reverse("api-destination-live", kwargs={"pk": scheduled.pk})).status_code == 400

        disabled = live_destination(user, enabled=False)
        response = user_api.post(reverse("api-destination-live", kwargs={"pk": disabled.pk}))
        assert response.status_code == 400
        assert "Enable the destination" in response.content.decode()

        # The host is checked again before a push starts (it may resolve elsewhere now).
        settings.ALLOW_PRIVATE_DESTINATIONS = False
        private = live_destination(user, rtmp_url="rtmp://169.254.169.254/live")
        response = user_api.post(reverse("api-destination-live", kwargs={"pk": private.pk}))
        assert response.status_code == 400
        assert "private or reserved address" in response.content.decode()

        stranger = APIClient()
        stranger.force_authenticate(other_user)
        theirs = live_destination(user)
        assert stranger.post(reverse("api-destination-live", kwargs={"pk": theirs.pk})).status_code == 404
    assert callbacks == []
    for d in (scheduled, disabled, private, theirs):
        assert control(d.stream_id) == []
