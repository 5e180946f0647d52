"""Error reports to Sentry, scrubbed: what leaves is what our logs would show, and less.

* no local variables (`include_local_variables=False`): stream keys and tokens sit in the locals of the
  show's frames and the platform clients';
* no request bodies (`max_request_body_size="never"`), no cookies or auth headers (`send_default_pii=False`
  and the headers dropped here);
* every string left in the event (messages, exception values, breadcrumbs from log lines, extra data, the
  query string) goes through `apps.core.logging.redact`, the same redaction as the logs: registered
  secrets (the keys the media process decrypted) and the secret shapes.

Called from settings when SENTRY_DSN is set, so every process (web, workers, the media process) starts it.
"""

from __future__ import annotations

import re
from typing import Any

from .logging import MASK, redact

# Keys whose values are dropped outright wherever they appear in an event.
_SECRET_KEY = re.compile(r"(?i)(key|token|secret|password|passwd|signature|authorization|cookie|session|csrf)")
# Request headers worth keeping (what, not who); every other header is dropped.
_KEPT_HEADERS = frozenset({"content-type", "content-length", "user-agent", "accept", "x-request-id", "host"})


def scrub(value: Any) -> Any:
    """A copy of `value` with secrets masked: strings redacted, secret-named entries replaced by the mask."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and _SECRET_KEY.search(k) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
    for value in (event.get("exception") or {}).get("values", []):
        for frame in (value.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)  # none are sent; this keeps it so if an integration adds some
    return scrub(event)  # type: ignore[no-any-return]


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return scrub(crumb)  # type: ignore[no-any-return]


def init(*, dsn: str, environment: str) -> None:
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,
        before_send=before_send,  # type: ignore[arg-type]
        before_breadcrumb=before_breadcrumb,  # type: ignore[arg-type]
    )
