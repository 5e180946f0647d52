"""Fixtures for the studio websocket: real Redis channel layer, real sessions, the real ASGI app."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from apps.streams import services
from apps.streams.consumers import SESSION_GUESTS_KEY
from apps.streams.studio_services import guest_join
from streamus.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def session_cookie(*, user: Any = None, guests: dict[int, int] | None = None) -> bytes:
    """A real database session, as the login view or the join page would have left it."""
    session = SessionStore()
    if user is not None:
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if guests:
        session[SESSION_GUESTS_KEY] = {str(stream_id): guest_id for stream_id, guest_id in guests.items()}
    session.create()
    return f"sessionid={session.session_key}".encode()


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
    client = aioredis.from_url(settings.REDIS_URL)
    async for key in client.scan_iter("streamus:studio:*"):
        await client.delete(key)
    await client.aclose()
    yield layer
    await layer.flush()
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
