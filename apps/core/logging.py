"""JSON log lines with a request id (and the stream id of a show), and a filter that keeps secrets out.

Correlation: the id of the request that started something follows it into every process. The web
middleware sets it per request (and the studio socket per message); Celery carries it in each task's
headers (streamus/observability.py); the pool process that runs the task binds it for the task's
duration, and a live show binds its stream id too. A media pool process runs one show at a time and its
threads (pushers, recorder, health, compositor) start with an empty context, so ids bound with
``process=True`` are also the process's fallback: every line of the show carries both. The same ids are
tags on Sentry events.

Secrets are registered with `register_secret()` wherever they are decrypted
(the media process) and replaced by a mask in every record; common secret
shapes (RTMP URLs with a key path, bearer tokens, `key=` query strings) are
masked even when nobody registered them: RTMP URLs with a key path, bearer and OAuth tokens, IRC
`PASS oauth:`, `name=value` and JSON/dict `"name": "value"` for any name ending in key, token, secret or
password, JWTs and Fernet ciphertexts (tests/core/test_redaction.py is the table).

The filter sits on every handler in settings.LOGGING, and Celery workers keep that configuration
(streamus/celery.py) instead of installing handlers of their own. Sentry events go through the same
`redact` (apps/core/sentry.py).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
import uuid
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
stream_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("stream_id", default=None)
# Fallbacks for threads of a pool process that started with an empty context (see the module docstring).
_process_ids: dict[str, str] = {}

_registered: set[str] = set()
_lock = threading.Lock()

MASK = "\u2022" * 4
# Names whose value is a secret, in `name=value`, `"name": "value"` and `'name': 'value'` forms:
# stream_key, api_key, client_secret, access_token, refresh_token, id_token, password, ...
_SECRET_NAME = r"[A-Za-z_\-]*(?:key|token|secret|password|passwd|signature)"

_PATTERNS = [
    # RTMP(S) URLs: anything after the application is the stream name, which is the key
    # (rtmp://host/app/KEY, rtmps://host:443/app/KEY?x=y). The URL up to the app stays readable.
    (re.compile(r"(?i)(rtmps?://[^/\s\"'<>]+/[^/\s\"'<>?#]+/)(?!\u2022)[^\s\"'<>]+"), r"\1" + MASK),
    # Bearer tokens anywhere; other schemes (Twitch's "OAuth", Basic) after an Authorization header
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-_\.=~+/:]+"), r"\1" + MASK),
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?\s*(?:oauth|basic|token)\s+)[^\s\"']+"), r"\1" + MASK),
    # IRC (Twitch chat) login: PASS oauth:<token> (the command is upper case on the wire)
    (re.compile(r"\b(PASS\s+)(?!\u2022)\S+"), r"\1" + MASK),
    (re.compile(r"(?i)\boauth:[A-Za-z0-9_\-]+"), "oauth:" + MASK),
    # JWTs
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), MASK + "jwt"),
    # JSON and Python dict reprs: "access_token": "...", 'client_secret': '...'
    (
        re.compile(r"(?i)([\"'])(" + _SECRET_NAME + r")\1(\s*:\s*)([\"'])(?:\\.|(?!\4).)*\4"),
        r"\1\2\1\3\4" + MASK + r"\4",
    ),
    # name=value in query strings, form bodies and text: key=, client_secret=, access_token=, ...
    (re.compile(r"(?i)\b(" + _SECRET_NAME + r")=([^&\s\"']+)"), r"\1=" + MASK),
    # Fernet ciphertexts
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), MASK + "fernet"),
]


def register_secret(secret: str) -> None:
    if secret and len(secret) >= 4:
        with _lock:
            _registered.add(secret)


def unregister_secret(secret: str) -> None:
    with _lock:
        _registered.discard(secret)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_registered, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "••••" + secret[-4:] if len(secret) > 8 else "••••")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_ids() -> dict[str, str]:
    """The request id and stream id this code runs under ("-" / absent when there is none)."""
    ids = {"request_id": request_id_var.get()}
    if ids["request_id"] == "-":
        ids["request_id"] = _process_ids.get("request_id", "-")
    stream_id = stream_id_var.get() or _process_ids.get("stream_id")
    if stream_id:
        ids["stream_id"] = stream_id
    return ids


def bind_ids(*, request_id: str | None = None, stream_id: int | str | None = None, process: bool = False) -> None:
    """Tag what runs from here on (this context; with `process`, every thread of the process) and Sentry."""
    tags: dict[str, str] = {}
    if request_id:
        request_id_var.set(request_id)
        tags["request_id"] = request_id
    if stream_id is not None:
        stream_id_var.set(str(stream_id))
        tags["stream_id"] = str(stream_id)
    if process:
        _process_ids.update(tags)
    _sentry_tags(tags, process=process)


def unbind_process_ids() -> None:
    """The task or show is over: this process's threads no longer speak for it."""
    _process_ids.clear()
    request_id_var.set("-")
    stream_id_var.set(None)
    _sentry_tags({"request_id": "", "stream_id": ""}, process=True)


def _sentry_tags(tags: dict[str, str], *, process: bool) -> None:
    """The same ids as tags on error reports (when SENTRY_DSN is set), on this scope and, for a process, all."""
    import sentry_sdk

    if not tags or not sentry_sdk.get_client().is_active():
        return
    scopes = [sentry_sdk.get_isolation_scope()] + ([sentry_sdk.get_global_scope()] if process else [])
    for scope in scopes:
        for key, value in tags.items():
            if value:
                scope.set_tag(key, value)
            else:
                scope.remove_tag(key)


class RequestIdFilter(logging.Filter):
    """Puts the request id (and the stream id, inside a show) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        record.request_id = ids["request_id"]
        if "stream_id" in ids and not hasattr(record, "stream_id"):
            record.stream_id = ids["stream_id"]
        return True


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in ("stream_id", "destination_id", "event"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, default=str)
