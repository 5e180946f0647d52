"""Fixtures for the deployment tests."""

from tests.support.browser import playwright_instance  # noqa: F401 - fixture
