"""API-wide request rates, read from settings on every check (so tests and deploys can change them).

Throttles run after authentication and permissions, so anonymous requests to
protected endpoints are answered 401 before they are counted; the anonymous
rate covers only the public endpoints (schema, docs). Login has its own,
stricter limit per (ip, email) in `apps.core.ratelimit`.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from apps.core import ratelimit


class _ClientAddress:
    """Anonymous requests are counted per client address from the trusted-proxy list.

    DRF's own `get_ident` trusts a raw X-Forwarded-For: any client could pick a new
    address per request and never be throttled, or pin someone else's.
    """

    def get_ident(self, request: Request) -> str:
        return ratelimit.client_ip(request._request)


class UserThrottle(_ClientAddress, UserRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_RATE_USER or None


class AnonThrottle(_ClientAddress, AnonRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_RATE_ANON or None
