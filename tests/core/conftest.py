"""Fixtures for tests/core: a real web process (Daphne) for the request-limit tests."""

from tests.support.live_server import web, web_factory  # noqa: F401 - fixtures
