"""Browser tests: Daphne serving the real app, headless Chromium with fake colour cameras, real LiveKit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from apps.streams import services

PHONE = {"width": 390, "height": 844}
from tests.support.browser import DESKTOP  # noqa: E402,F401 - one size for every studio test


@pytest.fixture(autouse=True)
def _fresh_studio_keys(settings):
    """Stream ids restart with each test database; what Redis keeps per stream id must not carry over.

    (studio presence and chat, the scene for the compositor, a show's stop flag and lock)
    """
    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("streamus:studio:*", "streamus:scene:*", "show:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    client.close()


@pytest.fixture
def make_invite(user):
    def make(stream, *, ttl: timedelta = timedelta(hours=2), role: str = "guest"):
        return services.guest_invite(stream=stream, by=user, ttl=ttl, role=role)

    return make
