"""Browser tests: Daphne serving the real app, headless Chromium with fake colour cameras, real LiveKit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from apps.streams import services
from tests.support.browser import browser_for, playwright_instance  # noqa: F401 - fixtures
from tests.support.live_server import private_redis, web, web_factory  # noqa: F401 - fixtures

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(autouse=True)
def _fresh_studio_keys(settings):
    """Stream ids restart with each test database; presence and chat kept in Redis must not."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("streamus:studio:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def make_invite(user):
    def make(stream, *, ttl: timedelta = timedelta(hours=2), role: str = "guest"):
        return services.guest_invite(stream=stream, by=user, ttl=ttl, role=role)

    return make
