"""A real media worker for tests that run a whole show: Celery on the `media` queue, prefork, one child (a process of its own, as in production; tests/support/media_worker.py runs the show on a thread instead).

    def test_show(media_worker): ...                                   # started with the defaults
    def test_other(media_worker_factory): media_worker_factory({"SENTRY_DSN": dsn})

It runs against this test's database (tests using it need a transactional database) and the test run's
Redis, with the test scene as its program; `extra_env` adds to (or overrides) its environment.
Every worker is stopped, with its process group, at the end of the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def media_worker_factory(tmp_path: Path, settings) -> Iterator[Callable[..., subprocess.Popen]]:
    """Real Celery workers on the `media` queue (prefork, one child), against this test's database.

    `extra_env` adds to (or overrides) the worker's environment: a Sentry DSN, other encryption keys.
    Every worker is stopped, with its process group, at the end of the test.
    """
    import redis
    from django.db import connection

    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    base_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "BROADCAST_SPOOL_DIR": str(settings.BROADCAST_SPOOL_DIR),
        "BROADCAST_X264_PRESET": "ultrafast",
        "BROADCAST_SOURCE": "test_scene",
        "ALLOW_PRIVATE_DESTINATIONS": "1",
        "STREAMUS_ENV": "test",
    }
    redis.Redis.from_url(settings.REDIS_URL).delete("media")  # stale messages must not start shows here
    started: list[tuple[subprocess.Popen, object]] = []

    def start(extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        proc = subprocess.Popen(
            media_worker_command(f"media-test-{os.getpid()}-{len(started)}@%h"),
            env={**base_env, **(extra_env or {})},
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((proc, log))
        return proc

    yield start
    for proc, log in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()  # type: ignore[attr-defined]


@pytest.fixture
def media_worker(media_worker_factory: Callable[..., subprocess.Popen]) -> subprocess.Popen:
    return media_worker_factory()


def media_worker_command(name: str, *extra: str) -> list[str]:
    """A media worker as the Procfile starts one (queue media, one prefork process), named `name`."""
    return [
        *(sys.executable, "-m", "celery", "-A", "streamus", "worker", "-Q", "media", "-c", "1", "-P", "prefork"),
        *extra,
        *("--without-gossip", "--without-mingle", "--without-heartbeat", "-n", name),
    ]
