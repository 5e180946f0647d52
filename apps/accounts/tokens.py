"""JWT pairs for the API and the mobile app: issue, rotate (one use per refresh token), revoke.

Rotation is done here rather than by simplejwt's serializer so that the
"is this refresh token still unused?" check and its blacklisting happen under
one row lock: two requests racing with the same refresh token get one new
pair between them, and the other is refused like any replay.

Every token carries two claims of ours:

* `fam`: the family, the jti of the refresh token a login issued; each rotation passes it on. A refresh
  token presented a second time means someone else holds a copy (or did): every live token of its
  family is blacklisted, so the thief's copy and the victim's newest both stop, and it is logged.
* `auth_ts`: when the pair was issued, to the microsecond. Tokens issued before the user's
  `tokens_valid_after` stamp (a password change or reset, `revoke_all`) are refused, access tokens
  included, so they die with the stamp rather than at their expiry.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from .models import User

log = logging.getLogger(__name__)

FAMILY_CLAIM = "fam"
ISSUED_CLAIM = "auth_ts"
REFUSED = "The refresh token is invalid, expired or already used."


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


class _Refresh(RefreshToken):
    """A refresh token whose signature, expiry and type are checked, but not the blacklist: `rotate` looks
    at the blacklist itself, under a row lock, so that it can tell a replay from an unknown token."""

    def check_blacklist(self) -> None:
        pass


def issue_pair(user: User, *, family: str | None = None) -> TokenPair:
    """A new pair; recorded as outstanding (so it can be blacklisted), in `family` or a new one."""
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(getattr(user, api_settings.USER_ID_FIELD))
    refresh[FAMILY_CLAIM] = family or refresh[api_settings.JTI_CLAIM]
    refresh[ISSUED_CLAIM] = time.time()
    raw = str(refresh)
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token=raw,
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return TokenPair(access=str(refresh.access_token), refresh=raw)


def issued_before_stamp(claims: Any, user: Any) -> bool:
    """True when the token (access or refresh) was issued before the user's tokens_valid_after stamp."""
    stamp = getattr(user, "tokens_valid_after", None)
    if stamp is None:
        return False
    issued = claims.get(ISSUED_CLAIM, claims.get("iat", 0))
    try:
        return float(issued) < stamp.timestamp()
    except (TypeError, ValueError):
        return True


def _parse(raw: str) -> _Refresh:
    try:
        return _Refresh(raw)  # type: ignore[arg-type]  # str is what it parses; stubs say Token
    except TokenError as exc:
        raise InvalidToken({"detail": REFUSED}) from exc


def _blacklist_live(rows: Any) -> int:
    live = list(rows.filter(blacklistedtoken__isnull=True, expires_at__gt=timezone.now()))
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=row) for row in live], ignore_conflicts=True)
    return len(live)


def _revoke_family(user_id: Any, family: str) -> int:
    """Blacklist every live refresh token of `family` (normally one: the newest of its rotations)."""
    members = []
    for row in OutstandingToken.objects.filter(
        user_id=user_id, blacklistedtoken__isnull=True, expires_at__gt=timezone.now()
    ):
        # Our own rows, written by issue_pair: no need to check a signature to read a claim.
        claims = jwt.decode(row.token, options={"verify_signature": False})
        if claims.get(FAMILY_CLAIM) == family:
            members.append(row.pk)
    return _blacklist_live(OutstandingToken.objects.filter(pk__in=members))


def rotate(raw_refresh: str) -> tuple[User, TokenPair]:
    """Trade a refresh token for a new pair; the old one is blacklisted and refused from now on.

    A token that was already used revokes its whole family (see the module docstring): that revocation is
    committed even though the request is refused.
    """
    token = _parse(raw_refresh)
    result = _rotate(token)
    if result is None:
        raise InvalidToken({"detail": REFUSED})
    return result


@transaction.atomic
def _rotate(token: _Refresh) -> tuple[User, TokenPair] | None:
    jti = token[api_settings.JTI_CLAIM]
    outstanding = OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=jti).order_by().first()
    if outstanding is None:
        raise InvalidToken({"detail": "The refresh token is unknown."})
    family = str(token.get(FAMILY_CLAIM) or jti)
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not created:
        # Used before: by a racing request of the same client, a replay, or a thief. Either way one of
        # two holders of this token is not its owner, and nothing tells which: end the family.
        revoked = _revoke_family(outstanding.user_id, family)
        log.warning(
            "Refresh token reuse for user %s: its family was revoked (%d live token(s) blacklisted).",
            outstanding.user_id,
            revoked,
            extra={"event": "auth.refresh_reuse"},
        )
        return None
    user = User.objects.filter(
        **{api_settings.USER_ID_FIELD: token.get(api_settings.USER_ID_CLAIM)}, is_active=True
    ).first()
    if user is None:
        raise InvalidToken({"detail": "No active account found for this token."})
    if issued_before_stamp(token, user):
        return None  # issued before a password change: stays blacklisted
    return user, issue_pair(user, family=family)


def revoke(raw_refresh: str) -> None:
    """Blacklist a refresh token (logout). A token that is already unusable needs nothing done."""
    with contextlib.suppress(TokenError):
        RefreshToken(raw_refresh).blacklist()  # type: ignore[arg-type]


@transaction.atomic
def revoke_all(user: User, *, reason: str) -> int:
    """Every API token of `user` stops working now: the stamp moves, every live refresh token is blacklisted."""
    user.tokens_valid_after = timezone.now()
    User.objects.filter(pk=user.pk).update(tokens_valid_after=user.tokens_valid_after)
    revoked = _blacklist_live(OutstandingToken.objects.filter(user=user))
    log.info("All API tokens of user %s revoked (%s): %d refresh token(s).", user.pk, reason, revoked)
    return revoked


def user_from_access_token(raw_access: str) -> User | None:
    """The active user an access token speaks for, or None (expired, forged, revoked account).

    For clients that cannot send an Authorization header on their own connection (the mobile app's
    studio websocket sends the token as its first message); the same checks as the API's.
    """
    from rest_framework_simplejwt.exceptions import AuthenticationFailed

    from .authentication import JWTCookieAuthentication

    auth = JWTCookieAuthentication()  # its get_user refuses tokens issued before the user's valid-after stamp
    try:
        return auth.get_user(auth.get_validated_token(raw_access.encode()))  # type: ignore[return-value]
    except (InvalidToken, AuthenticationFailed, TokenError):
        return None
