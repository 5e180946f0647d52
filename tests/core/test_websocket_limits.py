"""Security finding 2: a websocket frame is refused from its header when it is larger than the product needs.

The reproduction: one 50 MB frame with a forged Origin and no cookie on ws/studio/<id>/ was read whole
(Daphne RSS +150 MB) before the 4401 close. Here a raw client (any script can forge an Origin) declares a
50 MB frame, sends 1 KB of it, and reads: the web process must answer 1009 (message too big) at once,
from the header, without waiting for (or buffering) the rest. Against a real Daphne serving
streamus.asgi:application, for the studio socket and the comment socket.
"""

from __future__ import annotations

import base64
import os
import socket
import struct

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from tests.factories import StreamFactory

DECLARED = 50 * 1024 * 1024
# Only a little of it: the server answers from the header, and bytes it will never read would make its
# kernel reset the connection (and drop the close frame we want to read).
SENT = 1024


def handshake(port: int, path: str, cookie: str = "") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: http://127.0.0.1:{port}",  # forged as easily as any other header outside a browser
    ]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed during the handshake: {response!r}"
        response += chunk
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def big_frame_start() -> bytes:
    """A masked text frame header declaring DECLARED bytes, and the first SENT of them."""
    mask = os.urandom(4)
    header = bytes((0x81, 0x80 | 127)) + struct.pack("!Q", DECLARED) + mask
    return header + bytes(b ^ mask[i % 4] for i, b in enumerate(b"x" * SENT))


def close_code(sock: socket.socket) -> int:
    """Read server frames until the close frame; its status code."""
    buffer = b""

    def need(n: int) -> bytes:
        nonlocal buffer
        while len(buffer) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            buffer += chunk
        out, buffer = buffer[:n], buffer[n:]
        return out

    while True:
        first, second = need(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", need(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", need(8))[0]
        payload = need(length)
        if first & 0x0F == 0x8:
            return int(struct.unpack("!H", payload[:2])[0])


def refused_from_the_header(sock: socket.socket) -> int:
    sock.sendall(big_frame_start())
    try:
        return close_code(sock)  # a read timeout here means the server sat waiting for 50 MB
    finally:
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_an_oversized_frame_is_refused_from_its_header_on_both_sockets(web, user):
    stream = StreamFactory(owner=user)
    # The studio socket, no cookie at all: the token-auth path keeps it open for a first message.
    assert refused_from_the_header(handshake(web.port, f"/ws/studio/{stream.pk}/")) == 1009

    # The comment socket, as its host (a real session).
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    sock = handshake(web.port, f"/ws/streams/{stream.pk}/comments/", cookie)
    assert refused_from_the_header(sock) == 1009


@pytest.mark.django_db(transaction=True)
def test_messages_the_studio_really_sends_still_pass(web, user):
    """A large but real message (a custom layout with ten positions, a long chat line) is well under the cap."""
    assert settings.WEBSOCKET_MAX_MESSAGE_BYTES >= 16 * 1024
    stream = StreamFactory(owner=user)
    sock = handshake(web.port, f"/ws/studio/{stream.pk}/")
    payload = b'{"type": "ping", "pad": "' + b"x" * 8000 + b'"}'
    mask = os.urandom(4)
    sock.sendall(
        bytes((0x81, 0x80 | 126))
        + struct.pack("!H", len(payload))
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )
    # Unauthenticated: anything but {"type": "auth"} closes with 4401, after reading it whole.
    assert close_code(sock) == 4401
    sock.close()
