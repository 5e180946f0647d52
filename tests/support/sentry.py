"""A Sentry ingest on loopback that keeps every envelope it receives (the SDK's real HTTP transport).

    def test_x(sentry_ingest):
        env = {"SENTRY_DSN": sentry_ingest.dsn}             # give it to a process under test
        event = sentry_ingest.wait_for(lambda e: ...)      # the first event item matching
        sentry_ingest.raw                                   # every envelope, decompressed, as text

The SDK posts envelopes to /api/<project>/envelope/ (brotli- or gzip-compressed); items are newline-separated JSON:
the envelope header, then for each item its header and its payload.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _Ingest(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.envelopes: list[str] = []
        self.cond = threading.Condition()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Ingest

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # the SDK's choice whenever brotli is installed (it is: WhiteNoise uses it)
            import brotli

            body = brotli.decompress(body)
        with self.server.cond:
            self.server.envelopes.append(body.decode("utf-8", errors="replace"))
            self.server.cond.notify_all()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


class SentryIngest:
    def __init__(self) -> None:
        self._server = _Ingest()
        self._thread = threading.Thread(target=self._server.serve_forever, name="sentry-ingest", daemon=True)
        self._thread.start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self._server.server_address[1]}/1"

    @property
    def raw(self) -> str:
        with self._server.cond:
            return "\n".join(self._server.envelopes)

    def events(self) -> list[dict[str, Any]]:
        """Every `event` item received so far."""
        found = []
        with self._server.cond:
            envelopes = list(self._server.envelopes)
        for envelope in envelopes:
            lines = envelope.split("\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                try:
                    if json.loads(header).get("type") == "event":
                        found.append(json.loads(payload))
                except ValueError:
                    continue
        return found

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events():
                if predicate(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching Sentry event within {timeout:.0f}s; got {self.events()!r:.2000}")
            with self._server.cond:
                self._server.cond.wait(min(left, 1.0))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def sentry_ingest() -> Iterator[SentryIngest]:
    ingest = SentryIngest()
    yield ingest
    ingest.close()
