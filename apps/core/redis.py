"""One Redis client factory: every process shares a connection pool per Redis URL.

    from apps.core import redis as redis_client
    redis_client.client().get(key)                 # bytes
    redis_client.client(decode=True).get(key)      # str
    await redis_client.async_client().get(key)     # in a websocket consumer

A fresh `Redis.from_url()` per call opens a connection per call (and one per websocket, which is
how 177 sockets became 166 Redis clients); a pool per process keeps it to a handful.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

# A Redis that does not answer within this is treated as down: callers log and carry on.
SOCKET_TIMEOUT_SECONDS = 5.0

_lock = threading.Lock()
_sync: dict[tuple[str, bool], redis.Redis] = {}
# Async pools are bound to the event loop that created their connections (a loop's id can be reused
# once it is gone, so the loop itself is the key, held weakly).
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, bool], aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)

# What a failed Redis call raises; callers catch this, never bare Exception.
RedisUnavailable = (redis.RedisError, OSError)


# Both clients alike: a Redis that stops answering is noticed within seconds, an idle connection is checked.
_POOL_OPTIONS: dict[str, Any] = {
    "socket_timeout": SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
    "health_check_interval": 30,
}


def url() -> str:
    return str(settings.REDIS_URL)


def client(*, decode: bool = False) -> redis.Redis:
    key = (url(), decode)
    with _lock:
        found = _sync.get(key)
        if found is None:
            found = redis.Redis.from_url(key[0], decode_responses=decode, **_POOL_OPTIONS)
            _sync[key] = found
        return found


def async_client(*, decode: bool = False) -> Any:
    """The pooled asyncio client of the running event loop (Any: redis-py types commands loosely)."""
    clients = _async.setdefault(asyncio.get_running_loop(), {})
    key = (url(), decode)
    found = clients.get(key)
    if found is None:
        found = aioredis.Redis.from_url(key[0], decode_responses=decode, **_POOL_OPTIONS)
        clients[key] = found
    return found


def reset() -> None:
    """Forget every pool (tests that point REDIS_URL somewhere else, forked workers)."""
    with _lock:
        _sync.clear()
        _async.clear()
