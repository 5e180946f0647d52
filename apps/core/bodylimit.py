"""Request body and websocket message limits, enforced before anything is read.

    body_limit("/api/v1/auth/login")  -> settings.REQUEST_BODY_MAX_PUBLIC

An unauthenticated client must not be able to make the server store a large body:
Django's ASGI handler spools the whole body to a temporary file before any view
runs, and under Daphne, Twisted buffers it even earlier. So the limit is applied at
the two places that see the body first, with one table (`body_limit`):

- `BodyLimitMiddleware` wraps the ASGI application: a declared Content-Length over
  the limit is answered 413 without reading a byte; a chunked body is counted as it
  arrives and refused as soon as it passes the limit.
- `install_daphne_limits()` (called by streamus.asgi) teaches Daphne's request the
  same table at the moment its headers are complete (`gotLength`), before Twisted
  opens its buffer, and caps websocket frames and messages in Daphne's WebSocket
  protocol, so an oversized message closes the socket (1009) before Channels sees it.

The front (docker/Caddyfile) applies the same limits again; these hold without it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

# Uploaded files arrive in chunks (resumable uploads) or as one brand image; the slack
# covers the multipart envelope and form fields around the file.
_ENVELOPE = 64 * 1024
_UPLOAD_CHUNK = re.compile(r"^/(api/v1/uploads/[^/]+/|library/guest-uploads/session/[^/]+/)$")
_BRAND_IMAGE = re.compile(r"^/(api/v1/)?brand-kits/\d+/assets/$")
# Reachable without an account: login, signup, password reset, the token endpoints, webhooks.
_PUBLIC = re.compile(
    r"^/(api/v1/auth/|accounts/|admin/login/|rtc/webhook|api/v1/engagement/streams/\d+/comments/"
    r"|engagement/streams/\d+/comments/|join/)"
)


def body_limit(path: str) -> int:
    """The largest request body accepted for `path`, in bytes."""
    if _UPLOAD_CHUNK.match(path):
        return int(settings.UPLOAD_CHUNK_BYTES) + _ENVELOPE
    if _BRAND_IMAGE.match(path):
        return int(settings.BRAND_ASSET_MAX_BYTES) + _ENVELOPE
    if _PUBLIC.match(path):
        return int(settings.REQUEST_BODY_MAX_PUBLIC)
    if path.startswith("/api/"):
        return int(settings.REQUEST_BODY_MAX_API)
    return int(settings.REQUEST_BODY_MAX)


def _too_large_body(path: str, limit: int) -> tuple[bytes, bytes]:
    if path.startswith("/api/"):
        return b"application/json", b'{"detail": "Request body too large (at most %d bytes)."}' % limit
    return b"text/plain; charset=utf-8", b"Request body too large (at most %d bytes).\n" % limit


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """ASGI middleware: 413 for a body over `body_limit(path)`, before the application reads it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = body_limit(path)
        declared = _declared_length(scope.get("headers", []))
        if declared is not None and declared > limit:
            await self._refuse(send, path, limit)
            return

        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(send, path, limit)
                    # The application sees the client go away and stops reading.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    @staticmethod
    async def _refuse(send: Send, path: str, limit: int) -> None:
        content_type, body = _too_large_body(path, limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _Discard:
    """Stands in for Twisted's request buffer once a request is refused: nothing is kept."""

    def write(self, data: bytes) -> None:
        pass

    def seek(self, *args: Any) -> None:
        pass

    def read(self, *args: Any) -> bytes:
        return b""

    def close(self) -> None:
        pass

    closed = False


def install_daphne_limits() -> None:
    """Make Daphne refuse oversized bodies at the headers and cap websocket messages (idempotent)."""
    from daphne import http_protocol

    if getattr(http_protocol.WebRequest, "streamus_limits", False):
        return
    base = http_protocol.WebRequest

    class LimitedWebRequest(base):  # type: ignore[misc, valid-type]
        streamus_limits = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._body_limit: int | None = None
            self._body_received = 0
            self._body_refused = False
            ws_factory = getattr(self.server, "ws_factory", None)
            if ws_factory is not None and not getattr(ws_factory, "streamus_limits", False):
                cap = int(settings.WEBSOCKET_MAX_MESSAGE_BYTES)
                # failByDrop=False: say why (close 1009) instead of only dropping the TCP connection.
                ws_factory.setProtocolOptions(maxFramePayloadSize=cap, maxMessagePayloadSize=cap, failByDrop=False)
                ws_factory.streamus_limits = True

        def gotLength(self, length: int | None) -> None:
            # Headers are complete; the request line's path is still on the channel.
            raw_path = getattr(self.channel, "_path", b"") or b""
            path = raw_path.split(b"?", 1)[0].decode("latin-1")
            self._body_path = path
            self._body_limit = body_limit(path)
            if length is not None and length > self._body_limit:
                self._refuse()
                return
            super().gotLength(length)

        def handleContentChunk(self, data: bytes) -> None:
            if self._body_refused:
                return
            self._body_received += len(data)
            if self._body_limit is not None and self._body_received > self._body_limit:
                self._refuse()
                return
            super().handleContentChunk(data)

        def _refuse(self) -> None:
            self._body_refused = True
            self.content = _Discard()
            content_type, body = _too_large_body(self._body_path, self._body_limit or 0)
            self.channel.transport.write(
                b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s" % (content_type, len(body), body)
            )
            self.channel.loseConnection()

        def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
            if self._body_refused:
                return  # answered already; never reaches the application
            super().requestReceived(command, path, version)

    http_protocol.WebRequest = LimitedWebRequest
