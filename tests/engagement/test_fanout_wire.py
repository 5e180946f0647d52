"""The comment fan-out under a real Daphne: each event framed once and written straight to every socket.

Under Daphne the moderation consumer (apps/engagement/consumers.py, `_Wire`) skips the ASGI send
path and writes ready-made RFC 6455 frames to each connection itself. These tests read those
frames with the websockets library, which validates framing and UTF-8 strictly, and check they
carry exactly what the ASGI path would have sent, in order, on every socket.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client
from websockets.asyncio.client import connect
from websockets.frames import OP_TEXT, Frame
from websockets.streams import StreamReader

from apps.engagement import realtime
from apps.engagement.consumers import text_frame
from tests.factories import StreamFactory, UserFactory
from tests.support.live_server import web, web_factory  # noqa: F401 - fixtures


def _parse(frame: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(frame)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)  # server frames are never masked
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("the frame was incomplete")


def _host_feed(server: Any) -> tuple[Any, str, str]:
    """A stream, its comment feed's websocket URL and the session cookie of its host."""
    owner: Any = UserFactory()
    stream: Any = StreamFactory(owner=owner)
    browser = Client()
    browser.force_login(owner)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    return stream, server.url.replace("http://", "ws://") + f"/ws/streams/{stream.pk}/comments/", cookie


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_a_text_frame_is_one_unmasked_final_frame_of_any_length(size):
    payload = ("é" * size).encode()[:size]
    payload = payload if len(payload) % 2 == 0 else payload[:-1] + b"a"  # whole characters only
    frame = _parse(text_frame(payload))
    assert (frame.opcode, frame.fin, frame.data) == (OP_TEXT, True, payload)


@pytest.mark.django_db(transaction=True)
def test_every_socket_reads_every_event_in_order_from_the_direct_frames(web):  # noqa: F811 - fixture
    stream, url, cookie = _host_feed(web)
    # Short, non-ASCII, 16-bit and 64-bit frame lengths; RTL and emoji must survive byte for byte.
    texts = [f"комментарий {n} 👍🏽 שלום" for n in range(297)] + ["x" * 200, "ü" * 70_000, "last"]

    async def run() -> list[list[dict]]:
        sockets = [
            await connect(url, additional_headers={"Cookie": cookie, "Origin": web.url}, max_size=None)
            for _ in range(3)
        ]
        for ws in sockets:  # subscribed: the consumer answers after it joined the fan-out
            await ws.send('{"type": "ping"}')
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}

        def publish() -> None:
            for n, text in enumerate(texts):
                realtime.publish(stream.pk, "comment.updated", {"comment": {"id": n, "text": text}})

        await sync_to_async(publish)()
        received: list[list[dict]] = []
        for ws in sockets:
            events: list[dict] = []
            while len(events) < len(texts):
                frame = await asyncio.wait_for(ws.recv(), 10)
                assert isinstance(frame, str)  # text frames: the browser panel reads them as they are
                event = json.loads(frame)
                events += event["events"] if event["type"] == "comment.batch" else [event]
            received.append(events)
            await ws.close()
        return received

    for events in asyncio.run(run()):
        assert [e["comment"]["id"] for e in events] == list(range(len(texts)))
        assert [e["comment"]["text"] for e in events] == texts


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_stops_reading_gets_the_rest_later_in_order(web):  # noqa: F811 - fixture
    # More than the kernel's socket buffers hold: the direct writes stop part way through a frame and
    # Twisted's buffer carries the rest; later frames must queue behind it, not jump ahead.
    stream, url, cookie = _host_feed(web)
    texts = [f"{n:04d} " + "ö" * 20_000 for n in range(400)]  # ~16 MB in all

    async def run() -> list[dict]:
        # max_queue=1: the client stops reading from its socket as soon as one message waits unread.
        ws = await connect(url, additional_headers={"Cookie": cookie, "Origin": web.url}, max_size=None, max_queue=1)
        await ws.send('{"type": "ping"}')
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}

        def publish() -> None:
            for n, text in enumerate(texts):
                realtime.publish(stream.pk, "comment.updated", {"comment": {"id": n, "text": text}})
                time.sleep(0.003)  # still publishing while the client drains: both paths interleave

        async def read() -> list[dict]:
            await asyncio.sleep(0.5)  # the socket fills up first
            events: list[dict] = []
            while len(events) < len(texts):
                event = json.loads(await asyncio.wait_for(ws.recv(), 20))
                events += event["events"] if event["type"] == "comment.batch" else [event]
                await asyncio.sleep(0.002)  # a slow reader
            return events

        _, events = await asyncio.gather(sync_to_async(publish)(), read())
        await ws.close()
        return events

    events = asyncio.run(run())
    assert [e["comment"]["id"] for e in events] == list(range(len(texts)))
    assert [e["comment"]["text"] for e in events] == texts
