"""The deployment files cannot be run here (no Docker engine, no cluster); check what can be checked."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def test_compose_runs_every_process_with_secrets_from_the_environment():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "media", "beat", "livekit", "redis", "postgres", "minio", "migrate"} <= set(services)
    commands = {name: " ".join(map(str, s.get("command", []))) for name, s in services.items()}
    assert "-Q media" in commands["media"] and "-Q default" in commands["worker"]
    # Secrets are interpolated from docker/.env, never written into the file.
    text = (DOCKER / "compose.yaml").read_text()
    assert 'LIVEKIT_KEYS: "${LIVEKIT_API_KEY}: ${LIVEKIT_API_SECRET}"' in text
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}" in text


def test_kubernetes_manifests_have_probes_and_one_image():
    docs = list(yaml.safe_load_all((DOCKER / "k8s" / "streamus.yaml").read_text()))
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"streamus-web", "streamus-worker", "streamus-media", "streamus-beat"}
    web = deployments["streamus-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    images = {d["spec"]["template"]["spec"]["containers"][0]["image"] for d in deployments.values()}
    assert images == {"streamus:latest"}


def test_dockerfile_builds_livekit_from_the_pinned_tag():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    setup = (DOCKER.parent / "scripts" / "setup.sh").read_text()
    pin = next(line.split("=", 1)[1] for line in setup.splitlines() if line.startswith("LIVEKIT_VERSION="))
    assert f"github.com/livekit/livekit-server/cmd/server@{pin}" in dockerfile


def test_livekit_config_stays_on_loopback():
    config = yaml.safe_load((DOCKER / "livekit.yaml").read_text())
    assert config["bind_addresses"] == ["127.0.0.1"]
    rtc = config["rtc"]
    assert rtc["use_external_ip"] is False
    assert rtc["node_ip"] == "127.0.0.1"
    assert rtc["enable_loopback_candidate"] is True
    assert rtc["ips"] == {"includes": ["127.0.0.1/32"]}
    assert rtc["stun_servers"] == ["127.0.0.1:3478"]
    assert "keys" not in config  # keys come from LIVEKIT_KEYS in the environment
