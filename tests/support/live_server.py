"""A real web process for browser tests: Daphne (HTTP + websockets) on a free loopback port.

pytest-django's `live_server` is WSGI and has no websockets, so the studio
cannot run on it. This starts `daphne` in a subprocess pointed at the TEST
database (tests using it need `transactional_db`, so their rows are committed
and visible to the other process) and at a Redis of the caller's choice.

    def test_page(web):            # session-wide server on the shared test Redis
        page.goto(web.url + "/join/x/")

    def test_restart(web_factory, private_redis):
        server = web_factory(redis_url=private_redis.url)

The server is `streamus.asgi:application` under Daphne, exactly as the Procfile starts it:
static files come from the application itself (WhiteNoise, apps/core/static.py). What differs
from `make run`, and why: STREAMUS_ENV=test (the test database and Redis, not var/), and DEBUG is
off as in production; static files are served from the finders as in development (production
serves collectstatic's hashed copies, which tests/core/test_static.py checks separately).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
READY_TIMEOUT = 90.0  # a loaded 2-core machine takes a while to import Django and bind


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class WebServer:
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "streamus.asgi:application",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches any child too
        )
        wait_until(self._ready, READY_TIMEOUT, f"daphne on port {self.port} (log: {self.log_path})")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


def server_env(*, redis_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the web process: this test run's database, the given Redis."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}{':' + db['PASSWORD'] if db['PASSWORD'] else ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    env = {
        **os.environ,
        "STREAMUS_ENV": "test",
        "DATABASE_URL": database_url,
        "TEST_DATABASE_NAME": "",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "LIVEKIT_URL": settings.LIVEKIT_URL,
        "LIVEKIT_API_KEY": settings.LIVEKIT_API_KEY,
        "LIVEKIT_API_SECRET": settings.LIVEKIT_API_SECRET,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "UPLOAD_SPOOL_DIR": str(settings.UPLOAD_SPOOL_DIR),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
    # Set for Playwright's sync API in the test process only; the server keeps Django's async-safety checks.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(extra or {})
    return env


@pytest.fixture
def web_factory(transactional_db, tmp_path: Path) -> Iterator[Callable[..., WebServer]]:
    """Start web processes for one test; all are stopped at its end."""
    from django.conf import settings

    servers: list[WebServer] = []

    def make(*, redis_url: str | None = None, extra_env: dict[str, str] | None = None) -> WebServer:
        port = free_port()
        env = server_env(redis_url=redis_url or settings.REDIS_URL, extra=extra_env)
        env["CSRF_TRUSTED_ORIGINS"] = f"http://127.0.0.1:{port},http://localhost:{port}"
        env["SITE_URL"] = f"http://127.0.0.1:{port}"
        server = WebServer(port=port, env=env, log_path=tmp_path / f"daphne-{port}.log")
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def web(web_factory: Callable[..., WebServer]) -> WebServer:
    """One web process on the test run's Redis."""
    return web_factory()


@dataclass
class RedisServer:
    """A private redis-server, for tests that restart it (the shared one must never go down)."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self._ready, 10, f"redis-server on port {self.port}")

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def restart(self) -> None:
        """Down (everything in it is lost: no persistence) and up again on the same port."""
        self.stop()
        self.start()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(port=free_port(), directory=tmp_path)
    server.start()
    yield server
    server.stop()
