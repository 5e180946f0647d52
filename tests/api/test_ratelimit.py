"""The fixed-window limiter in Redis, and the ownership helper every view uses."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import RequestFactory

from apps.core import ratelimit
from apps.core.ownership import get_owned_or_404
from apps.streams.models import Stream


def test_hit_allows_up_to_the_limit_per_key():
    key = f"test:{uuid.uuid4()}"
    assert [ratelimit.hit(key, limit=3, window=60) for _ in range(5)] == [True, True, True, False, False]
    other = f"test:{uuid.uuid4()}"
    assert ratelimit.hit(other, limit=3, window=60) is True
    ratelimit.reset(key, window=60)
    assert ratelimit.hit(key, limit=3, window=60) is True


def test_window_rolls_over(monkeypatch):
    key = f"test:{uuid.uuid4()}"
    now = 1_000_000.0
    monkeypatch.setattr(ratelimit, "_now", lambda: now)
    assert ratelimit.hit(key, limit=1, window=10) is True
    assert ratelimit.hit(key, limit=1, window=10) is False
    assert ratelimit.retry_after(10) == 10
    now += 10  # the next window counts from zero
    assert ratelimit.hit(key, limit=1, window=10) is True


def test_counters_are_shared_and_expire(settings):
    """The counter lives in the shared cache (Redis), under a hashed key, and carries a TTL."""
    from django.core.cache import cache

    key = f"login:10.0.0.1:someone+{uuid.uuid4()}@example.com"
    ratelimit.hit(key, limit=5, window=30)
    bucket, _ = ratelimit._bucket(key, 30)
    assert "example.com" not in bucket
    assert cache.get(bucket) == 1
    client = cache._cache.get_client(bucket)  # the redis-py client behind Django's RedisCache
    ttl = client.ttl(cache.make_and_validate_key(bucket))
    assert 0 < ttl <= 31


def test_login_key_uses_remote_addr_not_forwarded_for():
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert ratelimit.login_key(request, " Ada@Example.com ") == "login:192.0.2.7:ada@example.com"


@pytest.mark.django_db
def test_get_owned_or_404(stream, other_user):
    assert get_owned_or_404(Stream.objects.all(), stream.owner, pk=stream.pk) == stream
    for who in (other_user, AnonymousUser(), None):
        with pytest.raises(Http404):
            get_owned_or_404(Stream.objects.all(), who, pk=stream.pk)
    with pytest.raises(Http404):
        get_owned_or_404(Stream.objects.all(), stream.owner, pk="not-a-number")


@pytest.mark.django_db
def test_api_requests_are_throttled_per_user(settings, user, other_user):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    for who in (user, other_user):
        cache.delete(f"throttle_user_{who.pk}")  # counters outlive a recreated test database's ids
    settings.API_RATE_USER = "3/minute"
    client = APIClient()
    client.force_authenticate(user)
    assert [client.get("/api/v1/streams/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get("/api/v1/streams/")["Retry-After"]
    other = APIClient()
    other.force_authenticate(other_user)
    assert other.get("/api/v1/streams/").status_code == 200


def test_token_bucket_allows_a_burst_then_the_rate():
    """Security finding 3's primitive: per-socket message rates (the studio and comment sockets)."""
    now = [100.0]
    bucket = ratelimit.TokenBucket(rate=2, capacity=5, clock=lambda: now[0])
    assert [bucket.take() for _ in range(7)] == [True] * 5 + [False, False]
    assert bucket.wait_seconds() == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.take() is True and bucket.take() is False
    now[0] += 60  # idle for a minute: full again, never more than the capacity
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.take(cost=0.5) is False
    now[0] += 1
    assert bucket.take(cost=2) is True
    with pytest.raises(ValueError):
        ratelimit.TokenBucket(rate=0, capacity=5)
