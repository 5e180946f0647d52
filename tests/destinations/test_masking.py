"""A stream key goes in once and never comes back out: not in API bodies, not in log lines."""

from __future__ import annotations

import io
import json
import logging

import pytest

from apps.core.logging import RedactSecretsFilter, register_secret, unregister_secret
from apps.destinations.models import StreamDestination

pytestmark = pytest.mark.django_db

CANARY = "sk_live_CANARY_7f3a9c2e1d0b"


@pytest.fixture
def canary():
    yield CANARY
    unregister_secret(CANARY)


@pytest.fixture
def log_output():
    """What the handlers built from settings.LOGGING write, read back from a buffer."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    ]
    assert handlers, "settings.LOGGING must attach RedactSecretsFilter to the root handler"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def test_api_never_returns_the_key(user_api, stream, canary, caplog, log_output):
    caplog.set_level(logging.DEBUG)
    response = user_api.post(
        f"/api/v1/streams/{stream.pk}/destinations/",
        {"platform": "custom", "rtmp_url": "rtmp://127.0.0.1:1935/live", "stream_key": canary, "name": "Main"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stream_key"] == "••••" + canary[-4:] and body["has_stream_key"] is True
    destination = StreamDestination.objects.get(pk=body["id"])
    assert canary not in destination.stream_key_encrypted and destination.decrypt_stream_key() == canary

    texts = [response.content.decode()]
    texts.append(user_api.get(f"/api/v1/destinations/{destination.pk}/").content.decode())
    texts.append(user_api.get(f"/api/v1/streams/{stream.pk}/destinations/").content.decode())
    texts.append(
        user_api.patch(f"/api/v1/destinations/{destination.pk}/", {"name": "Renamed"}, format="json").content.decode()
    )
    # A refused request echoes field errors, never the key that came with it.
    bad = user_api.patch(
        f"/api/v1/destinations/{destination.pk}/", {"rtmp_url": "http://x", "stream_key": canary}, format="json"
    )
    assert bad.status_code == 400
    texts.append(bad.content.decode())
    texts.append(user_api.get("/api/v1/schema/").content.decode())
    for text in texts:
        assert canary not in text
        assert canary[:-4] not in text

    # Nothing on the way logged it, filtered or not.
    assert "Bad Request" in log_output.getvalue()  # the 400 above was logged, so the check below sees real output
    assert canary not in caplog.text
    assert canary not in log_output.getvalue()


def test_configured_log_handler_masks_registered_keys_and_secret_shapes(canary, log_output):
    """The LOGGING config's RedactSecretsFilter masks a key even when code logs it by mistake."""
    log = logging.getLogger("apps.destinations.test")
    register_secret(canary)  # what the media process does when it decrypts a key
    log.warning("push to %s failed", f"rtmps://a.rtmps.youtube.com/live2/{canary}")
    log.warning("retrying with stream_key=%s", "unregistered_key_5566778899")
    try:
        raise RuntimeError(f"connect rtmp://127.0.0.1/live/{canary} refused")
    except RuntimeError:
        log.exception("pusher crashed")
    raw = log_output.getvalue()
    lines = [json.loads(line) for line in raw.splitlines()]
    assert [line["message"] for line in lines] == [
        "push to rtmps://a.rtmps.youtube.com/live2/••••1d0b failed",
        "retrying with stream_key=••••",
        "pusher crashed",
    ]
    assert "RuntimeError: connect rtmp://127.0.0.1/live/••••1d0b refused" in lines[2]["exception"]
    assert canary not in raw and "unregistered_key_5566778899" not in raw
