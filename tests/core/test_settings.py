"""Production settings refuse to start on unsafe values."""

import os
import subprocess
import sys

import pytest

GOOD_SECRET = "x" * 50
GOOD_KEYS = "k6Jq3yM5sVd3J1mR9b0JH3pQ4x0o8f3fB2cYt9pN6aA="


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("STREAMUS_", "DEBUG", "SECRET_KEY", "STREAM_KEY"))
    }
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
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"STREAM_KEY_ENCRYPTION_KEYS": ""}, "STREAM_KEY_ENCRYPTION_KEYS"),
    ],
)
def test_production_refuses_unsafe_settings(overrides, problem):
    env = {
        "STREAMUS_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": GOOD_SECRET,
        "STREAM_KEY_ENCRYPTION_KEYS": GOOD_KEYS,
    }
    env.update(overrides)
    if env["SECRET_KEY"] == "":
        del env["SECRET_KEY"]
    result = load_settings(**env)
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert problem in result.stderr


def test_production_starts_with_safe_settings():
    result = load_settings(
        STREAMUS_ENV="production", DEBUG="false", SECRET_KEY=GOOD_SECRET, STREAM_KEY_ENCRYPTION_KEYS=GOOD_KEYS
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_unknown_environment_is_refused():
    result = load_settings(STREAMUS_ENV="staging")
    assert result.returncode != 0
    assert "STREAMUS_ENV must be" in result.stderr
