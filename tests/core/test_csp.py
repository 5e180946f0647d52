"""Security finding 11: CSP connect-src allows our own origin and the configured LiveKit server, no other host."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def connect_src(policy: str) -> list[str]:
    for directive in policy.split(";"):
        name, *values = directive.split()
        if name == "connect-src":
            return values
    raise AssertionError(f"no connect-src in {policy!r}")


@pytest.mark.parametrize(
    ("livekit_url", "expected"),
    [
        ("ws://127.0.0.1:7880", {"ws://127.0.0.1:7880", "http://127.0.0.1:7880"}),
        ("wss://rtc.example.com", {"wss://rtc.example.com", "https://rtc.example.com"}),
        ("wss://RTC.example.com:7443/", {"wss://rtc.example.com:7443", "https://rtc.example.com:7443"}),
    ],
)
def test_pages_allow_only_self_and_the_livekit_origin(client, settings, livekit_url, expected):
    settings.LIVEKIT_URL = livekit_url
    sources = connect_src(client.get("/accounts/login/")["Content-Security-Policy"])
    assert "ws:" not in sources and "wss:" not in sources and "*" not in sources
    assert sources[0] == "'self'"
    assert set(sources[1:]) == expected
