"""The Kubernetes manifests: valid against the Kubernetes API schema (kubeconform, offline), and
the same image, commands and settings as docker/compose.yaml."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "docker" / "k8s"
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]
DOCS = [d for f in sorted(MANIFESTS.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
BY_NAME = {d["metadata"]["name"]: d for d in DOCS}
# Compose settings that carry a secret or name compose's own services: the Secret holds them.
FROM_THE_SECRET = {"DATABASE_URL", "REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "METRICS_TOKEN"}


def validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "k8s-validate.sh"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_manifests_are_valid_kubernetes():
    result = validate(MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(DOCS)} resources found" in result.stdout and "Invalid: 0, Errors: 0" in result.stdout


def test_the_validator_rejects_what_kubernetes_would(tmp_path):
    """A misspelt field, a wrong type and an unknown kind all fail: the check is not a formality."""
    text = (MANIFESTS / "streamus.yaml").read_text()
    cases = {
        "field": text.replace("readinessProbe:", "readynessProbe:", 1),
        "type": text.replace("replicas: 2", "replicas: two", 1),
        "kind": text.replace("kind: Service", "kind: Servise", 1),
    }
    for name, broken in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(broken)
        result = validate(path)
        assert result.returncode != 0, (name, result.stdout)


def _container(name: str) -> dict:
    spec = BY_NAME[name]["spec"]["template"]["spec"]
    return dict(spec["containers"][0])


def test_same_image_and_commands_as_compose():
    app_image = COMPOSE["web"]["image"].split(":-", 1)[1].rstrip("}")
    for manifest, service in [
        ("streamus-migrate", "migrate"),
        ("streamus-worker", "worker"),
        ("streamus-media", "media"),
        ("streamus-beat", "beat"),
    ]:
        container = _container(manifest)
        assert container["image"] == app_image, manifest
        assert [str(c) for c in container["command"]] == [str(c) for c in COMPOSE[service]["command"]], manifest
    assert _container("streamus-web")["image"] == app_image


def test_same_settings_as_compose():
    compose_env = set(COMPOSE["web"]["environment"]) - FROM_THE_SECRET
    config = BY_NAME["streamus-config"]["data"]
    assert compose_env <= set(config), compose_env - set(config)
    assert config["STREAMUS_ENV"] == "production"
    assert config["LIVEKIT_PUBLIC_URL"].startswith("wss://") and config["SITE_URL"].startswith("https://")
    for doc in DOCS:
        if doc["kind"] in {"Deployment", "Job"}:
            env_from = _container(doc["metadata"]["name"])["envFrom"]
            assert {"configMapRef": {"name": "streamus-config"}} in env_from
            assert {"secretRef": {"name": "streamus"}} in env_from


def test_media_grace_period_is_what_the_code_needs():
    grace = BY_NAME["streamus-media"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace == settings.MEDIA_STOP_GRACE_SECONDS
    assert COMPOSE["media"]["stop_grace_period"] == f"{grace}s"


def test_probes_reach_readiness_the_way_compose_does():
    web = _container("streamus-web")
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    host = {h["name"]: h["value"] for h in web["readinessProbe"]["httpGet"]["httpHeaders"]}["Host"]
    assert host in BY_NAME["streamus-config"]["data"]["ALLOWED_HOSTS"].split(",")
