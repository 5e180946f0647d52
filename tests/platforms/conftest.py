"""Fake platforms on loopback, the settings pointing at them, and a helper that walks the OAuth dance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.platform_fakes import SITE, FakeFacebook, FakePlatform, FakeTwitch, FakeYouTube


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
