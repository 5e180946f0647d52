"""The product's websockets (studio and comment moderation), driven from plain sync test code.

The sockets talk to the real ASGI application (`streamus.asgi:application`: origin check, session
middleware, routing, consumers) through Channels' communicator, on one event loop that runs on its
own thread, so a sync test can call the REST API, a dashboard view, the admin or a Celery task in
between and then wait for what each socket received:

    def test_x(studio_sockets, user, stream):
        host = studio_sockets.studio(stream.pk, session_cookie(user=user))
        mark = host.mark()
        ...                                            # any entry point
        host.wait("participant.updated", lambda m: m["participant"]["guest_id"] == 7, after=mark)
        host.wait_closed()                             # the close code, once the server closed it

Every message a socket receives is kept in order (`messages`), with the close code when the server
closes it. Waits are bounded; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
WAIT_SECONDS = 5.0


def session_cookie(*, user: Any = None, guests: dict[int, int] | None = None) -> bytes:
    """A real database session, as the login view or the join page would have left it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.streams.seats import SESSION_GUESTS_KEY

    session = SessionStore()
    if user is not None:
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if guests:
        session[SESSION_GUESTS_KEY] = {str(stream_id): guest_id for stream_id, guest_id in guests.items()}
    session.create()
    return f"sessionid={session.session_key}".encode()


Match = Callable[[dict[str, Any]], bool]


class Socket:
    """One websocket client; a reader task on the loop keeps every message it receives."""

    def __init__(self, loop: SocketLoop, path: str, cookie: bytes | None) -> None:
        from channels.testing import WebsocketCommunicator

        from streamus.asgi import application

        headers = [ORIGIN] + ([(b"cookie", cookie)] if cookie else [])
        self.path = path
        self.loop = loop
        self.communicator = WebsocketCommunicator(application, path, headers=headers)
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.cond = threading.Condition()

    def connect(self) -> Socket:
        connected, _ = self.loop.run(self.communicator.connect(timeout=WAIT_SECONDS))
        if not connected:
            raise AssertionError(f"{self.path}: the server refused the handshake")
        self.loop.spawn(self._read())
        return self

    async def _read(self) -> None:
        while True:
            # Not receive_output(timeout): a timeout there cancels the application.
            output = await self.communicator.output_queue.get()
            with self.cond:
                if output["type"] == "websocket.send":
                    self.messages.append(json.loads(output["text"]))
                elif output["type"] == "websocket.close":
                    self.close_code = output.get("code", 1000)
                self.cond.notify_all()
            if output["type"] == "websocket.close":
                return

    def send(self, message: dict[str, Any]) -> None:
        self.loop.run(self.communicator.send_json_to(message))

    def mark(self) -> int:
        """A position in the messages: waits `after` it ignore what came before."""
        with self.cond:
            return len(self.messages)

    def _find(self, kind: str, where: Match | None, after: int) -> dict[str, Any] | None:
        for message in self.messages[after:]:
            if message.get("type") == kind and (where is None or where(message)):
                return message
        return None

    def wait(self, kind: str, where: Match | None = None, *, after: int = 0, timeout: float = WAIT_SECONDS) -> dict:
        """The first message of `kind` (matching `where`) received after position `after`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = self._find(kind, where, after)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self.close_code is not None:
                    seen = [m.get("type") for m in self.messages[after:]]
                    state = f"closed {self.close_code}" if self.close_code is not None else "open"
                    raise AssertionError(f"{self.path} ({state}): no {kind} within {timeout}s; received {seen}")
                self.cond.wait(left)

    def received(self, kind: str, where: Match | None = None, *, after: int = 0, before: int | None = None) -> list:
        with self.cond:
            return [m for m in self.messages[after:before] if m.get("type") == kind and (where is None or where(m))]

    def wait_closed(self, timeout: float = WAIT_SECONDS) -> int:
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.close_code is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.path}: still open after {timeout}s")
                self.cond.wait(left)
            return self.close_code

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    def close(self) -> None:
        if self.close_code is None:
            with contextlib.suppress(Exception):
                self.loop.run(self.communicator.disconnect(code=1000, timeout=WAIT_SECONDS))


class SocketLoop:
    """One event loop on a thread for every socket of a test, with a channel layer of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-sockets", daemon=True)
        self.thread.start()
        self.sockets: list[Socket] = []
        self.tasks: list[asyncio.Future[Any]] = []

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 3 * WAIT_SECONDS) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.tasks.append(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def studio(self, stream_id: int, cookie: bytes | None = None) -> Socket:
        """A studio socket (ws/studio/<id>/), connected; its first message is the state.full."""
        socket = Socket(self, f"/ws/studio/{stream_id}/", cookie).connect()
        self.sockets.append(socket)
        socket.wait("state.full")
        return socket

    def comments(self, stream_id: int, cookie: bytes | None = None) -> Socket:
        """A comment moderation socket (ws/streams/<id>/comments/), connected and following."""
        socket = Socket(self, f"/ws/streams/{stream_id}/comments/", cookie).connect()
        self.sockets.append(socket)
        return socket

    def stop(self) -> None:
        for socket in self.sockets:
            socket.close()
        for task in self.tasks:
            task.cancel()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _fresh_layer() -> None:
    # channels_redis binds its locks to the loop that first used a layer object: one per test.
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


@pytest.fixture
def studio_sockets(transactional_db: None) -> Iterator[SocketLoop]:
    """Sockets on the real ASGI app for a sync test; all closed at its end. Rows must be committed."""
    _fresh_layer()
    loop = SocketLoop()
    yield loop
    loop.stop()
    _fresh_layer()
