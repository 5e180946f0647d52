"""Security finding 11: web logout ends the API tokens too; old tokens and sessions are purged on a schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.accounts import tasks, tokens
from streamus.celery import app

pytestmark = pytest.mark.django_db


def test_web_logout_clears_the_jwt_cookies_and_revokes_the_refresh_token(client, user, password):
    # The browser logged in to the pages (session) and to the API (JWT cookies), as the studio does.
    assert client.post("/accounts/login/", {"username": user.email, "password": password}).status_code == 302
    api = APIClient()
    api.post("/api/v1/auth/login", {"email": user.email, "password": password}, format="json")
    for name in (settings.JWT_ACCESS_COOKIE, settings.JWT_REFRESH_COOKIE):
        client.cookies[name] = api.cookies[name].value
    refresh = api.cookies[settings.JWT_REFRESH_COOKIE].value

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response.cookies[settings.JWT_ACCESS_COOKIE].value == ""
    assert response.cookies[settings.JWT_REFRESH_COOKIE].value == ""
    assert response.cookies[settings.JWT_REFRESH_COOKIE]["path"] == "/api/v1/auth/"
    replay = APIClient().post("/api/v1/auth/refresh", {"refresh": refresh}, format="json", HTTP_X_AUTH_MODE="bearer")
    assert replay.status_code == 401


def test_expired_tokens_and_sessions_are_purged(user):
    live = tokens.issue_pair(user)
    expired = tokens.issue_pair(user)
    used = tokens.issue_pair(user)
    OutstandingToken.objects.filter(token=expired.refresh).update(expires_at=timezone.now() - timedelta(seconds=1))
    used_row = OutstandingToken.objects.get(token=used.refresh)
    BlacklistedToken.objects.create(token=used_row)
    OutstandingToken.objects.filter(pk=used_row.pk).update(expires_at=timezone.now() - timedelta(days=1))
    Session.objects.create(session_key="old" * 10, session_data="", expire_date=timezone.now() - timedelta(days=1))
    Session.objects.create(session_key="new" * 10, session_data="", expire_date=timezone.now() + timedelta(days=1))

    assert tasks.purge_expired_credentials() == {"tokens": 2, "sessions": 1}
    assert list(OutstandingToken.objects.values_list("token", flat=True)) == [live.refresh]
    assert not BlacklistedToken.objects.exists()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new" * 10]


def test_the_purge_runs_on_the_beat_schedule():
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "accounts.purge_expired_credentials"]
    assert len(entries) == 1
    assert entries[0]["schedule"] <= 24 * 3600
    app.loader.import_default_modules()
    assert "accounts.purge_expired_credentials" in app.tasks
