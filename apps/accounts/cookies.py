"""The JWT cookies of the API (apps/accounts/api.py), set and cleared the same way everywhere."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseBase

# The refresh cookie is sent only to the auth endpoints, not with every request.
REFRESH_COOKIE_PATH = "/api/v1/auth/"


def clear_token_cookies(response: HttpResponseBase) -> None:
    response.delete_cookie(settings.JWT_ACCESS_COOKIE, path="/", samesite="Lax")
    response.delete_cookie(settings.JWT_REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite="Lax")
