"""API authentication: JWT login, refresh (rotating), logout, and who am I.

Two ways to carry the tokens, chosen by the client:

* Cookie mode (default; browsers and web views). The access and refresh
  tokens travel only in HTTP-only, SameSite=Lax cookies (Secure when
  SECURE_COOKIES), never in a body, so page scripts cannot read them. Writes
  authenticated by the cookie need the CSRF token (X-CSRFToken header from the
  `csrftoken` cookie, which login sets). The refresh cookie is scoped to
  /api/v1/auth/ so it is not sent with every request.
* Bearer mode: send `X-Auth-Mode: bearer` (the mobile app). Tokens come back
  in the body and no cookies are set; send the access token as
  `Authorization: Bearer ...` and the refresh token in the body of
  /auth/refresh and /auth/logout. A browser page cannot use bearer mode to
  lift the cookie tokens: refresh in bearer mode reads only the body.

Refresh and logout in cookie mode need the CSRF token too.

Every refresh token works once: refresh blacklists it and returns a new pair;
replaying it answers 401 and revokes every token descended from the same login
(apps/accounts/tokens.py). Logout blacklists the refresh token. Access tokens
are short-lived (SIMPLE_JWT ACCESS_TOKEN_LIFETIME); a password change or reset
kills every access and refresh token issued before it.

These endpoints accept JSON only: an HTML form on another site cannot post
JSON without a CORS preflight, which closes login CSRF.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from apps.accounts.authentication import JWTCookieAuthentication
from apps.core import ratelimit
from apps.core.rest import errors, request_user

from . import tokens
from .cookies import REFRESH_COOKIE_PATH, clear_token_cookies
from .models import User
from .serializers import AuthOutputSerializer, LoginInputSerializer, RefreshInputSerializer, UserOutputSerializer

AUTH_MODE_HEADER = "X-Auth-Mode"

auth_mode_parameter = OpenApiParameter(
    AUTH_MODE_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    enum=["cookie", "bearer"],
    required=False,
    description="`bearer`: tokens in the body, no cookies (mobile). Default: HTTP-only cookies.",
)


def _bearer_mode(request: Request) -> bool:
    return request.headers.get(AUTH_MODE_HEADER, "").strip().lower() == "bearer"


def _set_token_cookies(response: Response, pair: tokens.TokenPair) -> None:
    common = {"httponly": True, "samesite": "Lax", "secure": settings.SECURE_COOKIES}
    response.set_cookie(
        settings.JWT_ACCESS_COOKIE,
        pair.access,
        max_age=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        path="/",
        **common,  # type: ignore[arg-type]
    )
    response.set_cookie(
        settings.JWT_REFRESH_COOKIE,
        pair.refresh,
        max_age=int(jwt_settings.REFRESH_TOKEN_LIFETIME.total_seconds()),
        path=REFRESH_COOKIE_PATH,
        **common,  # type: ignore[arg-type]
    )


def _pair_response(request: Request, user: User, pair: tokens.TokenPair) -> Response:
    body: dict[str, object] = {"user": UserOutputSerializer(user).data}
    if _bearer_mode(request):
        body |= {"access": pair.access, "refresh": pair.refresh}
        response = Response(body)
    else:
        response = Response(body)
        _set_token_cookies(response, pair)
        get_token(request._request)  # makes sure the csrftoken cookie is set for the writes that follow
    response["Cache-Control"] = "no-store"
    return response


def _refresh_cookie(request: Request) -> str:
    """The refresh cookie, once the request proves it comes from our pages (CSRF token)."""
    raw = request.COOKIES.get(settings.JWT_REFRESH_COOKIE, "")
    if raw:
        # SameSite=Lax already keeps the cookie off cross-site posts; the token covers same-site ones too.
        JWTCookieAuthentication().enforce_csrf(request)
    return raw


class _PublicAuthApi(APIView):
    # No authentication: a stale or foreign cookie must not turn login into a 401.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    # Login has its own limit per (ip, email); refresh and logout need a valid token to do anything.
    throttle_classes: list = []

    def get_authenticate_header(self, request: Request) -> str:
        # With no authenticators DRF would turn 401 into 403; a failed login or refresh is a 401.
        return 'Bearer realm="api"'


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LoginApi(_PublicAuthApi):
    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: AuthOutputSerializer,
            **errors(
                e400="Missing or malformed fields.",
                e401="Wrong email or password.",
                e429="Too many attempts for this email from this address.",
            ),
        },
        parameters=[auth_mode_parameter],
        auth=[],
    )
    def post(self, request: Request) -> Response:
        email = str(request.data.get("email", "")) if isinstance(request.data, dict) else ""
        # Counted before validation so malformed attempts are limited too (the same limiter as the pages).
        wait = ratelimit.login_check(request._request, email)
        if wait:
            raise exceptions.Throttled(wait=wait, detail=f"Too many login attempts. Try again in {wait} seconds.")
        serializer = LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            email=serializer.validated_data["email"].strip().lower(),
            password=serializer.validated_data["password"],
        )
        if not isinstance(user, User):
            raise exceptions.AuthenticationFailed("The email or password is incorrect.")
        update_last_login(User, user)
        ratelimit.login_succeeded(request._request, user.email)  # no session login, so no user_logged_in signal
        return _pair_response(request, user, tokens.issue_pair(user))


class RefreshApi(_PublicAuthApi):
    @extend_schema(
        request=RefreshInputSerializer,
        responses={
            200: AuthOutputSerializer,
            **errors(
                e401="Invalid, expired or reused token.",
                e403="Cookie mode: the CSRF token is missing (refresh and logout need it, like every write).",
            ),
        },
        parameters=[auth_mode_parameter],
        auth=[],
    )
    def post(self, request: Request) -> Response:
        if _bearer_mode(request):
            serializer = RefreshInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            raw = serializer.validated_data.get("refresh", "")
        else:
            raw = _refresh_cookie(request)
        if not raw:
            raise exceptions.NotAuthenticated("No refresh token.")
        user, pair = tokens.rotate(raw)
        return _pair_response(request, user, pair)


class LogoutApi(_PublicAuthApi):
    @extend_schema(
        request=RefreshInputSerializer,
        responses={
            204: None,
            **errors(e403="Cookie mode: the CSRF token is missing (refresh and logout need it, like every write)."),
        },
        parameters=[auth_mode_parameter],
        auth=[],
    )
    def post(self, request: Request) -> Response:
        if _bearer_mode(request):
            raw = str(request.data.get("refresh", "")) if isinstance(request.data, dict) else ""
        else:
            raw = _refresh_cookie(request)
        if raw:
            tokens.revoke(raw)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        clear_token_cookies(response)
        return response


class MeApi(APIView):
    @extend_schema(responses=UserOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request_user(request)).data)
