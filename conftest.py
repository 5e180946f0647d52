"""Shared fixtures: users and a logged-in client for each side of the product."""

from __future__ import annotations

import sys

import pytest
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, StreamFactory, UserFactory

# Real-service fixtures any test may use (each starts its server lazily, on free ports).
pytest_plugins = [
    "tests.support.livekit",
    "tests.support.s3",
    "tests.support.live_server",
    "tests.support.browser",
    "tests.support.compositor",
    "tests.support.celery_worker",
    "tests.support.rtmp",
    "tests.support.media",
    "tests.support.sockets",
    "tests.support.studio",
]


@pytest.fixture(scope="session", autouse=True)
def _no_stray_database_sessions(django_db_setup, django_db_blocker):
    """At the end of the run, name and end any session a leftover thread still holds on the test database.

    A daemon thread that used the ORM keeps its connection open (Django's connections are per thread), and
    PostgreSQL then refuses to drop the test database. Its last statement says whose thread it was.
    """
    yield
    from django.db import OperationalError, connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        try:
            cursor = connection.cursor()
        except OperationalError:
            return  # no test of this run used the database, so none was created
    with django_db_blocker.unblock(), cursor:
        cursor.execute(
            "SELECT pid, state, left(query, 300) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for pid, state, query in cursor.fetchall():
            # Past pytest's capture: this is for whoever reads the run's output.
            sys.__stderr__.write(f"\nstray database session {pid} ({state}), last statement: {query}\n")
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_earlier_media_workers(settings):
    """Forget the capacity records of media workers earlier tests started: they outlive their worker for a
    minute (apps/shows/capacity.py), and a go-live check would be judged against a worker that is gone. A test
    that wants measurements starts its own worker (tests/support/media.py), after this has run."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
    try:
        stale = list(client.scan_iter("media:capacity:*"))
        if stale:
            client.delete(*stale)
    except redis.ConnectionError:
        pass  # no Redis for this test: nothing to forget
    finally:
        client.close()


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
