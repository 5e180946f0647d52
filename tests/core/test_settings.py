"""Production settings refuse to start on unsafe values: each case is a real interpreter loading them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD_SECRET = "x" * 50
GOOD_KEYS = "k6Jq3yM5sVd3J1mR9b0JH3pQ4x0o8f3fB2cYt9pN6aA="
# What a production .env must hold (docker/gen-env.sh writes one like it).
SAFE_PRODUCTION = {
    "STREAMUS_ENV": "production",
    "DEBUG": "false",
    "SECRET_KEY": GOOD_SECRET,
    "STREAM_KEY_ENCRYPTION_KEYS": GOOD_KEYS,
    "LIVEKIT_API_KEY": "APIstreamusprod",
    "LIVEKIT_API_SECRET": "s" * 40,
    "ALLOWED_HOSTS": "studio.example.com",
    "SITE_URL": "https://studio.example.com",
    "LIVEKIT_PUBLIC_URL": "wss://livekit.studio.example.com",
}
# Variables the test run itself sets (Makefile TEST_ENV) or a developer's shell may hold.
_CLEARED = (
    "STREAMUS_",
    "DEBUG",
    "SECRET_KEY",
    "STREAM_KEY",
    "LIVEKIT_",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "SECURE_COOKIES",
    "ALLOW_PRIVATE_DESTINATIONS",
    "TRUSTED_PROXIES",
)


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
    clean.update({"DJANGO_SETTINGS_MODULE": "streamus.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-secret"}, "SECRET_KEY"),
        ({"STREAM_KEY_ENCRYPTION_KEYS": None}, "STREAM_KEY_ENCRYPTION_KEYS"),
        ({"STREAM_KEY_ENCRYPTION_KEYS": "ZGV2LW9ubHktc3RyZWFtdXMta2V5LWRvLW5vdC11c2U="}, "STREAM_KEY_ENCRYPTION_KEYS"),
        ({"LIVEKIT_API_KEY": None}, "LIVEKIT_API_KEY is the development key"),
        ({"LIVEKIT_API_KEY": "devkey"}, "LIVEKIT_API_KEY is the development key"),
        ({"LIVEKIT_API_SECRET": None}, "LIVEKIT_API_SECRET is the development secret"),
        ({"LIVEKIT_API_SECRET": "streamus-dev-livekit-secret-0123456789"}, "LIVEKIT_API_SECRET"),
        ({"LIVEKIT_API_SECRET": "a" * 31}, "LIVEKIT_API_SECRET"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS allows every host"),
        ({"ALLOWED_HOSTS": "studio.example.com,*"}, "ALLOWED_HOSTS allows every host"),
        ({"SECURE_COOKIES": "false"}, "SECURE_COOKIES is off"),
        ({"ALLOW_PRIVATE_DESTINATIONS": "true"}, "ALLOW_PRIVATE_DESTINATIONS is on"),
        ({"SITE_URL": "http://studio.example.com"}, "SITE_URL is not https"),
        ({"SITE_URL": None}, "SITE_URL is not https"),
        ({"LIVEKIT_PUBLIC_URL": "ws://livekit.studio.example.com"}, "LIVEKIT_PUBLIC_URL is not wss"),
    ],
)
def test_production_refuses_unsafe_settings(overrides, problem):
    env = {**SAFE_PRODUCTION, **overrides}
    env = {k: v for k, v in env.items() if v is not None}
    result = load_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: Refusing to start in production" in result.stderr
    assert problem in result.stderr
    # Only the offending variable is named: the message says what to fix.
    message = result.stderr.strip().splitlines()[-1]
    assert "; " not in message, message


def test_every_problem_is_reported_at_once():
    result = load_settings(STREAMUS_ENV="production", DEBUG="false", SECRET_KEY=GOOD_SECRET)
    assert result.returncode != 0
    for name in ("STREAM_KEY_ENCRYPTION_KEYS", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "SITE_URL"):
        assert name in result.stderr


def test_production_starts_with_safe_settings():
    result = load_settings(**SAFE_PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_bad_trusted_proxy_is_refused():
    result = load_settings(STREAMUS_ENV="test", TRUSTED_PROXIES="192.0.2.1,not-an-address")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr and "not-an-address" in result.stderr


def test_unknown_environment_is_refused():
    result = load_settings(STREAMUS_ENV="staging")
    assert result.returncode != 0
    assert "STREAMUS_ENV must be" in result.stderr


def test_env_example_ships_no_usable_secret():
    """Every secret in .env.example is unset or empty: copying it to a server starts nothing unsafe."""
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    values = dict(
        line.split("=", 1) for line in example.splitlines() if "=" in line and not line.lstrip().startswith("#")
    )
    for name in ("SECRET_KEY", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "STREAM_KEY_ENCRYPTION_KEYS"):
        assert not values.get(name, "").strip(), f"{name} has a value in .env.example"
    for name, value in values.items():
        if name.endswith(("_SECRET", "_PASSWORD", "SECRET_ACCESS_KEY")):
            assert not value.strip(), f"{name} has a value in .env.example"
    assert "devkey" not in example
    assert "streamus-dev-livekit-secret" not in example
