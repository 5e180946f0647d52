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

When the socket's web process falls behind a busy chat, the events already waiting are sent
as ONE frame, `comment.batch` {events: [event, ...]} in publish order; clients apply each.
Idle, every event still goes out alone and at once. Frames are text, so the browser reads them
as any other; under Daphne each is built once and written straight to every connection (`_Wire`).

Why the studio panel (static/src/studio/comments.js) uses this socket rather than comment.*
events on the studio socket (apps/streams/consumers.py): who may see comments is the
moderation rule, checked once here at connect, so a plain guest can neither open this socket
nor receive a held or hidden comment on theirs; and a comment burst costs one Redis message
per web process and one frame per socket, instead of one channel-layer message per socket
queued behind the studio's scene, health and chat events.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from apps.core import events, metrics
from apps.core import realtime as core_realtime
from apps.core.ratelimit import TokenBucket
from apps.engagement import realtime
from apps.streams.models import Stream
from apps.streams.seats import can_moderate, moderator_seat_id, studio_role

log = logging.getLogger(__name__)


# At most this many waiting events go out in one comment.batch frame (bounds a frame to a few hundred KB).
BATCH_MAX_EVENTS = 200
# Messages a panel socket may send (pings): a burst at most, then a couple a second; a client that keeps
# going past that many refused is closed with 4429. Frames over 64 KB are refused by the server itself.
PINGS_PER_SECOND, PING_BURST, PING_FLOOD_LIMIT = 2.0, 10.0, 50


def batch_payload(datas: list[bytes]) -> bytes:
    """One frame's payload for events that are already JSON: the event itself, or a comment.batch of them.

    Joined as the UTF-8 bytes Redis delivered, never decoded and encoded again: the point is to spend
    less per event.
    """
    if len(datas) == 1:
        return datas[0]
    return b'{"type":"comment.batch","events":[' + b",".join(datas) + b"]}"


def text_frame(payload: bytes) -> bytes:
    """A complete unmasked RFC 6455 text frame (FIN, opcode 1) around UTF-8 `payload`, as servers send them.

    Server frames carry no mask, so one frame is the same bytes on every socket: built once per event.
    """
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def _data(message: dict[str, Any]) -> bytes:
    data = message["data"]
    return data if isinstance(data, bytes) else str(data).encode()


class _Wire:
    """Direct writes of ready-made frames to one socket's connection, when the server is Daphne.

    Through ASGI, every frame to every socket pays a `websocket.send` message through the
    session middleware, Daphne's reply handler and autobahn's framing (which also formats its
    debug log arguments on every send), then Twisted's writer registration and a poll before
    the socket write: about 80 µs of CPU per socket per frame, a 40 ms round for 500 sockets,
    and a comment flood is one such round per batch (bench/comments.py: p95 134 ms). The frame
    bytes are identical for every socket (see `text_frame`), so under Daphne the fan-out writes
    them to each connection itself, as autobahn would at the end of that path
    (`sendPreparedMessage`): the same server CPU dropped to a quarter and p95 to 40 ms.
    Anything else (another ASGI server, the Channels test communicator, a socket closing or
    with frames queued inside autobahn or Twisted) goes through the ordinary path, in order.
    """

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    @classmethod
    def find(cls, send: Any) -> _Wire | None:
        """The Daphne websocket protocol behind a consumer's `base_send`, or None on any other server."""
        for _ in range(4):  # consumer → session middleware's wrapper → Daphne's partial(handle_reply, protocol)
            if isinstance(send, functools.partial):
                protocol = send.args[0] if send.args else None
                if all(hasattr(protocol, name) for name in ("transport", "state", "STATE_OPEN", "send_queue")):
                    return cls(protocol)
                return None
            send = getattr(getattr(send, "__self__", None), "real_send", None)
            if send is None:
                return None
        return None

    def write(self, frame: bytes) -> bool:
        """Write a complete frame; False when this socket must take the ordinary path instead."""
        protocol = self.protocol
        transport = protocol.transport
        if (
            protocol.state != protocol.STATE_OPEN
            or protocol.send_queue
            or transport is None
            or getattr(transport, "disconnecting", False)
        ):
            return False
        # Nothing waiting in Twisted's buffer: send now, as its doWrite would on the next loop turn, without
        # the writer registration, poll and unregistration per socket; whatever the kernel does not take
        # (a slow reader) goes to the buffer, which Twisted drains in order.
        sock = getattr(transport, "socket", None)
        if sock is not None and not getattr(transport, "_tempDataLen", 1) and not getattr(transport, "dataBuffer", 1):
            try:
                sent = sock.send(frame)
            except OSError:  # full (BlockingIOError) or broken: Twisted's own write finds out which
                sent = 0
            if sent == len(frame):
                return True
            frame = frame[sent:]
        transport.write(frame)
        return True


