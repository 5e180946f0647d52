"""Fake platforms on loopback, the settings pointing at them, and a helper that walks the OAuth dance."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from apps.destinations.models import ConnectedAccount
from tests.platforms.fakes import FakeFacebook, FakePlatform, FakeTwitch, FakeYouTube

SITE = "http://testserver"


def _serve(settings, fake: FakePlatform) -> Iterator[FakePlatform]:
    fake.start()
    for key, value in fake.settings().items():  # type: ignore[attr-defined]
        setattr(settings, key, value)
    try:
        yield fake
    finally:
        fake.stop()
        # Whatever the test did, the code never sent anything the platform would refuse as malformed.
        assert fake.violations == [], fake.violations


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.BROADCAST_SOURCE = "test_scene"  # real video to the platforms' ingests, no LiveKit needed
    for prefix in ("YOUTUBE", "TWITCH", "FACEBOOK"):
        setattr(settings, f"{prefix}_CLIENT_ID", "")
        setattr(settings, f"{prefix}_CLIENT_SECRET", "")


@pytest.fixture
def youtube(settings) -> Iterator[FakeYouTube]:
    yield from _serve(settings, FakeYouTube(f"{SITE}/connections/youtube/callback/"))  # type: ignore[misc]


@pytest.fixture
def twitch(settings) -> Iterator[FakeTwitch]:
    yield from _serve(settings, FakeTwitch(f"{SITE}/connections/twitch/callback/"))  # type: ignore[misc]


@pytest.fixture
def facebook(settings) -> Iterator[FakeFacebook]:
    yield from _serve(settings, FakeFacebook(f"{SITE}/connections/facebook/callback/"))  # type: ignore[misc]


def consent(client, platform: str) -> str:
    """Start connecting, let the fake's consent screen approve, and return the callback URL it sends back to."""
    response = client.post(f"/connections/{platform}/connect/")
    assert response.status_code == 302, response.content
    approved = httpx.get(response["Location"], follow_redirects=False)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == SITE
    return f"{back.path}?{back.query}"


def connect(client, platform: str) -> ConnectedAccount:
    response = client.get(consent(client, platform))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/connections/"
    return ConnectedAccount.objects.get(platform=platform)
