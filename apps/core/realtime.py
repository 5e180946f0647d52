"""Realtime events: the group names and the one publisher every service uses.

    realtime.publish_on_commit(realtime.stream_group(stream.pk), events.SCENE_CHANGED, scene=...)

Events leave only once the transaction that caused them commits, so a rolled-back write never
reaches a browser; outside a transaction they leave at once. A Redis that is down loses the event
(logged), never the write: studios resynchronise from `state.full` when their socket reconnects.

Sync code (services, tasks, the media process) sends through one long-lived event loop thread per
process. `async_to_sync(group_send)` would start a fresh loop, and with it a fresh Redis connection,
for every event (~10 ms each); a long-lived loop keeps channels_redis' pool warm. Callers wait for
the send to finish, so events leave in the order they were published.

Groups (Channels):
    stream-{id}                 everyone in a studio (host, moderators, guests)
    stream-{id}-hosts           the host's sockets only (destination health, unmute requests)
    stream-{id}-guest-{gid}     one guest's sockets: studio and comment moderation (to end them)
    stream-{id}-comments        comment moderation sockets and the studio's comment panel
    owner-{user id}             every studio socket of that host, whatever the stream: their library
                                changed (a clip finished processing, a playlist was edited)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from apps.core import metrics
from apps.core import redis as redis_client
from apps.core.redis import RedisUnavailable

log = logging.getLogger(__name__)

# A publish that takes longer than this means Redis is in trouble; the write it follows has committed.
PUBLISH_TIMEOUT_SECONDS = 5.0


def stream_group(stream_id: int) -> str:
    return f"stream-{stream_id}"


def hosts_group(stream_id: int) -> str:
    return f"stream-{stream_id}-hosts"


def guest_group(stream_id: int, guest_id: int) -> str:
    return f"stream-{stream_id}-guest-{guest_id}"


def comments_group(stream_id: int) -> str:
    return f"stream-{stream_id}-comments"


def owner_group(user_id: int) -> str:
    return f"owner-{user_id}"


class _Publisher:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or not self._loop.is_running():
                loop = asyncio.new_event_loop()
                started = threading.Event()
                loop.call_soon(started.set)
                threading.Thread(target=loop.run_forever, name="realtime-publish", daemon=True).start()
                started.wait(5)
                self._loop = loop
            return self._loop

    def send(self, group: str, message: dict[str, Any]) -> None:
        layer = get_channel_layer()
        if layer is None:  # pragma: no cover - channels is always configured here
            return
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), self._ensure_loop())
        future.result(timeout=PUBLISH_TIMEOUT_SECONDS)


_publisher = _Publisher()


def publish(group: str, event_type: str, **payload: Any) -> bool:
    """Send now (sync code outside a transaction, or a caller that already committed). False if Redis is down."""
    message = {"type": event_type, **payload}
    try:
        _publisher.send(group, message)
    except (*RedisUnavailable, TimeoutError) as exc:
        metrics.CHANNEL_SEND_FAILURES.labels(event_type).inc()
        log.warning("realtime event %s to %s not delivered: %s", event_type, group, type(exc).__name__)
        return False
    return True


def publish_on_commit(group: str, event_type: str, **payload: Any) -> None:
    """Send once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(group, event_type, **payload), robust=True)


async def apublish(group: str, event_type: str, **payload: Any) -> None:
    """From async code (consumers): straight through this loop's channel layer."""
    layer = get_channel_layer()
    if layer is None:  # pragma: no cover
        return
    try:
        await layer.group_send(group, {"type": event_type, **payload})
    except RedisUnavailable as exc:
        metrics.CHANNEL_SEND_FAILURES.labels(event_type).inc()
        log.warning("realtime event %s to %s not delivered: %s", event_type, group, type(exc).__name__)


# --- waking a running show --------------------------------------------------------------------
# A live show's runner (apps/shows/runner.py, in a media worker) reconciles itself with the database:
# which destinations are enabled, whether the stream is still live. It does so every few seconds on
# its own; a write that changes either wakes it at once through this list (the runner BLPOPs it).
# The list carries no commands: the rows are the truth, a wake-up only says "look now".


def show_wake_key(stream_id: int) -> str:
    return f"show:{stream_id}:wake"


# Wake-ups nobody reads (no show running) expire with the longest show.
WAKE_TTL_SECONDS = 24 * 3600 + 3600


def wake_show_on_commit(stream_id: int) -> None:
    def wake() -> None:
        try:
            client = redis_client.client()
            client.rpush(show_wake_key(stream_id), "1")
            client.expire(show_wake_key(stream_id), WAKE_TTL_SECONDS)
        except RedisUnavailable:
            log.warning("show %s not woken: Redis unavailable (it looks again within seconds)", stream_id)

    transaction.on_commit(wake, robust=True)
