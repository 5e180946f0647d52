"""Beat's deployment-wide figures that come from Redis: people in studios, from the studio's own presence
(apps/studio/presence.py: one expiring member per open socket), as `streamus_studio_people` (beat's endpoint serving it: tests/observability/test_live_show.py)."""

from __future__ import annotations

import uuid

import pytest

from apps.core import redis as redis_client
from apps.studio import presence

# Far from any other test's sockets (those expire about a minute after the real time): only ours count.
NOW = 10.0**10


@pytest.fixture
async def two_studios():
    ids = [10**9 + uuid.uuid4().int % 10**9 for _ in range(2)]
    yield ids
    for sid in ids:
        await redis_client.async_client().delete(presence.presence_key(sid))


async def test_people_in_studios_count_identities_with_a_live_socket(two_studios):
    first, second = two_studios
    await presence.socket_join(first, "host-1", "tab-a", now=NOW)
    await presence.socket_join(first, "host-1", "tab-b", now=NOW)  # one person, two tabs
    await presence.socket_join(first, "guest-2", "phone", now=NOW)
    await presence.socket_join(second, "guest-3", "laptop", now=NOW)
    await presence.socket_leave(second, "guest-3", "laptop", now=NOW)
    await presence.socket_join(second, "guest-4", "laptop", now=NOW)
    assert presence.people_online(now=NOW) == 3
    # A socket that stopped renewing is nobody.
    await presence.socket_join(second, "guest-5", "ghost", now=NOW - presence.TTL_SECONDS - 1)
    assert presence.people_online(now=NOW) == 3
    assert presence.people_online(now=NOW + presence.TTL_SECONDS + 1) == 0
