"""A show across networks: a guest behind NAT whose UDP is blocked joins through TURN over TLS.

The little internet (tests/deploy/netns.py), documentation addresses only:

    creator 198.51.100.66 ─┐                        ┌─ srv 203.0.113.10 (site)  203.0.113.11 (TURN)
    platform 198.51.100.130 ─ inet (router) ────────┘
    guest 192.0.2.10 ─ nat 192.0.2.1 | 198.51.100.2 ─┘   (masquerade; only TCP to port 443 leaves)

srv runs the production processes directly in its namespace (not compose, which
test_compose.py covers): PostgreSQL, Redis, migrate, Daphne (web), the Celery worker and media
worker, livekit-server with the LiveKit configuration from docker/compose.yaml (TURN over UDP and
TLS, the front's certificate), and Caddy with docker/Caddyfile and its internal CA. Settings are
production's (docker/gen-env.sh's secrets, STREAMUS_ENV=production), with local file storage
instead of MinIO and no beat. As in compose, TURN_IP:443 is forwarded to LiveKit's TURN/TLS
port (there by Docker, here by a REDIRECT rule), and service names (web, livekit, postgres,
redis) resolve through srv's hosts file.

The creator's and the guest's Chromium run in their hosts' namespaces with fake cameras (red,
blue), trust the test CA through an NSS database, and resolve studio.test through a hosts file.
The guest opens the invite link, passes the green room, goes backstage; the creator brings them
on stage side by side and goes live to an nginx-rtmp on the platform host; the recording there is
decoded (red left, blue right); the guest's selected ICE candidate pair is read from its
RTCPeerConnection stats: a relay candidate over TLS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.browser import BASE_ARGS, CHROMIUM, make_y4m, wait_js
from tests.support.rtmp import NGINX, RTMP_MODULE, wait_for

from .netns import Internet
from .support import ROOT, colour_share, duration, hosts_file

pytestmark = [pytest.mark.timeout(900), pytest.mark.browser]

DOMAIN = "studio.test"
SITE_IP, TURN_IP = "203.0.113.10", "203.0.113.11"
PLATFORM_IP = "198.51.100.130"
NAMES = {DOMAIN: SITE_IP, f"livekit.{DOMAIN}": SITE_IP, f"turn.{DOMAIN}": TURN_IP}
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "streamus"
PGBIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
DESKTOP = {"width": 1280, "height": 720}


def _env_file(path: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")
    )


def _interpolate(text: str, values: dict[str, str]) -> str:
    """compose's ${NAME} and ${NAME:-default}, for the LiveKit configuration taken from compose.yaml."""
    import re

    def one(match: re.Match[str]) -> str:
        name, _, default = match.group(1).partition(":-")
        return values.get(name, default)

    return re.sub(r"\$\{([^}]+)\}", one, text)


