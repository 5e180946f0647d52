"""Security finding 8: what before_send / before_breadcrumb leave of an event (the show test covers a real one)."""

from __future__ import annotations

import json

import pytest

from apps.core import sentry
from apps.core.logging import register_secret, unregister_secret
from tests.support.secrets import SECRET, TABLE


@pytest.mark.parametrize("line", TABLE)
def test_log_shapes_are_redacted_everywhere_in_an_event(line):
    event = {
        "message": line,
        "logentry": {"message": line, "params": [line]},
        "exception": {"values": [{"type": "RuntimeError", "value": line, "stacktrace": {"frames": [{"vars": {}}]}}]},
        "breadcrumbs": {"values": [{"category": "httpx", "message": line, "data": {"url": line}}]},
        "extra": {"detail": line, "nested": [{"more": line}]},
        "request": {"url": "https://studio.example/api", "query_string": line},
    }
    scrubbed = sentry.before_send(event, {})
    assert SECRET not in json.dumps(scrubbed)
    assert "vars" not in scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]


def test_request_bodies_cookies_and_auth_headers_are_dropped():
    event = {
        "request": {
            "method": "POST",
            "url": "https://studio.example/api/v1/auth/login",
            "data": {"email": "a@example.com", "password": "hunter2-hunter2"},
            "cookies": {"sessionid": "s3ss10n", "streamus_refresh": "eyJx.eyJy.z"},
            "headers": {
                "Authorization": "Bearer eyJhbGciOi.eyJ1c2VyIjo.c2ln",
                "Cookie": "sessionid=s3ss10n",
                "X-CSRFToken": "csrf-value-123",
                "Content-Type": "application/json",
            },
        }
    }
    scrubbed = sentry.before_send(event, {})
    text = json.dumps(scrubbed)
    for secret in ("hunter2", "s3ss10n", "eyJhbGciOi", "csrf-value-123"):
        assert secret not in text
    assert scrubbed["request"]["headers"] == {"Content-Type": "application/json"}
    assert "data" not in scrubbed["request"] and "cookies" not in scrubbed["request"]


def test_registered_secrets_and_secret_named_fields_are_masked():
    register_secret("plain-looking-key-0042")
    try:
        crumb = sentry.before_breadcrumb(
            {"message": "pushing with plain-looking-key-0042", "data": {"stream_key": "x", "client_secret": "y"}}, {}
        )
    finally:
        unregister_secret("plain-looking-key-0042")
    assert "plain-looking-key" not in json.dumps(crumb)
    assert crumb["data"] == {"stream_key": "\u2022" * 4, "client_secret": "\u2022" * 4}


def test_the_sdk_is_configured_without_locals_or_bodies(monkeypatch):
    seen = {}
    import sentry_sdk

    monkeypatch.setattr(sentry_sdk, "init", lambda **options: seen.update(options))
    sentry.init(dsn="http://public@127.0.0.1:9/1", environment="test")
    assert seen["include_local_variables"] is False
    assert seen["max_request_body_size"] == "never"
    assert seen["send_default_pii"] is False
    assert seen["before_send"] is sentry.before_send
    assert seen["before_breadcrumb"] is sentry.before_breadcrumb
