"""The studio's private chat: host, moderators and guests, never the audience.

Lines live in Redis (the last CHAT_HISTORY of them, for late joiners and reconnects) and go out as
`chat.message` / `chat.deleted` events. The socket, the REST API and the mobile app send through
`chat_send`, with the same length and flood rules.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.core import events, ratelimit, realtime
from apps.core import redis as redis_client

log = logging.getLogger(__name__)

CHAT_HISTORY = 100
MAX_CHAT_TEXT = 500
# Flood guard per sender: at most this many lines per window.
CHAT_BURST, CHAT_WINDOW_SECONDS = 8, 10
REDIS_TTL_SECONDS = 24 * 3600


def chat_key(stream_id: int) -> str:
    return f"streamus:studio:{stream_id}:chat"


@dataclass(frozen=True)
class Author:
    """Who writes: their studio identity (host-<id>, guest-<id>), display name and role."""

    identity: str
    name: str
    role: str

    @classmethod
    def host(cls, stream: Any) -> Author:
        """The stream's host, whether they write from the studio page, a bearer client or the socket."""
        return cls(identity=stream.host_identity, name=stream.owner.username or "Host", role=events.HOST)

    @classmethod
    def guest(cls, guest: Any) -> Author:
        """Someone seated by an invite (moderator or guest), from the socket or their own REST seat."""
        return cls(identity=guest.identity, name=guest.display_name or "Guest", role=guest.role or events.GUEST)


def chat_history(stream_id: int) -> list[dict[str, Any]]:
    """Oldest first."""
    try:
        raw = cast("list[bytes]", redis_client.client().lrange(chat_key(stream_id), 0, CHAT_HISTORY - 1))
    except redis_client.RedisUnavailable:
        return []
    return [json.loads(line) for line in reversed(raw)]


def chat_send(*, stream_id: int, author: Author, text: str) -> dict[str, Any]:
    text = " ".join(str(text or "").split())
    if not text:
        raise ValidationError({"text": "Type a message first."})
    if len(text) > MAX_CHAT_TEXT:
        raise ValidationError({"text": f"Keep messages under {MAX_CHAT_TEXT} characters."})
    if not ratelimit.hit(f"studio-chat:{stream_id}:{author.identity}", CHAT_BURST, CHAT_WINDOW_SECONDS):
        raise ValidationError("Slow down a little: too many messages at once.", code="rate_limited")
    message = {
        "id": uuid.uuid4().hex,
        "author": author.name,
        "author_id": author.identity,
        "role": author.role,
        "text": text,
        "at": timezone.now().isoformat(),
    }
    try:
        client = redis_client.client()
        key = chat_key(stream_id)
        client.lpush(key, json.dumps(message))
        client.ltrim(key, 0, CHAT_HISTORY - 1)
        client.expire(key, REDIS_TTL_SECONDS)
    except redis_client.RedisUnavailable:
        log.warning("chat history write failed for stream %s", stream_id)
    realtime.publish(realtime.stream_group(stream_id), events.CHAT_MESSAGE, message=message)
    return message


# Who may take a line out of the chat: the studio's own rule (events.SENDS), for the socket and REST alike.
DELETERS = frozenset(role for role, sends in events.SENDS.items() if events.CHAT_DELETE in sends)


def chat_delete(*, stream_id: int, message_id: str, by: Author) -> bool:
    """Take a line out of the history and off every screen (the host and moderators only)."""
    if by.role not in DELETERS:
        raise PermissionDenied("Only the host and moderators can delete chat messages.")
    found = False
    try:
        client = redis_client.client()
        key = chat_key(stream_id)
        for line in cast("list[bytes]", client.lrange(key, 0, CHAT_HISTORY - 1)):
            if json.loads(line).get("id") == message_id:
                client.lrem(key, 1, line)  # type: ignore[arg-type]  # the stored bytes, as read
                found = True
    except redis_client.RedisUnavailable:
        log.warning("chat history delete failed for stream %s", stream_id)
    realtime.publish(realtime.stream_group(stream_id), events.CHAT_DELETED, message={"id": message_id})
    return found
