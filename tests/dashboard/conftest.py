from __future__ import annotations

import pytest

# A stream key that must never show up in any page: only its masked form (••••+last4) may.
CANARY_KEY = "live_CANARY_sk_9f8e7d6c5b4a_WXYZ"


@pytest.fixture
def canary_key() -> str:
    return CANARY_KEY


@pytest.fixture
def htmx(user_client):
    """The logged-in client, speaking as htmx does (HX-Request header)."""

    class HtmxClient:
        def get(self, url, **extra):
            return user_client.get(url, HTTP_HX_REQUEST="true", **extra)

        def post(self, url, data=None, **extra):
            return user_client.post(url, data or {}, HTTP_HX_REQUEST="true", **extra)

    return HtmxClient()
