"""Fixtures for engagement tests: a clean Redis, a channel-layer listener, moderators and guests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.core import realtime as core_realtime
from apps.engagement import realtime
from apps.streams.models import Guest
from tests.factories import GuestFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_redis():
    # Each developer runs tests against their own Redis db number; engagement keys start clean.
    realtime.redis_client_str().flushdb()
    yield
    realtime.redis_client_str().flushdb()


class GroupListener:
    """Joins a stream's Channels group like a studio websocket would, and collects what arrives."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(group, self.channel)

    def drain(self, timeout: float = 0.5) -> list[dict[str, Any]]:
        async def _drain() -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = []
            while True:
                try:
                    got.append(await asyncio.wait_for(self.layer.receive(self.channel), timeout))
                except TimeoutError:
                    return got

        return async_to_sync(_drain)()


@pytest.fixture
def listen() -> Callable[[int], GroupListener]:
    return lambda stream_id: GroupListener(core_realtime.comments_group(stream_id))


@pytest.fixture
def moderator_user(stream):
    user = UserFactory()
    GuestFactory(stream=stream, user=user, role=Guest.Role.MODERATOR)
    return user


@pytest.fixture
def guest_user(stream):
    user = UserFactory()
    GuestFactory(stream=stream, user=user, role=Guest.Role.GUEST)
    return user
