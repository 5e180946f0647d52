"""Where engagement talks to Redis: the comment events and the on-screen card.

Comment events go to every comment socket of the stream (the moderation panel, in the studio and
on a moderator's page) through one Redis PUBLISH per event, which each web process fans out in
memory to its sockets (apps/engagement/consumers.py). A Channels group_send would cost Redis work
per member; with 500 studio sockets watching a busy chat that is where the latency went.

The on-screen card is a JSON value the compositor reads at `stream:{id}:comment_card`; the rolling
queue of cards waiting their turn is a Redis list the show runner advances.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from apps.core import realtime as core_realtime
from apps.core import redis as redis_client

log = logging.getLogger(__name__)


def comment_card_key(stream_id: int) -> str:
    return f"stream:{stream_id}:comment_card"


def card_queue_key(stream_id: int) -> str:
    return f"stream:{stream_id}:comment_queue"


def redis_client_str() -> redis.Redis:
    return redis_client.client(decode=True)


def events_channel(stream_id: int) -> str:
    """Redis pub/sub channel carrying the stream's comment events to the comment sockets."""
    return f"engagement:stream:{stream_id}:events"


def publish(stream_id: int, event_type: str, payload: dict[str, Any]) -> None:
    """Send one `comment.*` event to everyone watching the stream's comments (call it on commit).

    Twice, on purpose: as one Redis PUBLISH that each web process fans out to its comment sockets,
    and to the Channels group `stream-{id}-comments` for anything else that joins it (an integration,
    the tests); a group nobody joined costs one Redis read.
    """
    message = {"type": event_type, **payload}
    try:
        redis_client_str().publish(events_channel(stream_id), json.dumps(message, separators=(",", ":")))
    except redis_client.RedisUnavailable:
        log.warning("comment event %s of stream %s not delivered: Redis unavailable", event_type, stream_id)
        return
    core_realtime.publish(core_realtime.comments_group(stream_id), event_type, **payload)


def write_card(stream_id: int, card: dict[str, Any], ttl_seconds: int | None) -> None:
    # The key outlives the auto-hide a little so a compositor that polls late still sees it end on time
    # (it hides by shown_at + auto_hide); a card with no auto-hide stays until taken off.
    redis_client_str().set(comment_card_key(stream_id), json.dumps(card), ex=ttl_seconds)


def read_card(stream_id: int) -> dict[str, Any] | None:
    raw = redis_client_str().get(comment_card_key(stream_id))
    return json.loads(str(raw)) if raw else None


def clear_card(stream_id: int) -> None:
    redis_client_str().delete(comment_card_key(stream_id))
