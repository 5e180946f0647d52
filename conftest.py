"""Shared fixtures: users and a logged-in client for each side of the product."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, StreamFactory, UserFactory

# Real-service fixtures any test may use (each starts its server lazily, on free ports).
pytest_plugins = ["tests.support.livekit", "tests.support.s3"]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def stream(user):
    return StreamFactory(owner=user)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user_api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api
