"""Fixed-window rate limits in the shared cache (Redis).

    if not ratelimit.hit(f"login:{ip}:{email}", limit=10, window=300):
        ... answer 429 ...

A fixed window is coarse (a burst at a window edge can reach 2x the limit) but
costs one INCR per request and needs no cleanup: the counter expires with its
window. Keys are hashed so user input (emails) never becomes a raw cache key.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def _now() -> float:
    return time.time()


def _bucket(key: str, window: int) -> tuple[str, int]:
    start = int(_now() // window) * window
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"ratelimit:{digest}:{window}:{start}", start


def hit(key: str, limit: int, window: int) -> bool:
    """Count one attempt for `key`; True while the window holds at most `limit` attempts."""
    bucket, _ = _bucket(key, window)
    # add() is a no-op if the counter exists; the +1 s keeps it alive past the window edge.
    cache.add(bucket, 0, timeout=window + 1)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window + 1)
        count = 1
    return count <= limit


def retry_after(window: int) -> int:
    """Seconds until the current window ends (for the Retry-After header)."""
    _, start = _bucket("", window)
    return max(1, start + window - int(_now()))


def reset(key: str, window: int) -> None:
    cache.delete(_bucket(key, window)[0])


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a proxy we trust rewrites it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def login_key(request: HttpRequest, email: str) -> str:
    return f"login:{client_ip(request)}:{(email or '').strip().lower()}"


def login_allowed(request: HttpRequest, email: str) -> bool:
    """One login attempt for (ip, email); False once LOGIN_RATE_LIMIT is exceeded in the window."""
    return hit(login_key(request, email), settings.LOGIN_RATE_LIMIT, settings.LOGIN_RATE_WINDOW_SECONDS)
