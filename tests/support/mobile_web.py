"""The mobile app's web build (mobile/dist, `expo export --platform web`) on its own loopback origin.

    def test_app(mobile_web, web_factory):
        web = web_factory(extra_env={"API_CORS_ORIGINS": mobile_web.url})
        page.goto(mobile_web.url + "/sign-in")

The build is made (or found up to date) by `scripts/mobile.sh web`, the same command `make test`
runs first. The files are served as they are by a static file server, the way any static host
would serve them: unknown paths answer index.html, because the app routes in the page
(`web.output: "single"`). The app's origin differs from the API's, as a phone's app does: the
API answers it through API_CORS_ORIGINS, bearer mode only.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DIST = BASE_DIR / "mobile" / "dist"
BUILD_TIMEOUT = 900


class _AppHandler(SimpleHTTPRequestHandler):
    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        if not path.exists():
            self.path = "/index.html"  # a route of the app (e.g. /join/<token>): the page routes it
        return super().send_head()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class MobileWeb:
    server: ThreadingHTTPServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def build() -> None:
    subprocess.run([str(BASE_DIR / "scripts" / "mobile.sh"), "web"], check=True, timeout=BUILD_TIMEOUT)
    if not (DIST / "index.html").exists():
        raise RuntimeError("scripts/mobile.sh web made no mobile/dist/index.html")


@pytest.fixture(scope="session")
def mobile_web() -> Iterator[MobileWeb]:
    build()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_AppHandler, directory=str(DIST)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="mobile-web", daemon=True)
    thread.start()
    yield MobileWeb(server=server)
    server.shutdown()
    server.server_close()
