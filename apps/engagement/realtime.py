"""Where engagement talks to Redis and the Channels layer.

Events for a stream go to the Channels group `stream-{id}` with types
`comment.*`; the on-screen card is a JSON value the compositor reads at
`stream:{id}:comment_card`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import redis
from asgiref.sync import async_to_sync
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


def publish(stream_id: int, event_type: str, payload: dict[str, Any]) -> None:
    """Send one `comment.*` event to everyone watching the stream (call it on commit)."""
    layer = get_channel_layer()
    if layer is None:  # pragma: no cover - channels always configured here
        return
    async_to_sync(layer.group_send)(stream_group(stream_id), {"type": event_type, **payload})


def write_card(stream_id: int, card: dict[str, Any], ttl_seconds: int | None) -> None:
    # The key outlives the auto-hide a little so a compositor that polls late still sees it end on time
    # (it hides by shown_at + auto_hide); a card with no auto-hide stays until taken off.
    redis_client().set(comment_card_key(stream_id), json.dumps(card), ex=ttl_seconds)


def read_card(stream_id: int) -> dict[str, Any] | None:
    raw = redis_client().get(comment_card_key(stream_id))
    return json.loads(str(raw)) if raw else None


def clear_card(stream_id: int) -> None:
    redis_client().delete(comment_card_key(stream_id))
