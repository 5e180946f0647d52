"""Open websockets by kind, as web's /metrics says them, through the studio's handshake (a real Daphne).

The studio socket authenticates from the session before it opens (security): a logged-in stranger is
refused at the handshake and never counted; an accepted socket is counted until it closes, whichever
way it ends (the host leaving, an anonymous socket that never authenticates).
"""

from __future__ import annotations

import re
import urllib.request

import pytest
from asgiref.sync import async_to_sync
from websockets.exceptions import InvalidStatus

from tests.factories import UserFactory
from tests.studio.conftest import session_cookie
from tests.studio.test_socket_limits import next_of, open_socket
from tests.support.live_server import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def studio_sockets(web) -> float:
    """streamus_websockets_open{kind="studio"} on web's /metrics (open to loopback outside production)."""
    with urllib.request.urlopen(web.url + "/metrics", timeout=10) as response:
        body = response.read().decode()
    found = re.search(r'^streamus_websockets_open\{kind="studio"\} (\S+)$', body, re.M)
    return float(found.group(1)) if found else 0.0


def test_studio_sockets_are_counted_from_accept_to_close(web, stream, user):
    stranger, host = session_cookie(user=UserFactory()), session_cookie(user=user)

    async def go() -> None:
        with pytest.raises(InvalidStatus):
            await open_socket(web, stream.pk, stranger)
        assert studio_sockets(web) == 0  # refused before it opened: never counted
        ws = await open_socket(web, stream.pk, host)
        await next_of(ws, "state.full")
        assert studio_sockets(web) == 1
        anonymous = await open_socket(web, stream.pk, None)  # open, waiting for {"type": "auth"}
        # Counted right after the server accepts it, which the client may see a moment before.
        wait_until(lambda: studio_sockets(web) == 2, 10, "the anonymous socket counted")
        await anonymous.close()
        await ws.close()

    async_to_sync(go)()
    wait_until(lambda: studio_sockets(web) == 0, 10, "both sockets uncounted after they closed")
