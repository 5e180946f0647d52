"""The parts of a watched StreamUs for tests: Celery processes as the Procfile runs them, a real Prometheus
with the project's scrape config (the Sentry stand-in is tests/support/sentry.py,
CPU groups tests/support/media.py).

    prom = Prometheus.with_project_config(tmp_path, targets={"web": [...], "media": [...]}, token_file=...)
    prom.query('streamus_show_real_time_factor{stream_id="7"}')
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support.live_server import free_port, wait_until

BASE_DIR = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = BASE_DIR / "docker" / "prometheus"
READY_TIMEOUT = 90.0  # Django imports on a loaded 2-core machine


class Process:
    """A StreamUs process started as the Procfile starts it, in its own process group, its output in files."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], directory: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.stdout_path = directory / f"{name}.out"
        self.stderr_path = directory / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                self.argv, cwd=BASE_DIR, env=self.env, stdout=out, stderr=err, start_new_session=True
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def log_lines(self) -> list[str]:
        return self.stderr_path.read_text(errors="replace").splitlines() if self.stderr_path.exists() else []

    def tail(self) -> str:
        return "\n".join(self.log_lines()[-40:])


def celery(name: str, args: list[str], env: dict[str, str], directory: Path) -> Process:
    """`celery -A streamus <args>` as in the Procfile (`worker -Q media -c 1 ...`, `beat ...`)."""
    return Process(name, [sys.executable, "-m", "celery", "-A", "streamus", *args], env, directory).start()


def wait_metrics(port: int, process: Process, timeout: float = READY_TIMEOUT) -> None:
    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2):
            return True
        return False

    wait_until(ready, timeout, f"{process.name}'s metrics on port {port}", interval=0.25)


# --- Prometheus -------------------------------------------------------------------------------


class Prometheus:
    """Debian's prometheus on a loopback port with the project's prometheus.yml and alerts.yml."""

    def __init__(self, directory: Path, config: dict[str, Any]) -> None:
        self.directory = directory
        self.port = free_port()
        self.config_path = directory / "prometheus.yml"
        self.config = config
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def with_project_config(cls, directory: Path, *, targets: dict[str, list[str]], token_file: Path) -> Prometheus:
        """docker/prometheus/prometheus.yml with each job's targets replaced and the token file this test's."""
        directory.mkdir(parents=True, exist_ok=True)
        config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        prometheus = cls(directory, config)
        targets = {**targets, "prometheus": [f"127.0.0.1:{prometheus.port}"]}
        assert set(targets) == set(jobs), f"the test scrapes {sorted(targets)}, the project {sorted(jobs)}"
        for name, job in jobs.items():
            job["static_configs"] = [{"targets": targets[name]}]
            if "authorization" in job:
                job["authorization"]["credentials_file"] = str(token_file)
        prometheus.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        return prometheus

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def scrape_interval(self) -> float:
        return parse_duration(self.config["global"]["scrape_interval"])

    def start(self) -> Prometheus:
        log = (self.directory / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._ready, 60, f"prometheus on {self.port}", interval=0.2)
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"prometheus exited:\n{(self.directory / 'prometheus.log').read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
            return bool(response.status == 200)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def api(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=15) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant vector: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        data = self.api("query", query=expr, time=at)
        assert data["resultType"] == "vector", (expr, data["resultType"])
        return list(data["result"])

    def value(self, expr: str) -> float | None:
        """The single value of an expression that yields one series (None if it yields none)."""
        result = self.query(expr)
        assert len(result) <= 1, (expr, result)
        return float(result[0]["value"][1]) if result else None

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return list(self.api("query_range", query=expr, start=start, end=end, step=step)["result"])

    def targets(self) -> list[dict[str, Any]]:
        return list(self.api("targets", state="active")["activeTargets"])

    def last_scrape(self, job: str) -> float:
        """Unix time at which the most recent scrape of `job` (its oldest target) started."""
        times = [parse_time(t["lastScrape"]) for t in self.targets() if t["labels"]["job"] == job]
        return min(times) if times else 0.0


def parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def parse_time(text: str) -> float:
    """Prometheus's RFC 3339 times with nanoseconds (2026-12-03T18:44:01.123456789Z) → Unix seconds."""
    from datetime import datetime

    head, _, fraction = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(head + "+00:00").timestamp()
    digits = "".join(ch for ch in fraction if ch.isdigit())
    return seconds + (float("0." + digits) if digits else 0.0)
