"""JWT from an HTTP-only cookie (browser, mobile web views) or the Authorization header.

An access token issued before the user's `tokens_valid_after` stamp (a password change) is refused.

A request authenticated by cookie is open to CSRF like a session, so writes
made that way must carry the CSRF token; a bearer header is not sent by the
browser on its own, so it needs none.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request: Any, reason: str) -> str:  # type: ignore[override]
        return reason


class JWTCookieAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = self.get_header(request)
        if header is not None:
            return super().authenticate(request)
        raw = request.COOKIES.get(settings.JWT_ACCESS_COOKIE)
        if not raw:
            return None
        try:
            validated = self.get_validated_token(raw.encode())
            user = self.get_user(validated)
        except (InvalidToken, exceptions.AuthenticationFailed):
            # An expired cookie is not an error by itself: the session may still hold a login
            # (pages and API share the browser). With nothing else, the answer is still 401.
            return None
        self.enforce_csrf(request)
        return user, validated

    def get_user(self, validated_token: Any) -> Any:
        """The token's user, unless the token was issued before the user's tokens_valid_after stamp."""
        from .tokens import issued_before_stamp

        user = super().get_user(validated_token)
        if issued_before_stamp(validated_token, user):
            raise InvalidToken(
                {"detail": "This token was revoked (the password changed or you logged out everywhere)."}
            )
        return user

    def enforce_csrf(self, request: Request) -> None:
        def dummy_get_response(_: Any) -> None:  # pragma: no cover - never called
            return None

        check = _CSRFCheck(dummy_get_response)  # type: ignore[arg-type]
        check.process_request(request)
        reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
        if reason:
            raise exceptions.PermissionDenied(f"CSRF failed: {reason}")


class JWTCookieAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe both ways in to the OpenAPI schema: a bearer header, or the access cookie (either one)."""

    target_class = JWTCookieAuthentication
    name = ["jwtBearer", "jwtCookie"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"jwtBearer": []}, {"jwtCookie": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            build_bearer_security_scheme_object(
                header_name="HTTP_AUTHORIZATION", token_prefix="Bearer", bearer_format="JWT"
            ),
            {"type": "apiKey", "in": "cookie", "name": settings.JWT_ACCESS_COOKIE},
        ]
