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
import time

PR_SET_PDEATHSIG = 1


def _child_setup() -> None:  # runs in the child between fork and exec
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may already be gone between fork and prctl: then exit now.
        if os.getppid() == 1:
            os._exit(1)


def spawn(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, preexec_fn=_child_setup, close_fds=True, **kwargs)  # type: ignore[call-overload]


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
