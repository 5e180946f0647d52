"""docker/compose.yaml, built and run: a show goes out through the stack a server runs.

What runs: Debian's Docker engine (docker.io), started here with its data root in
~/.cache/streamus/docker (image layers survive between runs) and stopped at the end unless it
was already running; the compose v2 plugin built from the Go module proxy; the stack from
docker/compose.yaml with docker/compose.test.yaml's stand-ins for the official images (FROM a
debootstrapped Debian bookworm, no registry is reachable here: Caddy and MinIO built from the Go
module proxy, PostgreSQL and Redis from Debian's packages; see docker/standins/README.md).
The settings are production's, written by docker/gen-env.sh, with Caddy's internal CA.

The stack's public address is the engine's bridge address (192.0.2.129, a documentation
address, from scripts/docker-testenv.sh) on port 443; the RTMP ingest "outside the stack" is an
nginx-rtmp on the same address, allowed as a destination by DESTINATION_ALLOWED_NETWORKS.

Build and start-up times are printed (run with -s to see them); they are not asserted.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.rtmp import RtmpServer

from .support import (
    ROOT,
    audio_peak_frequency,
    ca_bundle,
    colour_share,
    duration,
    guest_join,
    hosts_file,
    https_session,
    start_synthetic_guest,
    stop_process,
    wait_published,
)

DOCKER = "/usr/bin/docker"
TESTENV = ROOT / "scripts" / "docker-testenv.sh"
PUBLIC_IP = "192.0.2.129"  # dockerd --bip in scripts/docker-testenv.sh
DOMAIN = "studio.test"
GUEST_COLOUR = (30, 90, 220)
GUEST_TONE = 660.0

pytestmark = pytest.mark.timeout(1800)


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((PUBLIC_IP, 0))
        return int(sock.getsockname()[1])


def _timed(what: str, started: float) -> float:
    seconds = time.monotonic() - started
    print(f"\n[compose] {what}: {seconds:.1f} s", flush=True)
    return seconds


@pytest.fixture(scope="module")
def engine() -> Iterator[dict[str, str]]:
    """The Docker engine and its tools; stopped afterwards if this started it."""
    try:
        started = time.monotonic()
        subprocess.run([str(TESTENV), "tools"], check=True, timeout=1800)
        _timed("tools (compose plugin and Caddy from the Go proxy; cached)", started)
        started = time.monotonic()
        subprocess.run([str(TESTENV), "start"], check=True, timeout=1800)
        _timed("engine up and base image present (debootstrap on a cold cache)", started)
        standins = subprocess.run([str(TESTENV), "standins"], check=True, timeout=600, capture_output=True, text=True)
        env = dict(os.environ)
        for line in subprocess.run([str(TESTENV), "env"], check=True, capture_output=True, text=True).stdout.split():
            if "=" in line:
                name, value = line.split("=", 1)
                env[name] = value
        env["STANDINS"] = standins.stdout.strip()
        yield env
    finally:
        # Stops the engine only if `start` started it (scripts/docker-testenv.sh keeps a mark).
        subprocess.run([str(TESTENV), "stop"], check=False, timeout=120)


@dataclass
class Stack:
    env: dict[str, str]
    env_file: Path
    directory: Path
    timings: dict[str, float] = field(default_factory=dict)

    def compose(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [DOCKER, "compose", "-f", "docker/compose.yaml", "-f", "docker/compose.test.yaml"]
        command += ["--env-file", str(self.env_file), *args]
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
        return result

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "60", check=False).stdout


@pytest.fixture(scope="module")
def stack(engine: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("compose")
    env_file = directory / "env"
    generated = subprocess.run(
        [str(ROOT / "docker" / "gen-env.sh"), DOMAIN, PUBLIC_IP, PUBLIC_IP, "internal"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ports = {
        "HTTP_PORT": _free_port(),
        "RTC_TCP_PORT": _free_port(),
        "RTC_UDP_PORT": _free_port(socket.SOCK_DGRAM),
        "TURN_UDP_PORT": _free_port(socket.SOCK_DGRAM),
        "TURN_TLS_PORT": _free_port(),
    }
    extra = {
        "ENV_FILE": str(env_file),
        "HTTP_BIND": PUBLIC_IP,
        **{name: str(port) for name, port in ports.items()},
        # The stack's own network, from the documentation ranges like the engine's pool.
        "NETWORK_SUBNET": "198.51.100.224/27",
        # The ingest this test runs beside the stack, on the engine's bridge address.
        "DESTINATION_ALLOWED_NETWORKS": f"{PUBLIC_IP}/32",
        "BROADCAST_X264_PRESET": "ultrafast",
        # Stand-ins for the official images (docker/compose.test.yaml) and the Dockerfile's bases.
        "BASE_IMAGE": engine["BASE_IMAGE"],
        "PYTHON_IMAGE": "streamus-test/python:3.11",
        "NODE_IMAGE": "streamus-test/node:20",
    }
    env_file.write_text(generated + "".join(f"{k}={v}\n" for k, v in extra.items()))
    stack = Stack(env=engine, env_file=env_file, directory=directory)
    # The same project name as a real deployment would be an accident waiting: a test project.
    stack.env["COMPOSE_PROJECT_NAME"] = "streamus-test"
    with contextlib.suppress(AssertionError):
        stack.compose("down", "-v", "--remove-orphans", timeout=300)  # a run killed halfway
    try:
        started = time.monotonic()
        stack.compose("--profile", "bases", "build", "python-base", "node-base", timeout=1800)
        stack.compose("build", timeout=1800)
        stack.timings["build"] = _timed("images built (stand-ins, bases, the app image once)", started)
        started = time.monotonic()
        stack.compose("up", "--no-build", "--wait", "--wait-timeout", "300", timeout=600)
        stack.timings["up"] = _timed("up --wait: every service healthy", started)
        yield stack
    except BaseException:
        print(stack.logs())
        raise
    finally:
        stack.compose("down", "-v", "--remove-orphans", timeout=300, check=False)
        # Untagged images are also the classic builder's cache of intermediate stages: keep this
        # week's, so the cached data root stays bounded and a warm run rebuilds nothing.
        subprocess.run(
            [DOCKER, "image", "prune", "-f", "--filter", "until=168h"], env=engine, capture_output=True, timeout=120
        )


def test_a_show_goes_out_through_the_stack(stack: Stack, tmp_path: Path) -> None:
    # 1. The front answers https with a certificate from its CA, and web is ready behind it.
    ca = tmp_path / "caddy-root.crt"
    stack.compose("cp", "front:/data/caddy/pki/authorities/local/root.crt", str(ca))
    site = f"https://{DOMAIN}"
    host = https_session(PUBLIC_IP, ca)
    started = time.monotonic()
    ready = host.get(f"{site}/readyz", timeout=20)
    assert ready.status_code == 200 and ready.json()["status"] == "ok", ready.text
    assert ready.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "--resolve",
            f"{DOMAIN}:{stack_port(stack, 'HTTP_PORT')}:{PUBLIC_IP}",
            f"http://{DOMAIN}:{stack_port(stack, 'HTTP_PORT')}/",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    assert plain.startswith("308 https://"), plain

    # 2. A creator account (createsuperuser, as the README says), then the API through the front.
    password = "compose-test-" + os.urandom(8).hex()
    stack.compose(
        "exec", "-T", "-e", f"DJANGO_SUPERUSER_PASSWORD={password}", "web",
        "python", "manage.py", "createsuperuser", "--noinput", "--email", "host@studio.test", "--username", "host",
    )  # fmt: skip
    login = host.post(
        f"{site}/api/v1/auth/login",
        json={"email": "host@studio.test", "password": password},
        headers={"X-Auth-Mode": "bearer"},
        timeout=20,
    )
    assert login.status_code == 200, login.text
    host.headers["Authorization"] = f"Bearer {login.json()['access']}"
    # The front refuses an oversized unauthenticated body itself (HTTP/1.1, as requests speaks).
    assert host.post(f"{site}/api/v1/auth/login", data=b"x" * 200_000, timeout=20).status_code == 413

    # 3. A stream with one destination: the ingest outside the stack.
    ingest = RtmpServer(stack.directory / "ingest", host=PUBLIC_IP)
    ingest.start()
    guest_process = None
    try:
        stream = host.post(
            f"{site}/api/v1/streams/",
            json={
                "title": "Compose show",
                "resolution": "480p",
                "fps": 30,
                "layout": "side_by_side",
                "recording_enabled": False,
            },
            timeout=20,
        )
        assert stream.status_code == 201, stream.text
        stream_id = stream.json()["id"]
        destination = host.post(
            f"{site}/api/v1/streams/{stream_id}/destinations/",
            json={"platform": "custom", "name": "Ingest", "rtmp_url": ingest.url, "stream_key": "compose-show"},
            timeout=20,
        )
        assert destination.status_code == 201, destination.text

        # 4. Live: going live opens the studio's LiveKit room; the media worker composes it and pushes.
        live = host.post(f"{site}/api/v1/streams/{stream_id}/go-live/", timeout=30)
        assert live.status_code in (200, 202), live.text
        recording = ingest.wait_for_publish("compose-show", timeout=90, min_bytes=50_000)

        # 5. A guest joins through the invite link and publishes through the stack's LiveKit, on stage.
        invite = host.post(f"{site}/api/v1/streams/{stream_id}/guests/", json={"display_name": "Blue"}, timeout=20)
        assert invite.status_code == 201, invite.text
        assert invite.json()["join_url"].startswith(f"{site}/join/")
        rtc = guest_join(https_session(PUBLIC_IP, ca), invite.json()["join_url"], "Blue")
        assert rtc["url"] == f"wss://livekit.{DOMAIN}"
        guest_process = start_synthetic_guest(
            url=rtc["url"],
            token=rtc["token"],
            colour=GUEST_COLOUR,
            tone_hz=GUEST_TONE,
            hosts=hosts_file(tmp_path / "hosts", {f"livekit.{DOMAIN}": PUBLIC_IP}),
            ca_file=ca_bundle(tmp_path / "ca.pem", ca),
            log=tmp_path / "guest.log",
        )
        wait_published(guest_process, tmp_path / "guest.log")
        stage = host.post(f"{site}/api/v1/guests/{invite.json()['id']}/stage/", timeout=20)
        assert stage.status_code == 200, stage.text
        # The scene the compositor draws: the guest alone, full frame.
        scene = host.patch(
            f"{site}/api/v1/streams/{stream_id}/scene/",
            json={"layout": "solo", "host_on_stage": False, "on_stage": [rtc["identity"]]},
            timeout=20,
        )
        assert scene.status_code == 200, scene.text
        # About ten seconds more of the program (the file grows while live; its duration is written at the end).
        staged_size = recording.stat().st_size
        deadline = time.monotonic() + 90
        while recording.stat().st_size < staged_size + 600_000 and time.monotonic() < deadline:
            time.sleep(0.5)
        end = host.post(f"{site}/api/v1/streams/{stream_id}/end/", timeout=30)
        assert end.status_code == 200, end.text
        print(f"\n[compose] login to live output: {time.monotonic() - started:.1f} s", flush=True)
    finally:
        if guest_process is not None:
            stop_process(guest_process)
        ingest.kill()

    # 6. What arrived, decoded: the guest's colour on screen and the guest's tone.
    length = duration(recording)
    assert length >= 6, f"only {length:.1f} s arrived"
    assert colour_share(recording, GUEST_COLOUR, at_seconds=length - 2) > 0.5
    assert abs(audio_peak_frequency(recording, start=length - 4) - GUEST_TONE) < 15


def test_down_leaves_nothing_running(stack: Stack) -> None:
    stack.compose("down", "-v", "--remove-orphans", timeout=300)
    containers = subprocess.run(
        [DOCKER, "ps", "-a", "-q", "--filter", "label=com.docker.compose.project=streamus-test"],
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    volumes = subprocess.run(
        [DOCKER, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project=streamus-test"],
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert containers == [] and volumes == []
    print(json.dumps({"compose_timings_s": {k: round(v, 1) for k, v in stack.timings.items()}}))


def stack_port(stack: Stack, name: str) -> str:
    for line in stack.env_file.read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise KeyError(name)
