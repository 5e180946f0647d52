"""Stopping and starting the test run's own PostgreSQL (scripts/testenv.sh), for the database-outage fault test.

The server is the one `make test` started for this run (PG_PORT: each run has its own), found by its data
directory; it is started again with the options it ran with (postmaster.opts). Tests run one at a time in a
run, so only the test that stops it is affected; it reconnects this process (``connection.close()``) after.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

from django.db import connection

PGBIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))


class RunPostgres:
    def __init__(self) -> None:
        port = connection.settings_dict["PORT"]
        self.data = Path(os.environ.get("TMPDIR", "/tmp")) / f"streamus-test-pg-{port}" / "data"
        if not (self.data / "postmaster.pid").exists():
            raise RuntimeError(f"no PostgreSQL of scripts/testenv.sh runs from {self.data}")
        argv = shlex.split((self.data / "postmaster.opts").read_text())[1:]
        drop = {i for i, a in enumerate(argv) if a == "-D"}
        self.options = shlex.join(a for i, a in enumerate(argv) if i not in drop and i - 1 not in drop)

    def _pg_ctl(self, *args: str) -> None:
        command = [str(PGBIN / "pg_ctl"), "-D", str(self.data), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=60)

    def stop(self) -> float:
        """Down now (fast: every session is cut, as a crash or a failover does). Returns when it was down."""
        self._pg_ctl("-m", "fast", "-w", "stop")
        return time.monotonic()

    def start(self) -> float:
        self._pg_ctl("-w", "-l", str(self.data.parent / "pg.log"), "-o", self.options, "start")
        connection.close()  # this process's old connection died with the server
        return time.monotonic()
