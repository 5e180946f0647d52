"""Helpers for the deployment tests: HTTPS to a name this machine's DNS does not know, a synthetic
guest in its own process, and what came out at the ingest, decoded.

Names like studio.test exist only in the tests. Python clients connect to the address the test
chose and still send the name (SNI, Host) and check the certificate against it; other programs
(the LiveKit SDK in the guest process, Chromium) see the name in a hosts file bind-mounted over
/etc/hosts in a mount namespace of their own (`unshare --mount`), so the host's file is untouched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parents[2]


class _PinnedAddress(HTTPAdapter):
    """Connect to `address` whatever the URL's host resolves to; TLS still checks the URL's name."""

    def __init__(self, address: str, **kwargs: Any) -> None:
        self.address = address
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        from urllib.parse import urlsplit

        host = urlsplit(request.url).hostname or ""
        connection_pool_kw = self.poolmanager.connection_pool_kw
        connection_pool_kw["server_hostname"] = host
        connection_pool_kw["assert_hostname"] = host
        request.headers["Host"] = urlsplit(request.url).netloc
        request.url = request.url.replace(f"//{host}", f"//{self.address}", 1)  # type: ignore[union-attr]
        return super().send(request, **kwargs)


def https_session(address: str, ca_file: Path) -> requests.Session:
    """A requests session that reaches every https://name at `address`, trusting `ca_file`."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace `verify`
    session.mount("https://", _PinnedAddress(address))
    session.verify = str(ca_file)
    return session


def guest_join(session: requests.Session, join_url: str, display_name: str) -> dict[str, str]:
    """What a guest's browser does: open the invite, give a name, ask for the LiveKit token."""
    token = join_url.rstrip("/").rsplit("/", 1)[1]
    page = session.get(join_url, timeout=20)
    assert page.status_code == 200, page.text[:500]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf, "no CSRF token on the join page"
    origin = join_url.split("/join/", 1)[0]
    joined = session.post(
        join_url,
        data={"csrfmiddlewaretoken": csrf.group(1), "display_name": display_name},
        headers={"Referer": join_url, "Origin": origin},
        allow_redirects=False,
        timeout=20,
    )
    assert joined.status_code == 302, joined.text[:500]
    cookie = session.cookies.get("csrftoken")
    rtc = session.post(
        f"{origin}/join/rtc/",
        data=json.dumps({"token": token}),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": cookie or "",
            "Referer": join_url,
            "Origin": origin,
        },
        timeout=20,
    )
    assert rtc.status_code == 200, rtc.text[:500]
    return dict(rtc.json())


def hosts_file(path: Path, names: dict[str, str]) -> Path:
    path.write_text("127.0.0.1 localhost\n" + "".join(f"{address} {name}\n" for name, address in names.items()))
    return path


def ca_bundle(path: Path, extra_ca: Path) -> Path:
    """The system's trusted CAs plus the test CA (what SSL_CERT_FILE should name)."""
    path.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + extra_ca.read_text())
    return path


def start_synthetic_guest(
    *, url: str, token: str, colour: tuple[int, int, int], tone_hz: float, hosts: Path, ca_file: Path, log: Path
) -> subprocess.Popen[bytes]:
    """A guest publishing a solid colour and a tone, in its own process with its own /etc/hosts.

    The token goes by environment, never on the command line. The process prints "published"
    once its tracks are up and keeps publishing until it is terminated.
    """
    env = {
        **os.environ,
        "GUEST_URL": url,
        "GUEST_TOKEN": token,
        "GUEST_COLOUR": ",".join(map(str, colour)),
        "GUEST_TONE_HZ": str(tone_hz),
        "SSL_CERT_FILE": str(ca_file),
        "PYTHONPATH": str(ROOT),
    }
    script = f"mount --bind {hosts} /etc/hosts && exec {sys.executable} -m tests.deploy.synthetic_guest"
    return subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        start_new_session=True,
    )


def wait_published(process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    import selectors
    import time

    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=1.0):
            line = process.stdout.readline()
            if line.strip() == b"published":
                return
            if not line:
                break
    raise AssertionError(f"the synthetic guest did not publish:\n{log.read_text(errors='replace')[-3000:]}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def colour_share(path: Path, colour: tuple[int, int, int], *, at_seconds: float, tolerance: int = 40) -> float:
    """The fraction of a decoded frame (at `at_seconds`) within `tolerance` of `colour`, per channel."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-ss",
            str(at_seconds),
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-vf",
            "scale=64:36",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert len(raw) == 64 * 36 * 3, f"no frame decoded at {at_seconds}s"
    pixels = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    near = sum(1 for p in pixels if all(abs(p[c] - colour[c]) <= tolerance for c in range(3)))
    return near / len(pixels)


def audio_peak_frequency(path: Path, *, start: float, seconds: float = 2.0) -> float:
    """The strongest frequency of the decoded audio between start and start + seconds."""
    import numpy as np

    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-ss",
            str(start),
            "-t",
            str(seconds),
            "-i",
            str(path),
            "-vn",
            "-ac",
            "1",
            "-ar",
            "48000",
            "-f",
            "s16le",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    samples = np.frombuffer(raw, dtype=np.int16).astype(np.float64)
    assert samples.size > 48000, "no audio decoded"
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / 48000)[int(np.argmax(spectrum[10:])) + 10])


def duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout
    return float(json.loads(out)["format"]["duration"])
