"""A whole StreamUs as `make run` starts it: `scripts/run.sh` on free ports with its own var/.

    with MakeRunInstance.start_new(tmp_path) as instance:
        page.goto(instance.url)

Used by the smoke test (tests/smoke/) and by docs/screenshots/capture.py, so the README's
pictures show the product a user starts. The environment is what a new user's shell has (PATH,
HOME, locale) plus the ports and the data directory: nothing of the test run's own settings
(PostgreSQL, the test Redis, STREAMUS_ENV=test) leaks in, so the instance runs on its embedded
defaults: SQLite, local files, its own Redis and LiveKit, the development settings.

Every process the instance starts inherits a marker in its environment; `leftovers()` finds any
that outlived `stop()` (honcho starts each process in its own session, so a process group would
not reach them all).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DEMO_EMAIL = "demo@streamus.local"
DEMO_PASSWORD = "streamus-demo"
MARKER = "STREAMUS_INSTANCE_ID"
# The first start migrates a new SQLite database and starts six processes.
READY_TIMEOUT = 120.0
# honcho gives its processes this long after SIGTERM (the media worker finalizes recordings).
STOP_TIMEOUT = 45.0
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "USER", "LOGNAME", "SHELL", "TMPDIR", "XDG_CACHE_HOME")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_run(length: int = 1) -> int:
    """A port such that it and the next `length - 1` are free (LiveKit takes port .. port+3)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + length < 65535 and all(_port_free(base + n) for n in range(length)):
            return base
    raise RuntimeError(f"no run of {length} free ports found")


@dataclass
class MakeRunInstance:
    var_dir: Path
    web_port: int
    redis_port: int
    livekit_port: int
    metrics_port: int
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def start_new(cls, directory: Path) -> MakeRunInstance:
        instance = cls(
            var_dir=directory / "var",
            web_port=free_port_run(),
            redis_port=free_port_run(),
            livekit_port=free_port_run(4),
            metrics_port=free_port_run(5),
        )
        instance.start()
        return instance

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def log_path(self) -> Path:
        return self.var_dir.parent / "make-run.log"

    def env(self) -> dict[str, str]:
        env = {key: os.environ[key] for key in KEEP_ENV if key in os.environ}
        env.update(
            STREAMUS_PORT=str(self.web_port),
            REDIS_PORT=str(self.redis_port),
            LIVEKIT_PORT=str(self.livekit_port),
            STREAMUS_METRICS_PORT=str(self.metrics_port),
            STREAMUS_VAR_DIR=str(self.var_dir),
            **{MARKER: self.instance_id},
        )
        return env

    def manage_env(self) -> dict[str, str]:
        """For a `manage.py` command against the running instance: the URLs run.sh derives from the ports."""
        return {
            **self.env(),
            "STREAMUS_ENV": "development",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "LIVEKIT_URL": f"ws://127.0.0.1:{self.livekit_port}",
            "SITE_URL": self.url,
        }

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=BASE_DIR,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"scripts/run.sh exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"make run was not ready after {READY_TIMEOUT:.0f}s:\n{self.log()}")
            time.sleep(0.25)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        """Ctrl-C, as a user stops `make run`; then wait for every process it started."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        deadline = time.monotonic() + 10
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)

    def leftovers(self) -> list[str]:
        """Live processes (not zombies) that carry this instance's marker."""
        found = []
        for proc in psutil.process_iter(["pid", "name", "status"]):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            try:
                if proc.environ().get(MARKER) == self.instance_id:
                    found.append(f"{proc.info['pid']} {' '.join(proc.cmdline())[:120]}")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def __enter__(self) -> MakeRunInstance:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
