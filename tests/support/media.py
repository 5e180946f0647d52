"""Real media workers for tests: ``celery -A streamus worker -Q media`` as the Procfile starts it.

    def test_x(media_workers):
        a, b = media_workers(2)                  # two workers on the media queue, this test's database
        a.wait_ready()
        a.show_process()                         # the pool process running a show (it has an FFmpeg child)
        a.kill()                                 # SIGKILL the whole worker: main process, pool, FFmpeg
        a.terminate()                            # SIGTERM the main process: a deploy stopping it

Each worker runs prefork with one pool process (one show), against the test database, the given
Redis (the shared test Redis by default) and a spool directory shared by all workers of the test
(as a volume shared by media replicas would be). What differs from `make run`, and why: the program
is the generated test scene unless a test asks for the compositor (no LiveKit needed), x264 runs
`ultrafast` (2 busy cores), and private destination addresses are allowed (the RTMP servers are on
loopback). Each worker runs in a CPU cgroup of its own (``worker.cpu``) with a high weight against
the rest of the machine (DEDICATED_WEIGHT; a quota a test can set starves it). `cpus` pins it (and
everything it starts) to those cores with taskset.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.support.celery_worker import media_worker_command

READY_TIMEOUT = 90.0  # a loaded 2-core machine takes a while to import Django and the media stack
# A media worker's CPU weight against everything else on the machine (x the default): a deployment gives its
# media containers their CPU; the machine the tests run on is shared, and what a fault test starves, kills
# or measures must be the fault, not a neighbour's test run.
DEDICATED_WEIGHT = 100


@dataclass
class MediaWorker:
    name: str
    log_path: Path
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    proc: subprocess.Popen[bytes] | None = None
    cpu: CpuGroup | None = None

    def start(self) -> MediaWorker:
        log = self.log_path.open("ab")
        procs = str(self.cpu.path / "cgroup.procs") if self.cpu is not None else None

        def join_cgroup() -> None:  # in the child before exec: everything the worker starts is in the group
            if procs is not None:
                with open(procs, "w") as fh:
                    fh.write(str(os.getpid()))

        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=join_cgroup,
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> MediaWorker:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log():
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"media worker {self.name} exited:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"media worker {self.name} not ready:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pool(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []

    def show_process(self) -> psutil.Process | None:
        """The pool process running a show: the one with an FFmpeg (the recorder) child."""
        for child in self.pool():
            with contextlib.suppress(psutil.NoSuchProcess):
                if any("ffmpeg" in " ".join(c.cmdline()) for c in child.children()):
                    return child
        return None

    def running_show(self) -> bool:
        return self.show_process() is not None

    def processes(self) -> list[psutil.Process]:
        """The main process and everything under it (pool processes, FFmpeg)."""
        try:
            main = psutil.Process(self.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> list[str]:
        """SIGKILL the whole worker at once (the machine or container gone). Returns the command lines killed."""
        victims = []
        for p in self.processes():  # every command line first: FFmpeg exits on its own once its stdin closes
            with contextlib.suppress(psutil.NoSuchProcess):
                victims.append((p, " ".join(p.cmdline())))
        for p, _cmd in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        killed = [cmd for _p, cmd in victims]
        if self.proc is not None:
            self.proc.wait(10)
        return killed

    def terminate(self) -> None:
        """SIGTERM to the main process only: what `docker stop` and Kubernetes send to PID 1."""
        os.kill(self.pid, signal.SIGTERM)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for p in self.processes():  # anything that left the process group (FFmpeg runs in its own)
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()


class CpuGroup:
    """A CPU cgroup for a process tree (cgroup v1 `cpu` controller, or v2 with `cpu` enabled): its weight
    against everything else on the machine, and a quota (a share of one CPU) that starves it on demand.

    The machine the tests run on is shared (other test runs, browsers): the weight gives the media worker
    the CPU a deployment gives its media pods, so that only the quota, not the neighbours, starves it.
    """

    V1 = Path("/sys/fs/cgroup/cpu")
    V2 = Path("/sys/fs/cgroup")
    PERIOD_US = 100_000

    def __init__(self, name: str) -> None:
        if (self.V1 / "cpu.shares").exists():
            self.v2 = False
            self.path = self.V1 / name
        elif (self.V2 / "cgroup.controllers").exists() and "cpu" in (self.V2 / "cgroup.controllers").read_text():
            self.v2 = True
            self.path = self.V2 / name
            control = self.V2 / "cgroup.subtree_control"
            if "cpu" not in control.read_text().split():
                control.write_text("+cpu")
        else:
            raise RuntimeError("no writable CPU cgroup here (cgroup v1 cpu or v2 with the cpu controller; run as root)")
        self.path.mkdir(exist_ok=True)

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def weight(self, times_default: int) -> None:
        if self.v2:
            (self.path / "cpu.weight").write_text(str(100 * times_default))
        else:
            (self.path / "cpu.shares").write_text(str(1024 * times_default))

    def limit(self, cpus: float | None) -> None:
        """At most `cpus` of one CPU (None: no limit)."""
        quota = -1 if cpus is None else max(1000, int(cpus * self.PERIOD_US))
        if self.v2:
            (self.path / "cpu.max").write_text(f"{'max' if quota < 0 else quota} {self.PERIOD_US}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.limit(None)
        parent = self.path.parent / "cgroup.procs"
        for pid in (self.path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                parent.write_text(pid)
        with contextlib.suppress(OSError):
            self.path.rmdir()


def worker_env(*, redis_url: str, spool: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TEST_DATABASE_NAME": "",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "BROADCAST_SPOOL_DIR": str(spool),
        "BROADCAST_X264_PRESET": "ultrafast",
        "BROADCAST_SOURCE": "test_scene",
        "LIVEKIT_URL": settings.LIVEKIT_URL,
        "LIVEKIT_API_KEY": settings.LIVEKIT_API_KEY,
        "LIVEKIT_API_SECRET": settings.LIVEKIT_API_SECRET,
        "ALLOW_PRIVATE_DESTINATIONS": "1",
        "STREAMUS_ENV": "test",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra or {})
    return env


@pytest.fixture
def media_workers(transactional_db, tmp_path: Path, settings) -> Iterator[Callable[..., list[MediaWorker]]]:
    """Factory: `media_workers(n, redis_url=..., extra_env=..., cpus="0")` starts n media workers, ready."""
    import redis

    spool = tmp_path / "spool"
    settings.BROADCAST_SPOOL_DIR = spool
    started: list[MediaWorker] = []

    def make(
        count: int = 1,
        *,
        redis_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        cpus: str | None = None,
        cpu_weight: int | None = DEDICATED_WEIGHT,
        wait: bool = True,
    ) -> list[MediaWorker]:
        url = redis_url or settings.REDIS_URL
        if not started:
            redis.Redis.from_url(url).delete("media")  # stale messages of an earlier test must not start shows
        workers = []
        for _ in range(count):
            name = f"media{len(started) + 1}-{os.getpid()}@%h"
            argv = [*media_worker_command(name, "--prefetch-multiplier", "1"), "--loglevel", "INFO"]
            if cpus is not None:
                argv = ["taskset", "-c", cpus, *argv]
            worker = MediaWorker(
                name=name.split("@")[0],
                log_path=tmp_path / f"{name.split('@')[0]}.log",
                argv=argv,
                env=worker_env(redis_url=url, spool=spool, extra=extra_env),
                cwd=settings.BASE_DIR,
            )
            if cpu_weight is not None:
                worker.cpu = CpuGroup(f"streamus-test-{os.getpid()}-{len(started)}")
                worker.cpu.weight(cpu_weight)
            worker.start()
            started.append(worker)
            workers.append(worker)
        if wait:
            for worker in workers:
                worker.wait_ready()
        return workers

    yield make
    for worker in started:
        worker.stop()
        if worker.cpu is not None:
            worker.cpu.remove()
