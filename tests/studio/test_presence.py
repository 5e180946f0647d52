"""Security finding 3 (presence): sockets are counted so that a lost disconnect cannot leave a ghost."""

from __future__ import annotations

import uuid

import pytest

from apps.core import redis as redis_client
from apps.studio import presence


@pytest.fixture
async def stream_id():
    """A stream id nobody else counts sockets for (the key is cleaned up after)."""
    sid = 10**9 + uuid.uuid4().int % 10**9
    yield sid
    await redis_client.async_client().delete(presence.presence_key(sid))


async def test_identities_are_online_while_any_socket_is(stream_id):
    now = 1000.0
    assert await presence.socket_join(stream_id, "guest-1", "sock-a", now=now) == 1
    assert await presence.socket_join(stream_id, "guest-1", "sock-b", now=now) == 2  # a second tab
    assert await presence.socket_join(stream_id, "host-9", "sock-c", now=now) == 1
    assert presence.online(stream_id, now=now) == {"guest-1", "host-9"}
    assert await presence.socket_leave(stream_id, "guest-1", "sock-a", now=now) is True  # still in tab b
    assert await presence.socket_leave(stream_id, "guest-1", "sock-b", now=now) is False
    assert presence.online(stream_id, now=now) == {"host-9"}
    # Leaving twice (a retried disconnect) changes nothing.
    assert await presence.socket_leave(stream_id, "guest-1", "sock-b", now=now) is False


async def test_a_socket_that_never_said_goodbye_drops_out(stream_id):
    """The leak: 177 sockets, handshakes timing out, disconnects never run; 19 stayed 'online' for a day."""
    now = 1000.0
    for n in range(177):
        await presence.socket_join(stream_id, "guest-7", f"ghost-{n}", now=now)
    await presence.socket_join(stream_id, "host-1", "live", now=now)
    assert presence.online(stream_id, now=now) == {"guest-7", "host-1"}
    # The host's socket renews itself; the ghosts do not.
    for step in range(1, 4):
        await presence.socket_renew(stream_id, "host-1", "live", now=now + step * presence.RENEW_SECONDS)
    later = now + presence.TTL_SECONDS + 1
    assert presence.online(stream_id, now=later) == {"host-1"}
    # The next write prunes them: the set holds only live sockets, and the key itself expires.
    await presence.socket_renew(stream_id, "host-1", "live", now=later)
    client = redis_client.async_client()
    assert await client.zcard(presence.presence_key(stream_id)) == 1
    assert 0 < await client.ttl(presence.presence_key(stream_id)) <= presence.TTL_SECONDS + 1
