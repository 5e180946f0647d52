"""What "answers as documented" means, for every test that checks the API against its OpenAPI schema.

Schemathesis's checks on each response: no server error (a 503 is the documented answer when a service
the request needs is down: LiveKit, for the studio room), a documented status code, content type and
headers, and a body that matches the schema documented for that code.
"""

from __future__ import annotations

from typing import Any

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]


def checks_config() -> dict[str, Any]:
    """The `checks` table of a schemathesis config: these checks and no others."""
    config: dict[str, Any] = {"enabled": False, **{name: {"enabled": True} for name in CHECKS}}
    config["not_a_server_error"]["expected-statuses"] = ["2xx", "3xx", "4xx", "503"]
    return config
