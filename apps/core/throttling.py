"""API-wide request rates, read from settings on every check (so tests and deploys can change them).

Throttles run after authentication and permissions, so anonymous requests to
protected endpoints are answered 401 before they are counted; the anonymous
rate covers only the public endpoints (schema, docs). Login has its own,
stricter limit per (ip, email) in `apps.core.ratelimit`.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class UserThrottle(UserRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_RATE_USER or None


class AnonThrottle(AnonRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_RATE_ANON or None
