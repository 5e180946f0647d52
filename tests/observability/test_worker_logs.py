"""Celery's pool logs through our JSON handler too: billiard's "Process ... exited with ..." line (its
logger does not propagate) was printed as plain text by Python's last-resort handler."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

SCRIPT = """
import django
django.setup()
from billiard import util
util.get_logger()  # as the pool does: the 'multiprocessing' logger, propagate off
util.error("Process %r pid:%r exited with %r", "ForkPoolWorker-1", 4242, "signal 15 (SIGTERM)")
"""


def test_the_pool_process_exit_line_is_json():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "streamus.settings", "STREAMUS_ENV": "test"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, done
    records = [json.loads(line) for line in lines]  # every line JSON, nothing else
    (record,) = [r for r in records if "ForkPoolWorker-1" in r["message"]]
    assert record["level"] == "ERROR" and record["logger"] == "multiprocessing"
