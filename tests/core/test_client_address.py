"""The client address behind the TLS front: X-Forwarded-For from trusted proxies only, read right to left.

Every rate limit (login, signup, password reset) and DRF's throttles key on it, so one person's
wrong passwords do not lock out everyone behind the same proxy, and a client cannot pick a fresh
address per request by writing its own X-Forwarded-For.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.test import APIClient

from apps.core import ratelimit

PROXY = "192.0.2.10"  # the TLS front, as the web process sees it
OTHER_PROXY = "192.0.2.11"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY, "198.51.100.0/28"]
    return settings


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # Straight from the trusted front: the address it saw.
        (PROXY, "203.0.113.5", "203.0.113.5"),
        # The client wrote its own header first; the front appended the real peer: rightmost untrusted wins.
        (PROXY, "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        # Two trusted hops (a load balancer in the trusted network, then the front).
        (PROXY, "203.0.113.5, 198.51.100.3", "203.0.113.5"),
        (PROXY, "6.6.6.6,203.0.113.5,198.51.100.3", "203.0.113.5"),
        # Not from a trusted proxy: the header is whatever the client says, ignored.
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),
        (OTHER_PROXY, "203.0.113.5", OTHER_PROXY),
        # No header from the front: the front itself is the client.
        (PROXY, "", PROXY),
        # Garbage stops the walk at the last address a trusted proxy gave.
        (PROXY, "203.0.113.5, not-an-ip", PROXY),
        (PROXY, "garbage, 203.0.113.5", "203.0.113.5"),
        # Everything trusted: the leftmost is the best we know.
        (PROXY, "198.51.100.2, 198.51.100.3", "198.51.100.2"),
        # IPv6, bracketed or not.
        (PROXY, "[2001:db8::1]", "2001:db8::1"),
        (PROXY, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(behind_proxy, peer, forwarded, client):
    assert ratelimit.client_address(peer, forwarded) == client


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert ratelimit.client_address(PROXY, "203.0.113.5") == PROXY
    request = RequestFactory().post("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert ratelimit.client_ip(request) == PROXY


def test_websocket_scope_uses_the_same_rule(behind_proxy):
    scope = {"client": (PROXY, 40000), "headers": [(b"x-forwarded-for", b"1.1.1.1, 203.0.113.5")]}
    assert ratelimit.scope_client_ip(scope) == "203.0.113.5"


def _login(client: APIClient, email: str, forwarded: str) -> int:
    response = client.post(
        "/api/v1/auth/login",
        {"email": email, "password": "wrong"},
        format="json",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return response.status_code


@pytest.mark.django_db
def test_login_limit_is_per_client_behind_the_proxy(behind_proxy, user):
    behind_proxy.LOGIN_RATE_LIMIT = 3
    client = APIClient()
    email = user.email
    # One person guessing: limited after three attempts, however they vary their own header.
    statuses = [_login(client, email, f"{i}.{i}.{i}.{i}, 203.0.113.5") for i in range(1, 5)]
    assert statuses == [401, 401, 401, 429]
    # Another person behind the same front, same account: their own counter.
    assert _login(client, email, "203.0.113.6") == 401
    # Both are the front's REMOTE_ADDR; without the trusted list they would share one counter.
    for i in range(5, 8):
        ratelimit.reset(f"login:203.0.113.{i}:{email}", behind_proxy.LOGIN_RATE_WINDOW_SECONDS)


@pytest.mark.django_db
def test_signup_limit_keys_on_the_client_address(behind_proxy, client):
    key = "signup:203.0.113.77"
    from apps.accounts.views import SIGNUP_WINDOW_SECONDS, SIGNUPS_PER_HOUR

    ratelimit.reset(key, SIGNUP_WINDOW_SECONDS)
    for _ in range(SIGNUPS_PER_HOUR):
        assert ratelimit.hit(key, SIGNUPS_PER_HOUR, SIGNUP_WINDOW_SECONDS)
    response = client.post(
        "/accounts/signup/",
        {"username": "x", "email": f"{uuid.uuid4().hex}@example.com", "password1": "p", "password2": "p"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.77",
    )
    assert response.status_code == 429
    ratelimit.reset(key, SIGNUP_WINDOW_SECONDS)


def _schema(client: APIClient, peer: str, forwarded: str | None) -> int:
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.get("/api/v1/schema/", **extra).status_code


def _clear_anon(address: str) -> None:
    cache.delete(f"throttle_anon_{address}")


@pytest.mark.django_db
def test_anonymous_throttle_ignores_a_forged_forwarded_for(settings):
    """Finding 11: DRF keyed anonymous requests on the raw header, so a fresh value dodged the limit."""
    settings.TRUSTED_PROXIES = []
    settings.API_RATE_ANON = "2/minute"
    attacker = "203.0.113.66"
    _clear_anon(attacker)
    client = APIClient()
    statuses = [_schema(client, attacker, f"10.0.0.{i}") for i in range(3)]
    assert statuses == [200, 200, 429]
    _clear_anon(attacker)


@pytest.mark.django_db
def test_anonymous_throttle_counts_each_client_behind_the_proxy(behind_proxy):
    behind_proxy.API_RATE_ANON = "2/minute"
    for address in ("203.0.113.21", "203.0.113.22"):
        _clear_anon(address)
    client = APIClient()
    assert [_schema(client, PROXY, "203.0.113.21") for _ in range(3)] == [200, 200, 429]
    # A neighbour behind the same front is not affected; the first one cannot escape by forging.
    assert _schema(client, PROXY, "203.0.113.22") == 200
    assert _schema(client, PROXY, "9.9.9.9, 203.0.113.21") == 429
    for address in ("203.0.113.21", "203.0.113.22"):
        _clear_anon(address)
