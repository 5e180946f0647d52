"""The deployment files, read as data: what compose, Caddy and the Dockerfile promise each other.

The stack itself is built and run by test_compose.py; these checks say why in one line when a
file drifts from the settings it must agree with.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from apps.core.bodylimit import body_limit

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {"migrate", "web", "worker", "media", "beat", "bucket"}


def livekit_pin() -> str:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    return next(line.split("=", 1)[1] for line in setup.splitlines() if line.startswith("LIVEKIT_VERSION="))


def test_compose_runs_every_process():
    assert {"front", "web", "worker", "media", "beat", "migrate", "livekit", "redis", "postgres", "minio"} <= set(
        SERVICES
    )
    commands = {name: " ".join(map(str, s.get("command", []))) for name, s in SERVICES.items()}
    assert "-Q media" in commands["media"] and "-Q default" in commands["worker"]
    assert "migrate" in commands["migrate"]
    # Beat writes its schedule where the app user may write (it crash-looped on /app before).
    assert "--schedule /app/var/beat/" in commands["beat"]


def test_one_app_image_built_once():
    images = {SERVICES[name]["image"] for name in APP_SERVICES}
    assert images == {"${STREAMUS_IMAGE:-streamus-app:local}"}
    built = [name for name, s in SERVICES.items() if "build" in s]
    assert built == ["migrate"]


def test_third_party_images_are_official_and_overridable():
    """`image: ${X_IMAGE:-official}` for every service not built here; never a build: beside one."""
    for name, service in SERVICES.items():
        if name in APP_SERVICES:
            continue
        assert "build" not in service, name
        assert re.fullmatch(r"\$\{[A-Z]+_IMAGE:-[a-z0-9./-]+:[\w.-]+\}", service["image"]), (name, service["image"])
    assert SERVICES["livekit"]["image"].endswith(f"livekit/livekit-server:{livekit_pin()}}}")


def test_every_long_running_service_has_a_health_check_and_waits_for_its_dependencies():
    one_shot = {"migrate", "bucket"}
    for name, service in SERVICES.items():
        if name in one_shot or name in {"worker", "media", "beat"}:
            continue
        assert "healthcheck" in service, name
    for name in ("web", "worker", "media", "beat"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}


def test_secrets_come_from_the_env_file_never_from_the_compose_file():
    text = (DOCKER / "compose.yaml").read_text()
    assert 'LIVEKIT_KEYS: "${LIVEKIT_API_KEY:?' in text
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}" in text
    assert "devkey" not in text and "SECRET_KEY" not in text


def test_livekit_ports_are_published_as_advertised():
    """LiveKit puts its own port numbers in ICE candidates and TURN URLs: host and container ports agree."""
    for spec in SERVICES["livekit"]["ports"]:
        if "5349/tcp" in spec:
            continue  # TURN/TLS: advertised as 443 whatever the container port
        host, container = re.fullmatch(r"\$\{\w+\}:(\$\{[^}]+\}):(\$\{[^}]+\})/\w+", spec).groups()  # type: ignore[union-attr]
        assert host == container, spec


def test_media_stop_grace_matches_the_code():
    grace = SERVICES["media"]["stop_grace_period"]
    assert grace == f"{settings.MEDIA_STOP_GRACE_SECONDS}s"


def test_dockerfile_base_images_are_build_arguments_and_livekit_builds_with_its_go():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", dockerfile, re.M) == [
        "${NODE_IMAGE}",
        "${PYTHON_IMAGE}",
        "${GO_IMAGE}",
        "${DEBIAN_IMAGE}",
    ]
    assert f"ARG LIVEKIT_VERSION={livekit_pin()}" in dockerfile
    # livekit-server's go.mod asks for a newer Go than an older image has: the toolchain is fetched.
    assert "GOTOOLCHAIN=auto" in dockerfile
    assert "ARG GO_IMAGE=golang:1.26" in dockerfile


def test_build_context_leaves_local_state_and_secrets_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "node_modules", ".env", "docker/.env", "var"} <= ignored


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/login",
        "/rtc/webhook",
        "/accounts/login/",
        "/api/v1/engagement/streams/3/comments/",
        "/api/v1/streams/",
        "/api/v1/uploads/0b5e5c4e-1111-4c4c-8888-000000000000/",
        "/library/guest-uploads/session/0b5e5c4e-1111-4c4c-8888-000000000000/",
        "/api/v1/brand-kits/2/assets/",
        "/brand-kits/2/assets/",
        "/studio/3/invites/",
    ],
)
def test_front_body_limits_match_the_application(path):
    """The Caddyfile's matchers and default sizes give each path the limit the application gives it."""
    caddyfile = (DOCKER / "Caddyfile").read_text()
    site = caddyfile[caddyfile.index("{$DOMAIN} {") :]
    matchers = dict(re.findall(r"^\t@(\w+) path_regexp (\S+)$", site, re.M))
    handles = re.findall(r"^\thandle(?: @(\w+))? \{\n\t\trequest_body \{\n\t\t\tmax_size \{\$\w+:(\d+)\}", site, re.M)
    for matcher, size in handles:
        if not matcher or re.match(matchers[matcher], path):
            assert int(size) == body_limit(path), (path, matcher)
            return
    pytest.fail(f"no handle for {path}")


