"""JSON log lines with a request id, and a filter that keeps secrets out.

Secrets are registered with `register_secret()` wherever they are decrypted
(the media process) and replaced by a mask in every record; common secret
shapes (RTMP URLs with a key path, bearer tokens, `key=` query strings) are
masked even when nobody registered them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_registered: set[str] = set()
_lock = threading.Lock()

_PATTERNS = [
    # Bearer / JWT-looking tokens
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_\.=]+"), r"\1••••"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), "••••jwt"),
    # key=..., token=..., secret=..., password=... in query strings or text
    (re.compile(r"(?i)\b(key|stream_key|token|secret|password|access_token|refresh_token)=([^&\s\"']+)"), r"\1=••••"),
    # Fernet ciphertexts
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), "••••fernet"),
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


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
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
