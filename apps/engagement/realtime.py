"""Where engagement talks to Redis and the Channels layer.

Events for a stream go to the Channels group `stream-{id}` with types
`comment.*`; the on-screen card is a JSON value the compositor reads at
`stream:{id}:comment_card`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from functools import lru_cache
from typing import Any

import redis
from channels.layers import get_channel_layer
from django.conf import settings


def stream_group(stream_id: int) -> str:
    """The group comment events go to.

    Not `stream-{id}` itself: the studio consumer (apps/streams/consumers.py) joins that
    group and Channels raises "No handler for message type" on any type it has no method
    for, which would drop every studio websocket at the first comment. The studio (and our
    ModerationConsumer) join this group instead; once the studio consumer handles
    `comment.*`, pointing this at `stream-{id}` is a one-line change.
    """
    return f"stream-{stream_id}-comments"


def comment_card_key(stream_id: int) -> str:
    return f"stream:{stream_id}:comment_card"


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


class _Publisher:
    """One event loop thread per process that sends channel-layer messages.

    `async_to_sync(group_send)` from plain sync code starts a fresh event loop, and with
    it a fresh Redis connection, for every call (~10 ms); at 1,000 comments/s that is the
    whole budget. A long-lived loop keeps channels_redis' connection pool warm. Callers
    wait for the send to finish, so events leave in the order they were published.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or not self._loop.is_running():
                loop = asyncio.new_event_loop()
                started = threading.Event()
                loop.call_soon(started.set)
                threading.Thread(target=loop.run_forever, name="engagement-publish", daemon=True).start()
                started.wait(5)
                self._loop = loop
            return self._loop

    def send(self, group: str, message: dict[str, Any]) -> None:
        layer = get_channel_layer()
        if layer is None:  # pragma: no cover - channels always configured here
            return
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), self._ensure_loop())
        future.result(timeout=PUBLISH_TIMEOUT_SECONDS)


# A publish that takes longer than this means Redis is in trouble; the write it follows already committed.
PUBLISH_TIMEOUT_SECONDS = 5.0
_publisher = _Publisher()


def events_channel(stream_id: int) -> str:
    """Redis pub/sub channel carrying the same events, for the moderation sockets (see consumers.py)."""
    return f"engagement:stream:{stream_id}:events"


def publish(stream_id: int, event_type: str, payload: dict[str, Any]) -> None:
    """Send one `comment.*` event to everyone watching the stream (call it on commit).

    Twice, on purpose: to the Channels group (studio consumers and anything else that joins
    it) and as one Redis PUBLISH that each web process fans out in memory to its moderation
    sockets. A Channels group_send costs Redis work per member; with 500 studio sockets
    watching a busy chat that is where the latency went.
    """
    message = {"type": event_type, **payload}
    redis_client().publish(events_channel(stream_id), json.dumps(message, separators=(",", ":")))
    _publisher.send(stream_group(stream_id), message)


def card_queue_key(stream_id: int) -> str:
    return f"stream:{stream_id}:comment_queue"


def write_card(stream_id: int, card: dict[str, Any], ttl_seconds: int | None) -> None:
    # The key outlives the auto-hide a little so a compositor that polls late still sees it end on time
    # (it hides by shown_at + auto_hide); a card with no auto-hide stays until taken off.
    redis_client().set(comment_card_key(stream_id), json.dumps(card), ex=ttl_seconds)


def read_card(stream_id: int) -> dict[str, Any] | None:
    raw = redis_client().get(comment_card_key(stream_id))
    return json.loads(str(raw)) if raw else None


def clear_card(stream_id: int) -> None:
    redis_client().delete(comment_card_key(stream_id))
