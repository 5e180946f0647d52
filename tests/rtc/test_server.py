"""The LiveKit launcher: loopback-only config from docker/livekit.yaml, keys only in the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from apps.rtc import server as launcher


def test_rendered_config_is_loopback_only_and_has_no_secret(tmp_path):
    config = launcher.render_config(
        port=17880, tcp_port=17881, udp_port=17882, webhook_url="http://127.0.0.1:8000/rtc/webhook", api_key="k1"
    )
    assert config["port"] == 17880
    assert config["bind_addresses"] == ["127.0.0.1"]
    rtc = config["rtc"]
    assert (rtc["tcp_port"], rtc["udp_port"]) == (17881, 17882)
    assert rtc["use_external_ip"] is False and rtc["node_ip"] == "127.0.0.1"
    assert rtc["enable_loopback_candidate"] is True
    assert rtc["ips"] == {"includes": ["127.0.0.1/32"]}
    assert rtc["stun_servers"] == ["127.0.0.1:3478"]
    assert config["room"]["auto_create"] is False
    assert config["webhook"] == {"api_key": "k1", "urls": ["http://127.0.0.1:8000/rtc/webhook"]}
    assert "keys" not in config
    assert "prometheus" not in config  # two servers on a machine must not share one metrics port
    with_metrics = launcher.render_config(
        port=17880, tcp_port=17881, udp_port=17882, webhook_url=None, api_key="k1", prometheus_port=17883
    )
    assert with_metrics["prometheus"] == {"port": 17883}  # on the bind addresses: loopback

    path = launcher.write_config(config, tmp_path, "livekit.yaml")
    assert yaml.safe_load(path.read_text()) == config
    env = launcher.server_env(api_key="k1", api_secret="s3cret-value", base={"PATH": "/bin", "LIVEKIT_CONFIG": "x"})
    assert env["LIVEKIT_KEYS"] == "k1: s3cret-value"
    assert "LIVEKIT_CONFIG" not in env
    command = launcher.command(path)
    assert command[1:] == ["--config", str(path)]
    assert not any("s3cret" in part for part in command)


def test_shipped_config_parses():
    config = yaml.safe_load((Path(launcher.BASE_DIR) / "docker" / "livekit.yaml").read_text())
    assert config["rtc"]["node_ip"] == "127.0.0.1"


@pytest.mark.livekit
def test_running_server_keeps_its_secret_off_the_command_line(livekit):
    cmdline = Path(f"/proc/{livekit.process.pid}/cmdline").read_bytes().decode()
    assert livekit.api_secret not in cmdline
    config_path = cmdline.split("\0")[2]
    assert livekit.api_secret not in Path(config_path).read_text()
    # ... and it is the secret the server really uses: a token signed with it is accepted.
    from apps.rtc.services import rtc_participants
    from tests.factories import StreamFactory

    assert rtc_participants(stream=StreamFactory.build(pk=987654)) == []
