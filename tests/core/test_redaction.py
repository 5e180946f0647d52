"""Security finding 9: log redaction covers every secret shape we handle, on every handler, in every process.

The reproduction: an RTMP URL with a key in its path, `client_secret=…`, JSON `"access_token": "…"` and
IRC `PASS oauth:…` passed the filter unmasked; and the filter sat on the console handler only (a Celery
worker replaces the root handlers with its own unless told not to).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from apps.core.logging import RedactSecretsFilter, redact
from tests.support.secrets import SECRET, TABLE


@pytest.mark.parametrize("line", TABLE)
def test_every_secret_shape_is_masked(line):
    cleaned = redact(line)
    assert SECRET not in cleaned, cleaned
    assert "\u2022\u2022\u2022\u2022" in cleaned


@pytest.mark.parametrize(
    "line",
    [
        "Show 12 is on air with 2 destination(s).",
        "Destination 7 failed (connection refused); retrying in 2.0 s.",
        "rtmp://a.rtmp.youtube.com/live2",  # an ingest URL without a key stays readable
        "rtmps://127.0.0.1:1935/live connected",
        '{"event": "comment.created", "id": 4}',
        "key rotation finished",
    ],
)
def test_ordinary_lines_are_left_alone(line):
    assert redact(line) == line


def test_every_configured_handler_redacts():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "redact" in handler.get("filters", []), name
    for handler in logging.getLogger().handlers:
        if type(handler).__module__.startswith("_pytest"):
            continue  # pytest's capture, added for the test run
        assert any(isinstance(f, RedactSecretsFilter) for f in handler.filters), handler


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_logs_through_our_redacting_handlers(tmp_path: Path):
    """A real worker: its lines are our JSON (so our handlers and their filter), not Celery's own format."""
    from tests.support.live_server import server_env

    env = server_env(redis_url=settings.REDIS_URL, extra={"LOG_LEVEL": "INFO"})
    queue = f"redaction-{os.getpid()}-{time.monotonic_ns()}"
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "streamus", "worker", "-Q", queue, "-c", "1", "-P", "solo"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and " ready" not in log_path.read_text(errors="replace"):
            assert proc.poll() is None, log_path.read_text(errors="replace")
            time.sleep(0.2)
        from streamus.celery import app

        result = app.send_task("library.sweep_stale_uploads", queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and result.id not in log_path.read_text(errors="replace"):
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(30)
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    task_lines = [line for line in lines if result.id in line]
    assert task_lines, "\n".join(lines[-30:])
    for line in task_lines:
        record = json.loads(line)  # our JsonFormatter, so our handler with the redaction filter
        assert {"time", "level", "logger", "message", "request_id"} <= set(record)
