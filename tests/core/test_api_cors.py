"""CORS for a web build of the mobile app on another origin: listed origins, /api/v1/ only, never credentials."""

from __future__ import annotations

import pytest

from apps.accounts import tokens

APP = "http://127.0.0.1:19006"
pytestmark = pytest.mark.django_db


@pytest.fixture
def cors(settings):
    settings.API_CORS_ORIGINS = [APP]
    return settings


def test_preflight_of_a_listed_origin_allows_bearer_headers_without_credentials(client, cors):
    response = client.options(
        "/api/v1/streams/",
        HTTP_ORIGIN=APP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == APP
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "x-auth-mode" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_bearer_request_from_a_listed_origin_is_readable(client, cors, user):
    access = tokens.issue_pair(user).access
    response = client.get("/api/v1/auth/me", HTTP_ORIGIN=APP, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    assert response.json()["email"] == user.email
    assert response["Access-Control-Allow-Origin"] == APP
    assert "Origin" in response["Vary"]
    assert "Access-Control-Allow-Credentials" not in response


def test_other_origins_and_other_paths_get_nothing(client, cors):
    response = client.options(
        "/api/v1/streams/", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in response
    page = client.get("/accounts/login/", HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in page


def test_off_by_default(client, user):
    access = tokens.issue_pair(user).access
    response = client.get("/api/v1/auth/me", HTTP_ORIGIN=APP, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
