"""A small internet made of Linux network namespaces, for tests/deploy/test_across_nat.py.

    net = Internet("su1234")
    net.host("srv"); net.host("inet")
    net.link("inet", "203.0.113.1/24", "srv", "203.0.113.10/24")
    net.route("srv", "default", "203.0.113.1")
    proc = net.popen("srv", ["redis-server"], hosts=hosts_file)
    net.close()                         # every process started here, then every namespace

Addresses come only from the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24), and nothing is added to the machine's own namespace: each link is a veth pair
created inside its first host and moved into its second. A process started with `hosts=` sees
that file as /etc/hosts (a bind mount in a mount namespace of its own), so names resolve the
way DNS would for that host while the machine's /etc/hosts stays untouched.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Internet:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.hosts: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self._links = 0

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def host(self, name: str, *, forwarding: bool = False) -> None:
        _ip("netns", "add", self.ns(name))
        self.hosts.append(name)
        self.exec(name, ["ip", "link", "set", "lo", "up"])
        if forwarding:
            self.exec(name, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])

    def link(self, a: str, a_address: str, b: str, b_address: str) -> tuple[str, str]:
        """A cable between hosts a and b; returns the interface names (on a, on b)."""
        self._links += 1
        a_if, b_if = f"l{self._links}{a}"[:15], f"l{self._links}{b}"[:15]
        self.exec(a, ["ip", "link", "add", a_if, "type", "veth", "peer", "name", b_if])
        self.exec(a, ["ip", "link", "set", b_if, "netns", self.ns(b)])
        for host, interface, address in ((a, a_if, a_address), (b, b_if, b_address)):
            for addr in address.split(","):
                self.exec(host, ["ip", "addr", "add", addr, "dev", interface])
            self.exec(host, ["ip", "link", "set", interface, "up"])
        return a_if, b_if

    def route(self, host: str, destination: str, via: str) -> None:
        self.exec(host, ["ip", "route", "add", destination, "via", via])

    def exec(self, host: str, command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.ns(host), *command],
            check=True,
            capture_output=True,
            text=True,
            timeout=kwargs.pop("timeout", 120),
            **kwargs,
        )

    def command(self, host: str, command: Sequence[str], *, hosts: Path | None = None) -> list[str]:
        """The argv that runs `command` on `host` (with `hosts` as its /etc/hosts)."""
        argv = ["ip", "netns", "exec", self.ns(host)]
        if hosts is None:
            return [*argv, *command]
        script = f"mount --bind {shlex.quote(str(hosts))} /etc/hosts && exec {shlex.join(command)}"
        return [*argv, "unshare", "--mount", "--propagation", "private", "sh", "-c", script]

    def popen(
        self,
        host: str,
        command: Sequence[str],
        *,
        hosts: Path | None = None,
        log: Path | None = None,
        env: dict[str, str] | None = None,
        stdout: int | IO[bytes] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """A long-running process on `host`, in its own process group; stopped by close()."""
        output: Any = stdout if stdout is not None else (log.open("ab") if log else subprocess.DEVNULL)
        process = subprocess.Popen(
            self.command(host, command, hosts=hosts),
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        for host in reversed(self.hosts):
            # Anything still holding the namespace (a grandchild in another group) goes with it.
            pids = subprocess.run(
                ["ip", "netns", "pids", self.ns(host)], capture_output=True, text=True, timeout=30
            ).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", self.ns(host)], capture_output=True, timeout=30)
        self.hosts.clear()
