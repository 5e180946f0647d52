"""Real RTMP(S) ingest servers for tests: nginx with libnginx-mod-rtmp on free loopback ports.

Use from any test (import the fixtures into your conftest.py or test module:
``from tests.support.rtmp import rtmp_servers  # noqa: F401``)::

    def test_push(rtmp_servers):
        servers = rtmp_servers(3)               # three independent nginx processes
        dest = servers[0]
        dest.url                                # "rtmp://127.0.0.1:PORT/live"  (key = stream name)
        dest.wait_for_publish("my-key")         # the first .flv recorded for that key
        dest.kill(); dest.start()               # a destination going away and coming back
        probe(dest.recordings("my-key")[0])     # ffprobe: codec, size, fps, duration

    def test_rtmps(rtmps_server):
        s = rtmps_server                        # the same plus TLS in front (nginx stream module)
        s.rtmps_url, s.ca_file                  # certificate for 127.0.0.1 / localhost from a test CA

Every publish is recorded whole (``record all``, ``record_unique on``), one
FLV per publish session in ``<root>/rec``, so a test sees what arrived and
how many times a pusher (re)connected. nginx runs with ``master_process
off`` (one process) so ``kill()`` is a real, immediate crash of the ingest.

Also here: ``Blackhole`` (a port whose backlog is full: connects hang) and
``SilentServer`` (accepts and never reads) for isolation tests, ``ffprobe``
helpers and ``make_ca`` for RTMPS certificates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
NGINX = "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, message: str = "") -> Any:
    """Poll `predicate` until it returns something truthy; fail with `message` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


