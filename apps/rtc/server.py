"""Start the LiveKit SFU with our config: `python -m apps.rtc.server`.

1. Read docker/livekit.yaml (the one config we ship).
2. Fill in the ports (from LIVEKIT_URL, or arguments in tests; the Prometheus
   endpoint on LIVEKIT_METRICS_PORT, by default the signal port + 3) and the
   webhook URL (SITE_URL + /rtc/webhook), write the rendered file under var/livekit/.
3. exec livekit-server with the API keys in the LIVEKIT_KEYS environment
   variable: never in a file we write, never on the command line (`ps`).

exec (not a child) so that the process runner's signals reach the server itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CONFIG_TEMPLATE = BASE_DIR / "docker" / "livekit.yaml"
WEBHOOK_PATH = "/rtc/webhook"


def livekit_binary() -> str:
    """The pinned build from scripts/setup.sh, else whatever is on PATH."""
    explicit = os.environ.get("LIVEKIT_SERVER_BIN")
    if explicit:
        return explicit
    cached = BASE_DIR / ".cache" / "bin" / "livekit-server"
    if cached.exists():
        return str(cached)
    found = shutil.which("livekit-server")
    if not found:
        raise FileNotFoundError("livekit-server not found: run scripts/setup.sh (make setup)")
    return found


def render_config(
    *,
    port: int,
    tcp_port: int,
    udp_port: int,
    webhook_url: str | None,
    api_key: str,
    prometheus_port: int | None = None,
) -> dict[str, Any]:
    """docker/livekit.yaml with this run's ports and webhook; no secrets in it. Without a Prometheus port
    the metrics endpoint is off (two servers on one machine cannot share the template's)."""
    config: dict[str, Any] = yaml.safe_load(CONFIG_TEMPLATE.read_text())
    config["port"] = port
    if prometheus_port:
        config["prometheus"] = {"port": prometheus_port}
    else:
        config.pop("prometheus", None)
    config["rtc"]["tcp_port"] = tcp_port
    config["rtc"]["udp_port"] = udp_port
    if webhook_url:
        config["webhook"] = {"api_key": api_key, "urls": [webhook_url]}
    else:
        config.pop("webhook", None)
    return config


def write_config(config: dict[str, Any], directory: Path, name: str | None = None) -> Path:
    """Write the rendered config; a unique file unless `name` is given (one per checkout for `make run`)."""
    directory.mkdir(parents=True, exist_ok=True)
    if name is None:
        fd, path = tempfile.mkstemp(prefix="livekit-", suffix=".yaml", dir=directory)
    else:
        path = str(directory / name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(config, fh, sort_keys=False)
    return Path(path)


def server_env(*, api_key: str, api_secret: str, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["LIVEKIT_KEYS"] = f"{api_key}: {api_secret}"
    # Never let a stray environment variable replace the rendered config.
    env.pop("LIVEKIT_CONFIG", None)
    return env


def command(config_path: Path) -> list[str]:
    return [livekit_binary(), "--config", str(config_path)]


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - exercised by `make run`
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamus.settings")
    from django.conf import settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parsed = urlsplit(settings.LIVEKIT_URL)
    default_port = parsed.port or 7880
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--tcp-port", type=int, default=default_port + 1)
    parser.add_argument("--udp-port", type=int, default=default_port + 2)
    parser.add_argument(
        "--prometheus-port", type=int, default=int(os.environ.get("LIVEKIT_METRICS_PORT") or default_port + 3)
    )
    parser.add_argument("--webhook-url", default=settings.SITE_URL.rstrip("/") + WEBHOOK_PATH)
    args = parser.parse_args(argv)

    config = render_config(
        port=args.port,
        tcp_port=args.tcp_port,
        udp_port=args.udp_port,
        webhook_url=args.webhook_url,
        api_key=settings.LIVEKIT_API_KEY,
        prometheus_port=args.prometheus_port,
    )
    path = write_config(config, Path(settings.VAR_DIR) / "livekit", "livekit.yaml")
    cmd = command(path)
    env = server_env(api_key=settings.LIVEKIT_API_KEY, api_secret=settings.LIVEKIT_API_SECRET)
    os.execve(cmd[0], cmd, env)  # noqa: S606 - a fixed binary and argv, no shell involved


if __name__ == "__main__":  # pragma: no cover
    main()
