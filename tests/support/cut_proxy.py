"""A TCP proxy in front of a server, that a test can cut the way networks and proxies do.

    proxy = CutProxy(upstream_port).start()   # http://127.0.0.1:<proxy.port>/ reaches the upstream server
    proxy.cut("close")        # every connection reset, new ones refused: a proxy restarting
    proxy.cut("silent")       # connections stay open and nothing passes either way: a NAT or a
                              # proxy dropping them without a word (the browser's socket says open)
    proxy.restore()           # passes again; connections held silent are reset (their state is gone)

Bytes are passed unchanged (HTTP, websockets), so the pages and their sockets see the upstream server
as it is, under the proxy's address.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class CutProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.upstream_port = upstream_port
        self.port = 0
        self.mode = "pass"
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cut-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> CutProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, self.host, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            self._reset_all()

        self._call(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self, mode: str) -> None:
        assert mode in ("close", "silent"), mode

        async def apply() -> None:
            self.mode = mode
            if mode == "close":
                self._reset_all()

        self._call(apply())

    def restore(self) -> None:
        async def apply() -> None:
            if self.mode == "silent":
                self._reset_all()
            self.mode = "pass"

        self._call(apply())

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _reset_all(self) -> None:
        for client, upstream in list(self._connections):
            client.transport.abort()
            upstream.transport.abort()
        self._connections.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "close":
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._connections.add(pair)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._connections.discard(pair)
        writer.transport.abort()
        up_writer.transport.abort()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                if self.mode == "silent":
                    continue  # swallowed: the other side hears nothing
                sink.write(data)
                await sink.drain()
        sink.transport.abort()