class _Fanout:
    """Per web process: one Redis subscription per watched stream, shared by all its sockets.

    Each event arrives once per process and is written to every local socket as the same
    text frame (serialized and framed once), instead of one channel-layer message per socket.

    Writing a frame costs about the same whatever its size (ASGI message, websocket framing,
    a write per socket), and that per-frame cost times the sockets is what a busy chat piles
    up (bench/comments.py: 50 events/s x 500 sockets). So when events are already waiting in
    the subscription, they leave together as one comment.batch frame, and the loop then yields
    so the server writes the frames out before it takes more.
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

    async def _deliver(self, stream_id: int, payload: bytes) -> None:
        """The same frame to every local socket of the stream: framed once, written straight where possible."""
        frame: bytes | None = None
        text: str | None = None
        for socket in list(self.sockets.get(stream_id, ())):
            wire = socket.wire
            if wire is not None:
                if frame is None:
                    frame = text_frame(payload)
                if wire.write(frame):
                    continue
            if text is None:
                text = payload.decode()
            with contextlib.suppress(Exception):  # one broken socket must not starve the others
                await socket.send(text_data=text)

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
                    datas = [_data(message)]
                    while len(datas) < BATCH_MAX_EVENTS:
                        waiting = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0)
                        if waiting is None:
                            break
                        if waiting.get("type") == "message":
                            datas.append(_data(waiting))
                    await self._deliver(stream_id, batch_payload(datas))
                    # Sockets that took the ASGI path only queued bytes: let the server write them before reading more.
                    await asyncio.sleep(0)
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
    wire: _Wire | None = None
    seat_group: str | None = None
    refused = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bucket = TokenBucket(rate=PINGS_PER_SECOND, capacity=PING_BURST)

    async def connect(self) -> None:
        self.stream_id = int(self.scope["url_route"]["kwargs"]["stream_id"])
        code, guest_id = await database_sync_to_async(self._authorise)()
        if code:
            # Accept then close, so the client sees our close code instead of a failed handshake.
            await self.accept()
            await self.close(code=code)
            return
        if guest_id is not None:
            # A moderator's seat: revoking or removing them (or their invite expiring) ends this socket too.
            self.seat_group = core_realtime.guest_group(self.stream_id, guest_id)
            await self.channel_layer.group_add(self.seat_group, self.channel_name)
        self.wire = _Wire.find(self.base_send)
        await _fanout.add(self.stream_id, self)
        self.following = True
        await self.accept()
        metrics.WEBSOCKETS_OPEN.labels("comments").inc()
        self.counted = True

    def _authorise(self) -> tuple[int, int | None]:
        """(close code or 0, the moderator's guest id: None for the host)."""
        stream = Stream.objects.filter(pk=self.stream_id).first()
        if stream is None:
            return 4404, None
        user, session = self.scope.get("user"), self.scope.get("session")
        if not can_moderate(user, session, stream):
            return 4403, None
        if studio_role(user, session, stream) == "host":
            return 0, None
        return 0, moderator_seat_id(user, session, stream)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            metrics.WEBSOCKETS_OPEN.labels("comments").dec()
            self.counted = False
        if self.following:
            _fanout.remove(self.stream_id, self)
            self.following = False
        if self.seat_group is not None:
            await self.channel_layer.group_discard(self.seat_group, self.channel_name)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The seat this socket sits in was revoked, removed or expired: stop listening at once."""
        if self.following:
            _fanout.remove(self.stream_id, self)
            self.following = False
        await self.send_json({"type": events.SESSION_ENDED, "reason": event.get("reason", "")})
        await self.close(code=4410)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The panel only pings (keep-alive): a client sending more than a few a second is not the panel.
        if not self.bucket.take():
            self.refused += 1
            if self.refused >= PING_FLOOD_LIMIT:
                await self.close(code=4429)
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
