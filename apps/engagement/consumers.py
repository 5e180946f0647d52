"""Live comment feed for the moderation panel: ws/streams/<stream_id>/comments/.

Host (owner, by login) and moderators (invite seat in the session, or linked to
their account) receive every `comment.*` event of the stream, hidden and pending
comments included; anyone else is closed with 4403 (4404 if the stream does not
exist). Moderation actions go through the HTTP views, which call the services;
this socket only listens.

Events (JSON, as published by apps/engagement/services.py): `comment.created`
{comment}, `comment.created_many` {comments: [...]} for a burst stored at once,
`comment.updated` {comment}, `comment.on_screen` {comment, card},
`comment.off_screen` {stream}, `comment.queued` {comment} (rolling card queue),
`comment.author_banned` {platform, author_id}.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from apps.engagement import realtime
from apps.engagement.access import can_moderate
from apps.streams.models import Stream

log = logging.getLogger(__name__)


class _Fanout:
    """Per web process: one Redis subscription per watched stream, shared by all its sockets.

    Each event arrives once per process and is written to every local socket as the same
    text frame (serialized once), instead of one channel-layer message per socket.
    """

    def __init__(self) -> None:
        self.sockets: dict[int, set[ModerationConsumer]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}

    async def add(self, stream_id: int, socket: ModerationConsumer) -> None:
        self.sockets.setdefault(stream_id, set()).add(socket)
        if stream_id not in self.tasks:
            ready = asyncio.Event()
            self.tasks[stream_id] = asyncio.create_task(self._follow(stream_id, ready))
            # Subscribed before the socket is told it is connected: no event falls in between.
            await asyncio.wait_for(ready.wait(), timeout=10)

    def remove(self, stream_id: int, socket: ModerationConsumer) -> None:
        members = self.sockets.get(stream_id)
        if members is None:
            return
        members.discard(socket)
        if not members:
            del self.sockets[stream_id]
            task = self.tasks.pop(stream_id, None)
            if task is not None:
                task.cancel()

    async def _follow(self, stream_id: int, ready: asyncio.Event) -> None:
        while True:
            client = aioredis.Redis.from_url(settings.REDIS_URL)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(realtime.events_channel(stream_id))
                ready.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    text = message["data"].decode() if isinstance(message["data"], bytes) else str(message["data"])
                    for socket in list(self.sockets.get(stream_id, ())):
                        with contextlib.suppress(Exception):  # one broken socket must not starve the others
                            await socket.send(text_data=text)
            except asyncio.CancelledError:
                raise
            except aioredis.RedisError:
                log.warning("comment feed: Redis unavailable, resubscribing")
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                    await client.aclose()


_fanout = _Fanout()


class ModerationConsumer(AsyncJsonWebsocketConsumer):
    stream_id: int
    following: bool = False

    async def connect(self) -> None:
        self.stream_id = int(self.scope["url_route"]["kwargs"]["stream_id"])
        code = await database_sync_to_async(self._authorise)()
        if code:
            # Accept then close, so the client sees our close code instead of a failed handshake.
            await self.accept()
            await self.close(code=code)
            return
        await _fanout.add(self.stream_id, self)
        self.following = True
        await self.accept()

    def _authorise(self) -> int:
        stream = Stream.objects.filter(pk=self.stream_id).first()
        if stream is None:
            return 4404
        if not can_moderate(self.scope.get("user"), self.scope.get("session"), stream):
            return 4403
        return 0

    async def disconnect(self, code: int) -> None:
        if self.following:
            _fanout.remove(self.stream_id, self)
            self.following = False

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
