"""Request bodies over their limit are refused before they are stored; websocket messages are capped.

Against a real Daphne serving streamus.asgi, over raw sockets, so what is measured is what a
client sees: the 413 arrives while the client has sent only its headers (nothing was waited
for, nothing buffered), or a few chunks past the limit.
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
import websockets
from django.conf import settings

from apps.core.bodylimit import BodyLimitMiddleware, body_limit

pytestmark = pytest.mark.django_db(transaction=True)


def _read_response(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _post_headers_only(port: int, path: str, length: int, content_type: str = "application/json") -> bytes:
    """Send a request's headers announcing `length` bytes, send none of them, and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        return _read_response(sock)


def _post_chunked(port: int, path: str, chunk: int, most: int) -> tuple[bytes, int]:
    """Stream a chunked body until the server answers or `most` bytes went out; return (answer, bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        piece = b"%x\r\n%s\r\n" % (chunk, b"a" * chunk)
        try:
            while sent < most:
                sock.sendall(piece)
                sent += chunk
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read_response(sock), sent


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def test_limits_by_endpoint():
    assert body_limit("/api/v1/auth/login") == settings.REQUEST_BODY_MAX_PUBLIC
    assert body_limit("/accounts/login/") == settings.REQUEST_BODY_MAX_PUBLIC
    assert body_limit("/rtc/webhook") == settings.REQUEST_BODY_MAX_PUBLIC
    assert body_limit("/api/v1/engagement/streams/7/comments/") == settings.REQUEST_BODY_MAX_PUBLIC
    assert body_limit("/api/v1/streams/") == settings.REQUEST_BODY_MAX_API
    assert body_limit("/api/v1/uploads/0b5e5c4e-1111-4c4c-8888-000000000000/") > settings.UPLOAD_CHUNK_BYTES
    assert body_limit("/api/v1/brand-kits/3/assets/") > settings.BRAND_ASSET_MAX_BYTES
    assert body_limit("/studio/4/invites/") == settings.REQUEST_BODY_MAX
    assert settings.REQUEST_BODY_MAX_PUBLIC < settings.REQUEST_BODY_MAX_API < settings.UPLOAD_CHUNK_BYTES


def test_a_50_gb_login_is_refused_at_its_headers(web):
    """The issue's case: the answer comes before one byte of the body was sent."""
    response = _post_headers_only(web.port, "/api/v1/auth/login", 50 * 1024**3)
    assert _status(response) == 413
    assert b"Connection: close" in response
    assert json.loads(response.split(b"\r\n\r\n", 1)[1])["detail"].startswith("Request body too large")


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/rtc/webhook", "/api/v1/engagement/streams/1/comments/", "/api/v1/auth/refresh"],
)
def test_unauthenticated_endpoints_refuse_more_than_the_public_limit(web, path):
    assert _status(_post_headers_only(web.port, path, settings.REQUEST_BODY_MAX_PUBLIC + 1)) == 413


def test_a_chunked_body_is_cut_off_just_past_the_limit(web):
    """No Content-Length to check: the body is counted as it arrives and refused once over."""
    response, sent = _post_chunked(web.port, "/api/v1/auth/login", chunk=16 * 1024, most=64 * 1024 * 1024)
    assert _status(response) == 413
    # The server stopped listening long before the client's 64 MiB (socket buffers account for the rest).
    assert sent < 16 * 1024 * 1024


def test_api_bodies_over_the_api_limit_are_refused(web):
    assert _status(_post_headers_only(web.port, "/api/v1/streams/", settings.REQUEST_BODY_MAX_API + 1)) == 413


def test_bodies_within_the_limits_reach_the_application(web):
    body = json.dumps({"email": "nobody@example.com", "password": "x" * 100}).encode()
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(
            f"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        assert _status(_read_response(sock)) == 401  # the view ran: wrong password, not a size problem
    # An upload chunk is far over the API limit but within its own; unauthenticated, so the view says 401/403.
    chunk_path = "/api/v1/uploads/0b5e5c4e-1111-4c4c-8888-000000000000/"
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        size = settings.REQUEST_BODY_MAX_API * 2
        sock.sendall(
            f"PATCH {chunk_path} HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode()
            + b"\0" * size
        )
        assert _status(_read_response(sock)) in {401, 403}
    assert _status(_post_headers_only(web.port, chunk_path, settings.UPLOAD_CHUNK_BYTES + 1024 * 1024)) == 413


def test_websocket_messages_over_the_cap_close_the_socket(web, stream):
    """Daphne's WebSocket protocol closes with 1009 (message too big) before Channels sees the message."""

    async def run() -> tuple[int | None, str]:
        url = f"ws://127.0.0.1:{web.port}/ws/studio/{stream.pk}/"
        origin = f"http://127.0.0.1:{web.port}"
        async with websockets.connect(url, origin=origin, max_size=None) as small:
            await small.send(json.dumps({"type": "chat.send", "text": "hi"}))
            await small.wait_closed()
            small_code = small.close_code  # the consumer's own answer: not signed in
        async with websockets.connect(url, origin=origin, max_size=None) as big:
            await big.send(json.dumps({"type": "chat.send", "text": "x" * settings.WEBSOCKET_MAX_MESSAGE_BYTES}))
            await big.wait_closed()
            return big.close_code, str(small_code)

    big_code, small_code = asyncio.run(run())
    assert small_code == "4401"
    assert big_code == 1009


async def _call(app, scope, chunks):
    """Drive the ASGI middleware directly: what it sent, and how many body messages the app read."""
    sent: list[dict] = []
    reads = 0

    async def receive():
        nonlocal reads
        reads += 1
        body = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    await BodyLimitMiddleware(app)(scope, receive, send)
    return sent, reads


def test_middleware_refuses_without_reading_when_the_length_is_declared():
    called = False

    async def app(scope, receive, send):
        nonlocal called
        called = True

    scope = {"type": "http", "path": "/api/v1/auth/login", "headers": [(b"content-length", b"99999999")]}
    sent, reads = asyncio.run(_call(app, scope, [b"x"]))
    assert sent[0]["status"] == 413 and reads == 0 and not called


def test_middleware_stops_a_streamed_body_past_the_limit():
    seen: list[dict] = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})

    limit = settings.REQUEST_BODY_MAX_PUBLIC
    scope = {"type": "http", "path": "/rtc/webhook", "headers": []}
    sent, reads = asyncio.run(_call(app, scope, [b"x" * (limit // 2)] * 4))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]
    assert seen[-1]["type"] == "http.disconnect" and reads == 3
