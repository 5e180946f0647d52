"""Security finding 5: refresh-token reuse revokes its family; a password change or reset revokes every token.

The reproduction was: after R1 -> R2 and a replay of R1 (401), R2 still refreshed; after a password change,
a refresh token from before still refreshed and the old access token still read /auth/me.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.accounts.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"
BEARER = {"HTTP_X_AUTH_MODE": "bearer"}
NEW_PASSWORD = "a brand new secret 9041"


def bearer_login(user: User, password: str) -> dict[str, str]:
    response = APIClient().post(LOGIN, {"email": user.email, "password": password}, format="json", **BEARER)
    assert response.status_code == 200, response.content
    return response.json()


def refresh(raw: str) -> int:
    return APIClient().post(REFRESH, {"refresh": raw}, format="json", **BEARER).status_code


def me(access: str) -> int:
    return APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def test_replaying_a_used_refresh_token_revokes_its_whole_family_and_is_logged(user, password, caplog):
    phone = bearer_login(user, password)
    laptop = bearer_login(user, password)  # another login: another family
    second = APIClient().post(REFRESH, {"refresh": phone["refresh"]}, format="json", **BEARER).json()
    third = APIClient().post(REFRESH, {"refresh": second["refresh"]}, format="json", **BEARER).json()

    with caplog.at_level(logging.WARNING, logger="apps.accounts.tokens"):
        assert refresh(phone["refresh"]) == 401  # the thief (or the victim) replays R1
    records = [r for r in caplog.records if getattr(r, "event", "") == "auth.refresh_reuse"]
    # Every token descended from R1 is dead, the newest included ...
    assert refresh(third["refresh"]) == 401
    # ... the other login is not.
    assert refresh(laptop["refresh"]) == 200
    assert len(records) == 1
    assert "1 live token(s) blacklisted" in records[0].getMessage()
    logged = records[0].getMessage()
    assert f"user {user.pk}" in logged
    for raw in (phone["refresh"], second["refresh"], third["refresh"]):
        assert raw not in logged


def test_password_change_revokes_every_refresh_and_access_token(client, user, password):
    first = bearer_login(user, password)
    second = bearer_login(user, password)
    assert me(first["access"]) == 200

    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302

    assert refresh(first["refresh"]) == 401
    assert refresh(second["refresh"]) == 401
    assert me(first["access"]) == 401  # the access token dies with the stamp, not 5 minutes later
    assert me(second["access"]) == 401
    outstanding = OutstandingToken.objects.filter(user=user)
    assert outstanding.count() == 2
    assert BlacklistedToken.objects.filter(token__in=outstanding).count() == 2
    # A login right after (the same second) works: the stamp is finer than a second.
    fresh = bearer_login(user, NEW_PASSWORD)
    assert me(fresh["access"]) == 200
    assert refresh(fresh["refresh"]) == 200


def test_password_reset_revokes_every_refresh_and_access_token(client, user, password):
    tokens = bearer_login(user, password)
    client.post(reverse("accounts:password_reset"), {"email": user.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)", mail.outbox[0].body)
    assert link
    confirm = client.get(link.group(1), follow=True)
    done = client.post(confirm.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert refresh(tokens["refresh"]) == 401
    assert me(tokens["access"]) == 401


def test_a_password_set_anywhere_else_kills_older_tokens_too(user, password):
    """The admin's password form and `manage.py changepassword` call set_password: the stamp moves with it."""
    tokens = bearer_login(user, password)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert me(tokens["access"]) == 401
    assert refresh(tokens["refresh"]) == 401


def test_cookie_access_token_is_checked_against_the_stamp(user, password):
    client = APIClient()
    assert client.post(LOGIN, {"email": user.email, "password": password}, format="json").status_code == 200
    assert client.get(ME).status_code == 200
    user.set_password(NEW_PASSWORD)
    user.save()
    assert client.get(ME).status_code == 401
