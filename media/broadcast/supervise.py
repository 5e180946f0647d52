"""Spawning children we do not trust (FFmpeg): own process group, dies with us, killed as a group.

* ``start_new_session``-style ``setpgid(0, 0)`` puts the child and anything it
  forks in their own process group, so one ``killpg`` ends all of them.
* ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` makes the kernel kill the child when
  the thread that spawned it dies, which covers the case where our own
  process is SIGKILLed and has no chance to clean up. Spawn from a thread
  that lives as long as the child should (the show's control thread).
* Every FFmpeg command line gets ``-protocol_whitelist`` with only what it
  needs, and never a secret.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
# Loaded here, in the parent: between fork and exec the child must not dlopen (another thread may have
# held the loader's lock at fork time).
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_parent_pid = os.getpid()
PR_SET_NAME = 15


def name_native_thread() -> None:
    """Give the calling OS thread its Python thread's name (first 15 bytes), so `top -H`, `ps -L` and the
    benchmarks' per-thread CPU tell the frame loop, pushers and recorder apart (Python 3.11 does not)."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_NAME, threading.current_thread().name.encode()[:15], 0, 0, 0)


def _child_setup() -> None:  # runs in the child between fork and exec: keep it tiny
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died between fork and prctl: then nobody would kill us later.
        if os.getppid() != _parent_pid:
            os._exit(1)


def spawn(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    """Start `argv` in its own process group; the kernel kills it if the spawning thread dies."""
    global _parent_pid
    _parent_pid = os.getpid()  # Celery prefork children are forks: the parent is whoever spawns
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        argv, preexec_fn=_child_setup, process_group=0, close_fds=True, **kwargs
    )


def kill_group(proc: subprocess.Popen[bytes], *, grace: float = 2.0) -> int | None:
    """SIGTERM the child's process group, wait `grace`, then SIGKILL the group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(1.0)
    return proc.returncode
