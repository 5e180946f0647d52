"""Fixtures for the studio websocket: real Redis channel layer, real sessions, the real ASGI app."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings

from apps.streams import services
from apps.studio.services import guest_join
from streamus.asgi import application
from tests.support.sockets import ORIGIN, session_cookie


def communicator(stream_id: int, cookie: bytes | None = None, origin: tuple[bytes, bytes] = ORIGIN):
    headers = [origin]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, f"/ws/studio/{stream_id}/", headers=headers)


async def receive_types(comm: WebsocketCommunicator, *types: str, timeout: float = 3.0) -> dict[str, dict]:
    """One message of each type, in whatever order they come (events from one action race)."""
    found: dict[str, dict] = {}
    while set(types) - set(found):
        message = await comm.receive_json_from(timeout=timeout)
        if message["type"] in types and message["type"] not in found:
            found[message["type"]] = message
    return found


async def receive_until(comm: WebsocketCommunicator, event_type: str, timeout: float = 3.0) -> dict:
    """The next message of `event_type`, skipping others (presence and the like)."""
    while True:
        message = await comm.receive_json_from(timeout=timeout)
        if message["type"] == event_type:
            return message


@pytest.fixture
def invite(transactional_db, user, stream):
    guest, token = services.guest_invite(stream=stream, by=user, ttl=timedelta(hours=1))
    guest = guest_join(guest=guest, display_name="Grace Guest")
    return guest, token


@pytest.fixture
def host_cookie(user) -> bytes:
    return session_cookie(user=user)


@pytest.fixture
def guest_cookie(invite, stream) -> bytes:
    return session_cookie(guests={stream.pk: invite[0].pk})


@pytest.fixture
async def channel_layer():
    """The real Redis layer; presence and chat keys from earlier runs (same ids) are cleared.

    A fresh layer object per test: channels_redis binds its locks to the event
    loop that first used them, and every async test has its own loop.
    """
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    layer = get_channel_layer()
    await _clear("streamus:studio:*")
    yield layer
    # Not layer.flush(): services publish from their own thread's loop (apps/core/realtime.py), and the
    # layer's connections on that loop cannot be closed from this one. Its keys go; the layer object too.
    await _clear(f"{layer.prefix}*")
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


async def _clear(pattern: str) -> None:
    client = aioredis.from_url(settings.REDIS_URL)
    async for key in client.scan_iter(pattern):
        await client.delete(key)
    await client.aclose()
