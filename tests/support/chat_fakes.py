"""Local stand-ins for the platforms, speaking their real protocols on free loopback ports.

- `FakeHttpServer`: HTTP/1.1 on a thread (YouTube Data API, Facebook Graph, and the
  Facebook live_comments event stream), answering from a script of responses per path and
  recording every request with its arrival time.
- `FakeTwitchIrc`: IRC over WebSocket like irc-ws.chat.twitch.tv; records what clients
  send and plays a script per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve

PAYLOADS = Path(__file__).resolve().parents[1] / "engagement" / "payloads"


def payload(name: str) -> str:
    # newline="": IRC lines end in \r\n on the wire and must reach the client unchanged.
    with open(PAYLOADS / name, encoding="utf-8", newline="") as f:
        return f.read()


def payload_json(name: str) -> Any:
    return json.loads(payload(name))


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes as is
    headers: dict[str, str] = field(default_factory=dict)
    # For event streams: chunks written one by one (with `delay` between), then the connection closes.
    chunks: list[str] | None = None
    delay: float = 0.0
    hold_open: float = 0.0  # keep an event stream open this long after the last chunk


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


class FakeHttpServer:
    def __init__(self) -> None:
        self.script: dict[str, list[Reply | Callable[[Request], Reply]]] = {}
        self.default: dict[str, Reply] = {}
        self.requests: list[Request] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                request = Request(
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    at=time.monotonic(),
                )
                outer.requests.append(request)
                queue = outer.script.get(parts.path) or []
                if queue:
                    reply = queue.pop(0)
                else:
                    reply = outer.default.get(parts.path, Reply(404, {"error": {"code": 404, "message": "not found"}}))
                if callable(reply):
                    reply = reply(request)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.chunks is not None:
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        for chunk in reply.chunks:
                            self.wfile.write(chunk.encode())
                            self.wfile.flush()
                            if reply.delay:
                                time.sleep(reply.delay)
                        if reply.hold_open:
                            time.sleep(reply.hold_open)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    self.close_connection = True
                    return
                body = reply.body
                data = json.dumps(body).encode() if isinstance(body, dict | list) else (body or b"")
                if isinstance(data, str):
                    data = data.encode()
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, path: str, *replies: Reply | Callable[[Request], Reply]) -> None:
        self.script.setdefault(path, []).extend(replies)

    def on(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> FakeHttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeTwitchIrc:
    """Each connection: wait for the CAP/PASS/NICK/JOIN handshake, answer it like Twitch, then play
    the next script in `scripts` (a list of actions: ("send", text), ("ping",), ("reconnect",),
    ("wait_pong",), ("close",), ("sleep", s))."""

    def __init__(self, scripts: Iterable[list[tuple[Any, ...]]], *, reject_token: str | None = None) -> None:
        self.scripts = list(scripts)
        self.reject_token = reject_token
        self.received: list[list[str]] = []
        self.pongs = 0
        self._server: Any = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeTwitchIrc:
        self._server = await serve(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        lines: list[str] = []
        self.received.append(lines)
        index = len(self.received) - 1
        script = self.scripts[index] if index < len(self.scripts) else [("sleep", 30)]
        nick = ""
        password = ""
        # The handshake: Twitch answers NICK with the welcome numerics and JOIN with JOIN + ROOMSTATE.
        while True:
            raw = await ws.recv()
            for line in str(raw).split("\r\n"):
                if not line:
                    continue
                lines.append(line)
                if line.startswith("PASS "):
                    password = line[5:]
                elif line.startswith("NICK "):
                    nick = line[5:]
                    if self.reject_token and password == f"oauth:{self.reject_token}":
                        await ws.send(":tmi.twitch.tv NOTICE * :Login authentication failed\r\n")
                        return
                    await ws.send(f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!\r\n:tmi.twitch.tv 376 {nick} :>\r\n")
                elif line.startswith("CAP REQ"):
                    await ws.send(f":tmi.twitch.tv CAP * ACK :{line.split(':', 1)[1]}\r\n")
                elif line.startswith("JOIN "):
                    channel = line[5:]
                    await ws.send(
                        f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN {channel}\r\n"
                        f"@room-id=713936733;slow=0 :tmi.twitch.tv ROOMSTATE {channel}\r\n"
                    )
                    await self._play(ws, script, lines)
                    return

    async def _play(self, ws: ServerConnection, script: list[tuple[Any, ...]], lines: list[str]) -> None:
        for action in script:
            kind = action[0]
            if kind == "send":
                await ws.send(action[1])
            elif kind == "ping":
                await ws.send("PING :tmi.twitch.tv\r\n")
            elif kind == "wait_pong":
                while not any(line.startswith("PONG") for line in lines):
                    raw = await ws.recv()
                    lines.extend(x for x in str(raw).split("\r\n") if x)
                self.pongs += 1
            elif kind == "reconnect":
                await ws.send(":tmi.twitch.tv RECONNECT\r\n")
            elif kind == "close":
                await ws.close()
                return
            elif kind == "sleep":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ws.wait_closed(), timeout=action[1])
                return
        await ws.wait_closed()