class RtmpServer:
    """One nginx-rtmp ingest (application ``live``), optionally with TLS in front."""

    def __init__(
        self,
        root: Path,
        *,
        tls: tuple[Path, Path] | None = None,
        ca_file: Path | None = None,
        publishes: PublishLog | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.root = root
        self.publishes = publishes
        self.host = host  # another address than loopback: an ingest reached from containers or namespaces
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.ca_file = str(ca_file) if ca_file else None
        self.rec_dir = root / "rec"
        for sub in ("rec", "logs", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.conf = root / "nginx.conf"
        self.conf.write_text(self._config(tls))
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self, tls: tuple[Path, Path] | None) -> str:
        r = self.root
        stream = ""
        if tls:
            cert, key = tls
            stream = f"""
stream {{
    server {{
        listen 127.0.0.1:{self.tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        proxy_pass 127.0.0.1:{self.port};
    }}
}}"""
        modules = f"load_module {RTMP_MODULE};\n" + (f"load_module {STREAM_MODULE};\n" if tls else "")
        notify = ""
        if self.publishes is not None:
            hook = f"http://127.0.0.1:{self.publishes.port}"
            notify = f"on_publish {hook}/publish;\n            on_publish_done {hook}/publish_done;"
        return f"""{modules}
daemon off;
master_process off;
worker_processes 1;
error_log {r}/logs/error.log warn;
pid {r}/nginx.pid;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen {self.host}:{self.port};
        chunk_size 4096;
        application live {{
            live on;
            record all;
            record_path {r}/rec;
            record_unique on;
            {notify}
        }}
    }}
}}
{stream}
"""

    @property
    def url(self) -> str:
        return f"rtmp://{self.host}:{self.port}/live"

    @property
    def rtmps_url(self) -> str:
        return f"rtmps://127.0.0.1:{self.tls_port}/live"

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            # -e: the compiled-in error log (/var/log/nginx) may not be writable for a developer
            [NGINX, "-p", str(self.root), "-c", str(self.conf), "-e", str(self.root / "logs" / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        ports = [self.port] + ([self.tls_port] if self.tls_port else [])
        wait_for(
            lambda: all(port_open(p, self.host) for p in ports) or self.proc.poll() is not None,  # type: ignore[union-attr]
            timeout,
            message="nginx-rtmp did not start",
        )
        if self.proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(self.root / 'logs/error.log').read_text()[-2000:]}")

    def kill(self) -> None:
        """Crash the ingest (SIGKILL): connections drop without goodbye."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        wait_for(lambda: not port_open(self.port, self.host), 5, message="port still open after kill")

    stop = kill

    def recordings(self, key: str | None = None) -> list[Path]:
        """FLV files recorded so far, oldest first (one per publish session)."""
        pattern = f"{key}-*.flv" if key else "*.flv"
        return sorted(self.rec_dir.glob(pattern), key=lambda p: (p.stat().st_mtime_ns, p.name))

    def wait_for_publish(self, key: str, count: int = 1, timeout: float = 15.0, min_bytes: int = 20000) -> Path:
        """Wait until the `count`-th publish session for `key` has received `min_bytes`; return its file."""

        def ready() -> Path | None:
            files = self.recordings(key)
            if len(files) >= count and files[count - 1].stat().st_size >= min_bytes:
                return files[count - 1]
            return None

        return wait_for(ready, timeout, message=f"no publish #{count} on {self.url}")


class PublishLog:
    """nginx-rtmp's on_publish / on_publish_done hooks, answered here: who published when, and for how long.

    ``deny`` holds stream names (keys) whose publish is refused (HTTP 403: nginx-rtmp then refuses the
    publish, as a platform refuses a wrong key). ``max_concurrent(key)`` is the most publishers a key had
    at once; ``sessions(key)`` the (start, end) of each publish, on this process's monotonic clock.
    """

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        log = self
        self.events: list[tuple[float, str, str]] = []  # (monotonic time, "publish" | "publish_done" | "denied", key)
        self.deny: set[str] = set()
        self.cond = threading.Condition()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                key = parse_qs(body).get("name", [""])[0]
                call = self.path.strip("/")
                denied = call == "publish" and key in log.deny
                with log.cond:
                    log.events.append((time.monotonic(), "denied" if denied else call, key))
                    log.cond.notify_all()
                self.send_response(403 if denied else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name="rtmp-publish-log", daemon=True).start()

    def count(self, call: str, key: str) -> int:
        with self.cond:
            return sum(1 for _t, c, k in self.events if c == call and k == key)

    def wait(self, call: str, key: str, count: int = 1, timeout: float = 15.0) -> float:
        """Wait for the `count`-th `call` for `key`; returns its time (monotonic)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                times = [t for t, c, k in self.events if c == call and k == key]
                if len(times) >= count:
                    return times[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {call} #{count} for {key!r} within {timeout} s: {self.events}")
                self.cond.wait(left)

    def sessions(self, key: str) -> list[tuple[float, float | None]]:
        out: list[tuple[float, float | None]] = []
        with self.cond:
            for t, call, k in self.events:
                if k != key:
                    continue
                if call == "publish":
                    out.append((t, None))
                elif call == "publish_done":
                    open_ = [i for i, (_s, e) in enumerate(out) if e is None]
                    if open_:
                        out[open_[0]] = (out[open_[0]][0], t)
        return out

    def max_concurrent(self, key: str) -> int:
        live = peak = 0
        with self.cond:
            for _t, call, k in self.events:
                if k == key and call == "publish":
                    live += 1
                    peak = max(peak, live)
                elif k == key and call == "publish_done":
                    live = max(0, live - 1)
        return peak

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rtmp_servers(tmp_path: Path) -> Iterator[Callable[..., list[RtmpServer]]]:
    """Factory: `rtmp_servers(n)` starts n independent ingests; all are stopped at teardown.
    `rtmp_servers(n, publishes=True)`: each with a PublishLog (``server.publishes``)."""
    started: list[RtmpServer] = []
    logs: list[PublishLog] = []

    def make(n: int, *, publishes: bool = False) -> list[RtmpServer]:
        servers = []
        for _ in range(n):
            log = PublishLog() if publishes else None
            if log is not None:
                logs.append(log)
            server = RtmpServer(tmp_path / f"nginx-{len(started)}", publishes=log)
            server.start()
            started.append(server)
            servers.append(server)
        return servers

    yield make
    for server in started:
        with contextlib.suppress(Exception):
            server.kill()
    for log in logs:
        log.close()


# --- TLS ------------------------------------------------------------------------


def make_ca(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for `host` (IP and localhost SANs). Returns (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "StreamUs Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


@pytest.fixture
def rtmps_server(tmp_path: Path) -> Iterator[RtmpServer]:
    ca, cert, key = make_ca(tmp_path / "tls")
    server = RtmpServer(tmp_path / "nginx-tls", tls=(cert, key), ca_file=ca)
    server.start()
    yield server
    with contextlib.suppress(Exception):
        server.kill()


# --- misbehaving destinations ------------------------------------------------------


class Blackhole:
    """A listening port that never accepts: its backlog is already full, so connects hang (SYNs dropped)."""

    host = "127.0.0.1"  # loopback, like its listener

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        # Fill the accept queue so later handshakes are not completed by the kernel.
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", self.port))
            self.fillers.append(s)

    @property
    def url(self) -> str:
        return f"rtmp://{self.host}:{self.port}/live"

    def close(self) -> None:
        for s in [*self.fillers, self.listener]:
            s.close()


class SilentServer:
    """Accepts connections and never reads a byte: a destination that stalls."""

    host = "127.0.0.1"  # loopback, like its listener

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    @property
    def url(self) -> str:
        return f"rtmp://{self.host}:{self.port}/live"

    def close(self) -> None:
        self._closed = True
        for s in [*self.accepted, self.listener]:
            s.close()


class StallingProxy:
    """Forwards TCP to a real ingest until ``freeze()``; from then on it stops reading from the client.

    That is a destination that accepted, published for a while, and then stopped reading mid-show
    (a wedged ingest, a dead NAT path that still ACKs nothing).
    """

    host = "127.0.0.1"  # loopback, like its listener

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window so a stall shows up in seconds, not after megabytes of kernel buffering.
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self._socks: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"rtmp://{self.host}:{self.port}/live"

    def freeze(self) -> None:
        self.frozen.set()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while True:
                if from_client and self.frozen.is_set():
                    self.frozen.wait()
                    time.sleep(0.1)
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._closed = True
        self.frozen.clear()
        for s in [*self._socks, self.listener]:
            with contextlib.suppress(OSError):
                s.close()


# --- checking media -------------------------------------------------------------------


def ffprobe(path: Path | str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            *args,
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def video_stream(info: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == "video")


def audio_stream(info: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == "audio")


def packet_times(path: Path | str, stream: str = "v:0") -> list[float]:
    """Presentation times (s) of every packet of one stream, read from the container."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-select_streams",
            stream,
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=60,
        text=True,
    )
    return [float(line.split(",")[0]) for line in out.stdout.split() if line and line.split(",")[0] != "N/A"]


def keyframe_times(path: Path | str) -> list[float]:
    """Times (s) of the video keyframes, from the container's packet flags."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=60,
        text=True,
    )
    rows = [line.split(",") for line in out.stdout.split()]
    return [float(r[0]) for r in rows if len(r) >= 2 and r[0] != "N/A" and "K" in r[1]]


def flv_tags(path: Path | str) -> list[tuple[int, int, bool]]:
    """(tag type, timestamp ms, keyframe) of every complete FLV tag, read straight from the file (which may
    still be growing: a cut tag at its end is left out). 8 = audio, 9 = video."""
    data = Path(path).read_bytes()
    tags = []
    pos = 13  # FLV header (9) + PreviousTagSize0 (4)
    while pos + 11 <= len(data):
        kind = data[pos]
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        ts = int.from_bytes(data[pos + 4 : pos + 7], "big") | (data[pos + 7] << 24)
        end = pos + 11 + size + 4
        if end > len(data):
            break
        body = data[pos + 11 : pos + 11 + size]
        if kind in (8, 9) and size:
            header = (kind == 9 and len(body) > 1 and body[1] == 0) or (kind == 8 and len(body) > 1 and body[1] == 0)
            if not header:
                tags.append((kind, ts, kind == 9 and body[0] >> 4 == 1))
        pos = end
    return tags


def decode_all(path: Path | str) -> int:
    """Decode every frame end to end (raises on corrupt data); returns the number of video frames."""
    import av

    frames = 0
    with av.open(str(path)) as container:
        for _ in container.decode(video=0):
            frames += 1
    return frames


def rgb_samples(path: Path | str, width: int, height: int, fps: int = 4) -> list[bytes]:
    """The recording decoded `fps` times a second, each picture scaled to width x height RGB (3 bytes a pixel)."""
    picture = f"fps={fps},scale={width}:{height}"
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-vf", picture, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(
        command,
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    size = width * height * 3
    return [raw[i : i + size] for i in range(0, len(raw) - size + 1, size)]


_judged: dict[tuple[Path, str], list] = {}


def judged_frames(
    path: Path, judge: Callable[[Any], object], key: str, *, complete: bool = False
) -> list[tuple[float, object]]:
    """(seconds, judge(frame)) for every video frame (a PyAV frame) of a recording the ingest is still writing.
    Frames judged before (under `key`) are not judged again: participants that run in the test process would
    be starved of it by a test that keeps it busy. The last two of a growing file are judged again once
    complete. `complete`: the file is finished; every frame is judged afresh and nothing is remembered."""
    import av

    known = [] if complete else _judged.setdefault((path, key), [])
    out: list[tuple[float, object]] = []
    try:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(container.streams.video[0])):
                out.append(known[index] if index < len(known) else (float(frame.time or 0.0), judge(frame)))
    except (av.FFmpegError, IndexError, EOFError):
        pass  # the growing end of the file
    if not complete:
        _judged[(path, key)] = out[:-2]
    return out
