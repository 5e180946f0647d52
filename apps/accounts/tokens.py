"""JWT pairs for the API and the mobile app: issue, rotate (one use per refresh token), revoke.

Rotation is done here rather than by simplejwt's serializer so that the
"is this refresh token still unused?" check and its blacklisting happen under
one row lock: two requests racing with the same refresh token get one new
pair between them, and the other is refused like any replay.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from django.db import transaction
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from .models import User


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def issue_pair(user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)  # recorded as outstanding, so it can be blacklisted
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _parse(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # str is what it parses; stubs say Token
    except TokenError as exc:
        raise InvalidToken({"detail": "The refresh token is invalid, expired or already used."}) from exc


@transaction.atomic
def rotate(raw_refresh: str) -> tuple[User, TokenPair]:
    """Trade a refresh token for a new pair; the old one is blacklisted and refused from now on."""
    token = _parse(raw_refresh)
    jti = token[api_settings.JTI_CLAIM]
    outstanding = OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=jti).order_by().first()
    if outstanding is None:
        raise InvalidToken({"detail": "The refresh token is unknown."})
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not created:  # lost the race to another request with the same token
        raise InvalidToken({"detail": "The refresh token is invalid, expired or already used."})
    user = User.objects.filter(
        **{api_settings.USER_ID_FIELD: token.get(api_settings.USER_ID_CLAIM)}, is_active=True
    ).first()
    if user is None:
        raise InvalidToken({"detail": "No active account found for this token."})
    return user, issue_pair(user)


def revoke(raw_refresh: str) -> None:
    """Blacklist a refresh token (logout). A token that is already unusable needs nothing done."""
    with contextlib.suppress(TokenError):
        RefreshToken(raw_refresh).blacklist()  # type: ignore[arg-type]
