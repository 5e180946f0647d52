"""Security findings 2 and 3 on the studio socket, against a real Daphne.

Also: frames and messages are capped at 64 KB from their header (tests/core/test_websocket_limits.py);
presence cannot leak (tests/studio/test_presence.py); the token bucket (tests/api/test_ratelimit.py).

Screen sharing, decided: a guest backstage cannot share; a guest on stage may present their screen (the
program switches to the screen-share layout, as it does for the host, and the layout before comes back
when they stop); nobody takes the screen from someone already sharing. The host can send the guest
backstage at any time, which ends their share.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.streams.services import guest_invite
from apps.studio.services import guest_bring_on_stage, guest_join
from tests.factories import UserFactory
from tests.studio.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def url(web, stream_id: int) -> str:
    return f"ws://127.0.0.1:{web.port}/ws/studio/{stream_id}/"


def headers(web, cookie: bytes | None) -> dict[str, str]:
    out = {"Origin": web.url}
    if cookie:
        out["Cookie"] = cookie.decode()
    return out


async def open_socket(web, stream_id: int, cookie: bytes | None):
    return await connect(url(web, stream_id), additional_headers=headers(web, cookie), open_timeout=20)


async def next_of(ws, kind: str, timeout: float = 10.0) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] == kind:
            return message


def redis_clients() -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return len(client.client_list())
    finally:
        client.close()


def test_a_session_that_cannot_enter_is_refused_at_the_handshake(web, stream):
    """A logged-in stranger (no seat, not the owner) never gets an open socket to send frames into."""
    stranger = session_cookie(user=UserFactory())

    async def go() -> None:
        with pytest.raises(InvalidStatus) as refused:
            await open_socket(web, stream.pk, stranger)
        assert refused.value.response.status_code == 403

    async_to_sync(go)()


def test_messages_are_rate_limited_per_socket(web, stream, user):
    """100 state.requests at once: a burst is served, the rest is refused, and a flood ends the socket."""
    cookie = session_cookie(user=user)

    async def go() -> tuple[int, int | None]:
        ws = await open_socket(web, stream.pk, cookie)
        await next_of(ws, "state.full")
        for n in range(100):
            await ws.send(json.dumps({"type": "state.request", "ref": n}))
        served = 0
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                served += message["type"] == "state.full"
        except ConnectionClosed as closed:
            return served, closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            await ws.close()
            return served, None  # every request answered, nothing closed: no limit

    served, code = async_to_sync(go)()
    assert served <= 40
    assert code == 4429


def test_one_seat_opens_a_handful_of_sockets_not_hundreds(web, stream, user):
    guest, _token = guest_invite(stream=stream, by=user)
    guest = guest_join(guest=guest, display_name="Ana")
    cookie = session_cookie(guests={stream.pk: guest.pk})

    async def go() -> int:
        sockets, refused = [], 0
        for _ in range(10):
            try:
                ws = await open_socket(web, stream.pk, cookie)
                await next_of(ws, "state.full")
                sockets.append(ws)
            except (InvalidStatus, ConnectionClosed):
                refused += 1
        for ws in sockets:
            await ws.close()
        return len(sockets)

    assert async_to_sync(go)() <= 5


def test_sockets_share_one_redis_pool_per_process(web, stream, user):
    """The reproduction: 177 sockets took Redis from 36 to 202 clients (one client per socket); here 10 more."""
    seats = []
    for n in range(13):  # one seat each: a seat holds only a few sockets
        guest, _token = guest_invite(stream=stream, by=user)
        seats.append(session_cookie(guests={stream.pk: guest_join(guest=guest, display_name=f"G{n}").pk}))

    async def go() -> int:
        sockets = []
        for cookie in seats[:3]:
            ws = await open_socket(web, stream.pk, cookie)
            await next_of(ws, "state.full")
            sockets.append(ws)
        before = redis_clients()
        for cookie in seats[3:]:
            ws = await open_socket(web, stream.pk, cookie)
            await next_of(ws, "state.full")
            sockets.append(ws)
        grown = redis_clients() - before
        for ws in sockets:
            await ws.close()
        return grown

    assert async_to_sync(go)() <= 2


def test_a_guest_backstage_cannot_share_and_one_on_stage_presents(web, stream, user):
    guest, _token = guest_invite(stream=stream, by=user)
    guest = guest_join(guest=guest, display_name="Ana")
    cookie = session_cookie(guests={stream.pk: guest.pk})

    async def share(on: bool) -> dict:
        ws = await open_socket(web, stream.pk, cookie)
        await next_of(ws, "state.full")
        await ws.send(json.dumps({"type": "share.set", "on": on, "ref": "share"}))
        reply = await next_of(ws, "error" if on and not guest.on_stage else "scene.changed", timeout=5)
        await ws.close()
        return reply

    refused = async_to_sync(share)(True)
    assert refused["ref"] == "share" and "on stage" in refused["message"]
    stream.refresh_from_db()
    assert (stream.scene or {}).get("layout") != "screen_share"

    guest = guest_bring_on_stage(guest=guest, by=user)
    async_to_sync(share)(True)
    stream.refresh_from_db()
    assert stream.scene["layout"] == "screen_share" and stream.scene["screen_share"] == f"guest-{guest.pk}"
    async_to_sync(share)(False)
    stream.refresh_from_db()
    assert stream.scene["layout"] != "screen_share" and not stream.scene.get("screen_share")


def test_a_guest_cannot_take_the_screen_from_someone_already_sharing(web, stream, user):
    guest, _token = guest_invite(stream=stream, by=user)
    guest = guest_join(guest=guest, display_name="Ana")
    guest = guest_bring_on_stage(guest=guest, by=user)
    host, seat = session_cookie(user=user), session_cookie(guests={stream.pk: guest.pk})

    async def go() -> dict:
        host_ws = await open_socket(web, stream.pk, host)
        await next_of(host_ws, "state.full")
        await host_ws.send(json.dumps({"type": "share.set", "on": True}))
        await next_of(host_ws, "scene.changed")
        guest_ws = await open_socket(web, stream.pk, seat)
        await next_of(guest_ws, "state.full")
        await guest_ws.send(json.dumps({"type": "share.set", "on": True, "ref": "mine"}))
        reply = await next_of(guest_ws, "error")
        await guest_ws.close()
        await host_ws.close()
        return reply

    reply = async_to_sync(go)()
    assert reply["ref"] == "mine" and "Someone else is sharing" in reply["message"]
    stream.refresh_from_db()
    assert stream.scene["screen_share"] == stream.host_identity
