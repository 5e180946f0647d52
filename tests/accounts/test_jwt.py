"""API auth: JWT in HTTP-only cookies or bearer headers, one-use refresh tokens, CSRF, login rate limit."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.core import ratelimit

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
BEARER = {"HTTP_X_AUTH_MODE": "bearer"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits(user):
    # Counters live in Redis and outlive a test's database transaction.
    for ip in ("127.0.0.1", "10.1.1.1", "10.2.2.2"):
        ratelimit.reset(f"login:{ip}:{user.email}", settings.LOGIN_RATE_WINDOW_SECONDS)


def login(client: APIClient, user, password, **extra):
    return client.post(LOGIN, {"email": user.email, "password": password}, format="json", **extra)


def test_cookie_login_sets_http_only_lax_cookies_and_no_tokens_in_body(user, password):
    client = APIClient(enforce_csrf_checks=True)
    response = login(client, user, password)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["email"] == user.email and body["user"]["limits"]["guests_on_stage"] == 10
    assert "access" not in body and "refresh" not in body
    access = response.cookies[settings.JWT_ACCESS_COOKIE]
    refresh = response.cookies[settings.JWT_REFRESH_COOKIE]
    for cookie in (access, refresh):
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert not cookie["secure"]  # SECURE_COOKIES is off in tests
    assert refresh["path"] == "/api/v1/auth/"
    assert "csrftoken" in response.cookies
    assert response["Cache-Control"] == "no-store"
    assert client.get(ME).json()["email"] == user.email


def test_cookies_are_secure_when_configured(settings, user, password):
    settings.SECURE_COOKIES = True
    response = login(APIClient(), user, password)
    assert response.cookies[settings.JWT_ACCESS_COOKIE]["secure"] is True
    assert response.cookies[settings.JWT_REFRESH_COOKIE]["secure"] is True


def test_bearer_login_returns_tokens_and_sets_no_cookies(user, password):
    client = APIClient()
    response = login(client, user, password, **BEARER)
    assert response.status_code == 200
    body = response.json()
    assert body["access"] and body["refresh"]
    assert settings.JWT_ACCESS_COOKIE not in response.cookies
    fresh = APIClient()
    assert fresh.get(ME).status_code == 401
    assert fresh.get(ME, HTTP_AUTHORIZATION=f"Bearer {body['access']}").json()["id"] == user.id


def test_wrong_password_is_401_and_missing_fields_400(user):
    client = APIClient()
    response = login(client, user, "wrong password")
    assert response.status_code == 401
    assert response.json() == {"detail": "The email or password is incorrect."}
    response = client.post(LOGIN, {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


def test_login_accepts_json_only(user, password):
    """An HTML form on another site cannot post JSON, so it cannot log a victim in (login CSRF)."""
    response = APIClient().post(LOGIN, {"email": user.email, "password": password}, format="multipart")
    assert response.status_code == 415


def test_bearer_refresh_rotates_and_refuses_reuse(user, password):
    client = APIClient()
    first = login(client, user, password, **BEARER).json()
    response = client.post(REFRESH, {"refresh": first["refresh"]}, format="json", **BEARER)
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["refresh"] != first["refresh"] and second["access"]
    # The new one works, once.
    third = client.post(REFRESH, {"refresh": second["refresh"]}, format="json", **BEARER)
    assert third.status_code == 200
    assert client.post(REFRESH, {"refresh": second["refresh"]}, format="json", **BEARER).status_code == 401
    # Replaying a used one is refused, and ends the whole family (tests/accounts/test_token_revocation.py).
    replay = client.post(REFRESH, {"refresh": first["refresh"]}, format="json", **BEARER)
    assert replay.status_code == 401
    assert client.post(REFRESH, {"refresh": third.json()["refresh"]}, format="json", **BEARER).status_code == 401


def test_cookie_refresh_rotates_cookies_and_refuses_reuse(user, password):
    client = APIClient(enforce_csrf_checks=True)
    login(client, user, password)
    old_refresh = client.cookies[settings.JWT_REFRESH_COOKIE].value
    old_access = client.cookies[settings.JWT_ACCESS_COOKIE].value
    assert client.post(REFRESH, format="json").status_code == 403  # cookie mode needs the CSRF token
    response = client.post(REFRESH, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 200, response.content
    assert "refresh" not in response.json()
    assert response.cookies[settings.JWT_REFRESH_COOKIE].value != old_refresh
    assert response.cookies[settings.JWT_ACCESS_COOKIE].value != old_access

    thief = APIClient()
    thief.cookies[settings.JWT_REFRESH_COOKIE] = old_refresh
    assert thief.post(REFRESH, format="json").status_code == 401


def test_bearer_refresh_ignores_the_cookie(user, password):
    """A page script asking for bearer mode cannot trade the HTTP-only cookie for readable tokens."""
    client = APIClient()
    login(client, user, password)
    response = client.post(REFRESH, {}, format="json", **BEARER)
    assert response.status_code == 401


def test_garbage_refresh_is_401(db):
    response = APIClient().post(REFRESH, {"refresh": "not.a.token"}, format="json", **BEARER)
    assert response.status_code == 401


def test_logout_blacklists_and_clears_cookies(user, password):
    client = APIClient(enforce_csrf_checks=True)
    login(client, user, password)
    refresh = client.cookies[settings.JWT_REFRESH_COOKIE].value
    assert client.post(LOGOUT, format="json").status_code == 403  # no CSRF token: nothing happens
    response = client.post(LOGOUT, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 204
    assert response.cookies[settings.JWT_ACCESS_COOKIE].value == ""
    assert response.cookies[settings.JWT_REFRESH_COOKIE].value == ""
    again = APIClient()
    again.cookies[settings.JWT_REFRESH_COOKIE] = refresh
    assert again.post(REFRESH, format="json").status_code == 401


def test_bearer_logout_blacklists(user, password):
    client = APIClient()
    tokens = login(client, user, password, **BEARER).json()
    assert client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json", **BEARER).status_code == 204
    assert client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json", **BEARER).status_code == 401


def test_cookie_writes_need_the_csrf_token(user, password):
    client = APIClient(enforce_csrf_checks=True)
    login(client, user, password)
    # Reads need no token.
    assert client.get("/api/v1/streams/").status_code == 200
    refused = client.post("/api/v1/streams/", {"title": "CSRF"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    token = client.cookies["csrftoken"].value
    allowed = client.post("/api/v1/streams/", {"title": "CSRF"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code == 201, allowed.content


def test_bearer_writes_need_no_csrf_token(user, password):
    access = login(APIClient(), user, password, **BEARER).json()["access"]
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/streams/", {"title": "Mobile"}, format="json", HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    assert response.status_code == 201


def test_expired_or_forged_access_cookie_is_401(user):
    client = APIClient()
    client.cookies[settings.JWT_ACCESS_COOKIE] = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.forged"
    assert client.get(ME).status_code == 401


def test_login_is_rate_limited_per_ip_and_email(settings, user, password):
    settings.LOGIN_RATE_LIMIT = 3
    client = APIClient()
    for _ in range(3):
        assert login(client, user, "wrong", REMOTE_ADDR="10.1.1.1").status_code == 401
    limited = login(client, user, password, REMOTE_ADDR="10.1.1.1")  # even the right password
    assert limited.status_code == 429
    assert "Too many login attempts" in limited.json()["detail"]
    assert 1 <= int(limited["Retry-After"]) <= settings.LOGIN_RATE_WINDOW_SECONDS
    # Another address is counted on its own.
    assert login(client, user, password, REMOTE_ADDR="10.2.2.2").status_code == 200


def test_stale_access_cookie_does_not_hide_a_session(user, password):
    """Pages log in with a session; an expired API cookie in the same browser must not turn that into 401."""
    client = APIClient()
    client.force_login(user)
    client.cookies[settings.JWT_ACCESS_COOKIE] = "expired.or.garbage"
    assert client.get(ME).json()["id"] == user.id


def test_login_records_last_login(user, password):
    assert user.last_login is None
    login(APIClient(), user, password, **BEARER)
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.django_db(transaction=True)
def test_racing_refreshes_get_one_pair_between_them(user):
    """Two requests replaying one refresh token at the same moment: exactly one wins (row lock)."""
    import threading

    from django.db import connection
    from rest_framework_simplejwt.exceptions import InvalidToken

    from apps.accounts import tokens

    raw = tokens.issue_pair(user).refresh
    barrier = threading.Barrier(4)
    results: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=10)
            tokens.rotate(raw)
            results.append("ok")
        except InvalidToken:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["ok", "refused", "refused", "refused"]