def test_livekit_loopback_config_stays_on_loopback():
    """docker/livekit.yaml is `make run`'s and the tests' (the server's lives in compose.yaml)."""
    config = yaml.safe_load((DOCKER / "livekit.yaml").read_text())
    assert config["bind_addresses"] == ["127.0.0.1"]
    rtc = config["rtc"]
    assert rtc["use_external_ip"] is False
    assert rtc["node_ip"] == "127.0.0.1"
    assert "keys" not in config  # keys come from LIVEKIT_KEYS in the environment


def test_server_livekit_config_has_turn_over_udp_and_tls():
    config = yaml.safe_load(COMPOSE["configs"]["livekit"]["content"])
    turn = config["turn"]
    assert turn["enabled"] is True and turn["tls_port"] == 5349 and turn["domain"] == "${TURN_DOMAIN}"
    assert str(turn["udp_port"]).startswith("${TURN_UDP_PORT")
    assert config["webhook"]["urls"] == ["http://web:8000/rtc/webhook"]
    assert "keys" not in config


def _requirement_names(path: Path) -> set[str]:
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= _requirement_names(path.parent / line[3:].strip())
        elif line:
            names.add(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_the_image_installs_every_package_the_product_imports():
    """The image installs requirements/prod.txt: a module the product imports that only the dev file brings
    (psutil once did) passes every test on the host and breaks the image at collectstatic."""
    import ast
    import sys
    from importlib.metadata import PackageNotFoundError, packages_distributions, requires

    # What pip installs for requirements/prod.txt: the pinned names and everything they require.
    installed, todo = set(), list(_requirement_names(ROOT / "requirements" / "prod.txt"))
    while todo:
        name = todo.pop()
        if name in installed:
            continue
        installed.add(name)
        try:
            wanted = requires(name) or []
        except PackageNotFoundError:
            continue
        for spec in wanted:
            if "extra ==" not in spec:
                todo.append(re.split(r"[\[=<>~!; (]", spec, maxsplit=1)[0].lower().replace("_", "-"))
    distributions = packages_distributions()
    missing: dict[str, str] = {}
    for folder in ("apps", "media", "streamus"):
        for source in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in {"apps", "media", "streamus"}:
                        continue
                    dists = {d.lower().replace("_", "-") for d in distributions.get(top, [])}
                    if dists and not dists & installed:
                        missing[top] = str(source.relative_to(ROOT))
    assert not missing, f"imported by the product but not in requirements/prod.txt (or base.txt): {missing}"