@pytest.fixture(scope="module")
def internet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Internet, Path]]:
    directory = tmp_path_factory.mktemp("internet")
    os.chmod(directory, 0o755)  # PostgreSQL runs as postgres
    net = Internet(f"su{os.getpid() % 100000}")
    try:
        for name in ("inet", "nat"):
            net.host(name, forwarding=True)
        for name in ("srv", "guest", "creator", "platform"):
            net.host(name)
        net.link("inet", "203.0.113.1/24", "srv", f"{SITE_IP}/24,{TURN_IP}/24")
        _, nat_wan = net.link("inet", "198.51.100.1/26", "nat", "198.51.100.2/26")
        net.link("inet", "198.51.100.65/26", "creator", "198.51.100.66/26")
        net.link("inet", "198.51.100.129/26", "platform", f"{PLATFORM_IP}/26")
        nat_lan, _ = net.link("nat", "192.0.2.1/24", "guest", "192.0.2.10/24")
        net.route("srv", "default", "203.0.113.1")
        net.route("nat", "default", "198.51.100.1")
        net.route("creator", "default", "198.51.100.65")
        net.route("platform", "default", "198.51.100.129")
        net.route("guest", "default", "192.0.2.1")
        # The guest's router: NAT, and a firewall that lets out only TCP to port 443 (no UDP at all).
        for rule in (
            ["-t", "nat", "-A", "POSTROUTING", "-o", nat_wan, "-j", "MASQUERADE"],
            ["-P", "FORWARD", "DROP"],
            ["-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
            ["-A", "FORWARD", "-i", nat_lan, "-p", "tcp", "--dport", "443", "-j", "ACCEPT"],
        ):
            net.exec("nat", ["iptables", *rule])
        # TURN_IP:443 is LiveKit's TURN/TLS (compose publishes TURN_IP:443 -> 5349 the same way).
        net.exec("srv", ["iptables", "-t", "nat", "-A", "PREROUTING", "-d", TURN_IP, "-p", "tcp", "--dport", "443", "-j", "REDIRECT", "--to-ports", "5349"])  # fmt: skip
        yield net, directory
    finally:
        net.close()
        remaining = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert net.prefix not in remaining, "namespaces left behind"


class Server:
    """The production processes on srv."""

    def __init__(self, net: Internet, directory: Path) -> None:
        self.net, self.dir = net, directory
        self.hosts = hosts_file(
            directory / "srv-hosts", {"web": "127.0.0.1", "livekit": "127.0.0.1", "postgres": "127.0.0.1"}
        )
        # redis resolves too (LiveKit's config names it); one line per name.
        self.hosts.write_text(
            self.hosts.read_text() + "127.0.0.1 redis\n" + "".join(f"{a} {n}\n" for n, a in NAMES.items())
        )
        env_file = directory / "env"
        env_file.write_text(
            subprocess.run(
                [str(ROOT / "docker" / "gen-env.sh"), DOMAIN, SITE_IP, TURN_IP, "internal"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        self.settings = _env_file(env_file)
        secrets = {
            k: self.settings[k]
            for k in ("SECRET_KEY", "STREAM_KEY_ENCRYPTION_KEYS", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
        }
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(directory),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            **secrets,
            # What compose.yaml's x-app sets, with this host's names.
            "STREAMUS_ENV": "production",
            "DATABASE_URL": f"postgres://streamus:{self.settings['POSTGRES_PASSWORD']}@postgres:5432/streamus",
            "REDIS_URL": "redis://redis:6379/0",
            "LIVEKIT_URL": "ws://livekit:7880",
            "LIVEKIT_PUBLIC_URL": f"wss://livekit.{DOMAIN}",
            "SITE_URL": f"https://{DOMAIN}",
            "ALLOWED_HOSTS": f"{DOMAIN},web",
            "CSRF_TRUSTED_ORIGINS": f"https://{DOMAIN}",
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "STORAGE": "local",
            "MEDIA_ROOT": str(directory / "media"),
            "STATIC_ROOT": str(directory / "static"),
            "BROADCAST_SPOOL_DIR": str(directory / "spool"),
            "BROADCAST_X264_PRESET": "ultrafast",
            "DESTINATION_ALLOWED_NETWORKS": "198.51.100.128/26",
            "LOG_LEVEL": "WARNING",
        }

    def log(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return self.net.popen("srv", command, hosts=self.hosts, log=self.log(name), env=env or self.env, cwd=ROOT)

    def manage(self, *args: str, extra: dict[str, str] | None = None) -> None:
        command = self.net.command(
            "srv", [str(ROOT / ".venv" / "bin" / "python"), "manage.py", *args], hosts=self.hosts
        )
        result = subprocess.run(
            command, cwd=ROOT, env={**self.env, **(extra or {})}, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]

    def up(self) -> None:
        venv = ROOT / ".venv" / "bin"
        # PostgreSQL and Redis, on srv's loopback. The postgres user cannot enter pytest's root-only
        # temporary directory: its data lives in a directory of its own (removed by close()).
        self.pg_dir = Path(tempfile.mkdtemp(prefix="streamus-across-nat-pg-"))
        shutil.chown(self.pg_dir, "postgres", "postgres")
        pgdata = self.pg_dir / "data"
        pgdata.mkdir()
        shutil.chown(pgdata, "postgres", "postgres")
        password = self.pg_dir / "pgpass"
        password.write_text(self.settings["POSTGRES_PASSWORD"])
        shutil.chown(password, "postgres")
        self.net.exec("srv", ["runuser", "-u", "postgres", "--", str(PGBIN / "initdb"), "-D", str(pgdata), "-U", "streamus",
                              f"--pwfile={password}", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"])  # fmt: skip
        self.start("postgres", ["runuser", "-u", "postgres", "--", str(PGBIN / "postgres"), "-D", str(pgdata),
                                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={pgdata}", "-c", "fsync=off"])  # fmt: skip
        self.start(
            "redis", ["redis-server", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"]
        )
        wait_for(lambda: self._runs(["pg_isready", "-h", "127.0.0.1", "-p", "5432"]), 30, 0.3, "postgres")
        self.net.exec("srv", ["runuser", "-u", "postgres", "--", str(PGBIN / "psql"), "-h", str(pgdata), "-U", "streamus",
                              "-d", "postgres", "-c", "CREATE DATABASE streamus"])  # fmt: skip
        # As compose's migrate (and the image's collectstatic), then the processes.
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        self.start("web", [str(venv / "daphne"), "-b", "127.0.0.1", "-p", "8000", "streamus.asgi:application"])
        self.start(
            "worker",
            [str(venv / "celery"), "-A", "streamus", "worker", "-Q", "default", "-c", "1", "-n", "default@srv"],
        )
        self.start("media", [str(venv / "celery"), "-A", "streamus", "worker", "-Q", "media", "-c", "1", "-n", "media@srv",
                             "--prefetch-multiplier", "1"])  # fmt: skip
        # The front: docker/Caddyfile, its internal CA.
        caddy_env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.dir),
            "XDG_DATA_HOME": str(self.dir / "caddy-data"),
            "XDG_CONFIG_HOME": str(self.dir / "caddy-config"),
            "DOMAIN": DOMAIN,
            "LIVEKIT_DOMAIN": f"livekit.{DOMAIN}",
            "TURN_DOMAIN": f"turn.{DOMAIN}",
            "CADDY_TLS": "internal",
        }
        caddy = sorted(CACHE.glob("caddy-v*"))[-1]
        self.start(
            "front",
            [str(caddy), "run", "--config", str(ROOT / "docker" / "Caddyfile"), "--adapter", "caddyfile"],
            caddy_env,
        )
        certs = self.dir / "caddy-data" / "caddy" / "certificates" / "local" / f"turn.{DOMAIN}"
        wait_for(
            lambda: (certs / f"turn.{DOMAIN}.key").exists(), 60, 0.3, f"the front's certificates ({self.log('front')})"
        )
        # LiveKit, with compose.yaml's configuration.
        compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
        config = _interpolate(
            compose["configs"]["livekit"]["content"], {**self.settings, "TURN_DOMAIN": f"turn.{DOMAIN}"}
        )
        (self.dir / "livekit.yaml").write_text(config)
        livekit_env = {
            "PATH": os.environ["PATH"],
            "LIVEKIT_KEYS": f"{self.settings['LIVEKIT_API_KEY']}: {self.settings['LIVEKIT_API_SECRET']}",
            "NODE_IP": SITE_IP,
            "LIVEKIT_TURN_CERT": str(certs / f"turn.{DOMAIN}.crt"),
            "LIVEKIT_TURN_KEY": str(certs / f"turn.{DOMAIN}.key"),
        }
        self.start(
            "livekit",
            [str(ROOT / ".cache" / "bin" / "livekit-server"), "--config", str(self.dir / "livekit.yaml")],
            livekit_env,
        )
        wait_for(lambda: self._runs(["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:7880/"]), 30, 0.3, "livekit")
        wait_for(
            lambda: self._runs(["curl", "-fsS", "-o", "/dev/null", "-H", "Host: web", "http://127.0.0.1:8000/readyz"]),
            60,
            0.3,
            "web",
        )

    def close(self) -> None:
        if getattr(self, "pg_dir", None):
            shutil.rmtree(self.pg_dir, ignore_errors=True)

    def _runs(self, command: list[str]) -> bool:
        return subprocess.run(self.net.command("srv", command), capture_output=True, timeout=30).returncode == 0

    @property
    def ca(self) -> Path:
        return self.dir / "caddy-data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"


def chromium_in(net: Internet, host: str, directory: Path, ca: Path, hosts: Path) -> Path:
    """An executable that starts Chromium on `host`, seeing `hosts` and trusting `ca` (NSS database)."""
    home = directory / f"home-{host}"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "streamus-test", "-t", "C,,", "-i", str(ca)],
        check=True,
        capture_output=True,
    )
    wrapper = directory / f"chromium-{host}"
    inner = f'mount --bind {hosts} /etc/hosts && HOME={home} exec {CHROMIUM} "$@"'
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec ip netns exec {net.ns(host)} unshare --mount --propagation private sh -c '{inner}' chromium \"$@\"\n"
    )
    wrapper.chmod(0o755)
    return wrapper


# Records every RTCPeerConnection the page makes, to read its stats (instrumentation, not the product).
RECORD_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peerConnections = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__peerConnections.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
})();
"""

SELECTED_PAIRS = """async () => {
  const pairs = [];
  for (const pc of window.__peerConnections || []) {
    const stats = await pc.getStats();
    const byId = new Map();
    stats.forEach((s) => byId.set(s.id, s));
    stats.forEach((s) => {
      if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
      const pair = byId.get(s.selectedCandidatePairId);
      if (!pair) return;
      const local = byId.get(pair.localCandidateId) || {};
      const remote = byId.get(pair.remoteCandidateId) || {};
      pairs.push({state: pair.state, bytesSent: pair.bytesSent, local: {type: local.candidateType,
        protocol: local.protocol, relayProtocol: local.relayProtocol, address: local.address, url: local.url},
        remote: {type: remote.candidateType, address: remote.address, port: remote.port, protocol: remote.protocol}});
    });
  }
  return pairs;
}"""


def frames_left_right(path: Path) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-vf",
            "fps=2,scale=32:18",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    size = 32 * 18 * 3
    out = []
    for i in range(0, len(raw) - size + 1, size):
        frame = raw[i : i + size]

        def px(x: int, y: int, frame: bytes = frame) -> tuple[int, int, int]:
            o = (y * 32 + x) * 3
            return frame[o], frame[o + 1], frame[o + 2]

        out.append((px(8, 9), px(24, 9)))
    return out


def test_guest_behind_nat_without_udp_goes_live_through_turn_tls(internet, playwright_instance, request):
    net, directory = internet
    server = Server(net, directory)
    request.addfinalizer(server.close)
    server.up()

    # The platform's ingest.
    ingest_root = directory / "ingest"
    for sub in ("rec", "logs"):
        (ingest_root / sub).mkdir(parents=True)
    (ingest_root / "nginx.conf").write_text(f"""load_module {RTMP_MODULE};
daemon off; master_process off; worker_processes 1;
error_log {ingest_root}/logs/error.log warn; pid {ingest_root}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{ server {{ listen {PLATFORM_IP}:1935; application live {{ live on; record all; record_path {ingest_root}/rec; record_unique on; }} }} }}
""")
    net.popen(
        "platform",
        [
            NGINX,
            "-p",
            str(ingest_root),
            "-c",
            str(ingest_root / "nginx.conf"),
            "-e",
            str(ingest_root / "logs" / "error.log"),
        ],
    )

    # The creator's account, created on the server as the README says.
    password = "across-nat-" + os.urandom(6).hex()
    server.manage("createsuperuser", "--noinput", "--email", "host@studio.test", "--username", "host",
                  extra={"DJANGO_SUPERUSER_PASSWORD": password})  # fmt: skip

    browsers = []
    try:
        client_hosts = hosts_file(directory / "client-hosts", NAMES)
        launched = {}
        for who, colour in (("creator", "red"), ("guest", "blue")):
            y4m = make_y4m(directory / f"{colour}.y4m", colour)
            browser = playwright_instance.chromium.launch(  # type: ignore[attr-defined]
                executable_path=str(chromium_in(net, who, directory, server.ca, client_hosts)),
                headless=True,
                args=[*BASE_ARGS, "--disable-quic", f"--use-file-for-fake-video-capture={y4m}"],
            )
            browsers.append(browser)
            launched[who] = browser
        site = f"https://{DOMAIN}"

        # --- the creator logs in, makes a stream with the platform as destination, opens the studio --
        host = launched["creator"].new_context(viewport=DESKTOP).new_page()
        host.goto(f"{site}/accounts/login/")
        host.fill("#id_username", "host@studio.test")
        host.fill("#id_password", password)
        host.click("form button[type=submit]")
        host.wait_for_url(f"{site}/")
        host.goto(f"{site}/streams/new/")
        host.fill("#id_title", "Across the internet")
        host.click("details.advanced summary")
        host.select_option("#id_resolution", "480p")
        host.select_option("#id_fps", "30")
        host.fill("#id_video_bitrate_kbps", "600")
        host.fill("#id_audio_bitrate_kbps", "64")
        host.click("#main form button[type=submit]")
        host.wait_for_url("**/streams/*/")
        host.select_option("#id_platform", "custom")
        host.fill("#id_name", "Platform")
        host.fill("#id_rtmp_url", f"rtmp://{PLATFORM_IP}/live")
        host.fill("#id_stream_key", "across")
        host.click("#destination-create button[type=submit]")
        host.wait_for_selector("text=Platform")
        host.click("#open-studio")
        host.wait_for_url(f"{site}/studio/*/")
        wait_js(
            host,
            "() => document.getElementById('conn-state').dataset.state === 'open'",
            timeout=30,
            what="studio socket",
        )
        host.click("#create-invite")
        invite = host.input_value("#invite-url")
        assert invite.startswith(f"{site}/join/"), invite

        # --- the guest, behind NAT with UDP blocked: invite link, green room, backstage ------------
        guest_context = launched["guest"].new_context(viewport=DESKTOP)
        guest_context.add_init_script(RECORD_PEER_CONNECTIONS)
        guest = guest_context.new_page()
        guest.goto(invite)
        guest.fill("#display-name", "Blue guest")
        guest.click("button[type=submit]")
        guest.wait_for_selector("#green-room")
        wait_js(guest, "() => document.getElementById('self-view').videoWidth > 0", timeout=30, what="camera preview")
        wait_js(guest, "() => !document.getElementById('join-backstage').disabled", timeout=30, what="join button")
        guest.click("#join-backstage")

        # --- on stage, side by side, live ----------------------------------------------------------
        # The guest's row (the host is listed backstage too until they join the stage).
        row = host.wait_for_selector(
            "#backstage [data-participant]:not([data-role='host'])[data-online='true']", timeout=60_000
        )
        identity = row.get_attribute("data-participant")
        host.click(f"#backstage [data-participant='{identity}'] [data-action='stage']")
        host.click("[data-layout='side_by_side']")
        wait_js(
            host,
            """() => {
                const el = document.getElementById('program');
                const d = el.getContext('2d').getImageData(Math.floor(el.width * 0.75), Math.floor(el.height * 0.5), 1, 1).data;
                return d[2] > 170 && d[0] < 90 && d[1] < 90;
            }""",
            timeout=60,
            what="the guest (blue) on the right of the creator's preview",
        )
        pairs = wait_js(
            guest,
            f"async () => (await ({SELECTED_PAIRS})()).filter((p) => p.state === 'succeeded' && p.bytesSent > 0)",
            timeout=30,
            what="the guest's selected ICE candidate pair",
        )
        host.click("#go-live")
        host.click("#confirm-ok")
        host.wait_for_selector("#stream-status.badge-live", timeout=30_000)
        recordings = ingest_root / "rec"
        wait_for(lambda: [p for p in recordings.glob("across*.flv") if p.stat().st_size > 300_000], 120, 0.5,
                 f"the show at the platform (media log: {server.log('media')})")  # fmt: skip
        recording = next(recordings.glob("across*.flv"))
        host.click("#end-show")
        host.click("#confirm-ok")
        host.wait_for_selector("#stream-status.badge-ended", timeout=30_000)
    finally:
        for browser in browsers:
            browser.close()

    # The guest reached LiveKit only through TURN over TLS (UDP and other ports are blocked).
    print("\n[across NAT] guest's selected candidate pairs:", json.dumps(pairs), flush=True)
    assert pairs and all(p["local"]["type"] == "relay" for p in pairs), pairs
    assert all(p["local"]["relayProtocol"] == "tls" for p in pairs), pairs
    # The platform received the creator and the guest side by side.
    assert duration(recording) > 3
    seen = frames_left_right(recording)
    red_left_blue_right = [
        (left, right) for left, right in seen if left[0] > 170 and left[2] < 90 and right[2] > 170 and right[0] < 90
    ]
    assert red_left_blue_right, f"never red left / blue right at the platform: {seen[::4]}"
    assert colour_share(recording, (0, 0, 255), at_seconds=duration(recording) - 1) > 0.2
