"""Security finding 11: `?limit=` has a maximum, so one request cannot ask for every row there is."""

from __future__ import annotations

import pytest

from apps.core.pagination import MAX_PAGE_SIZE
from apps.streams.models import Stream

pytestmark = pytest.mark.django_db


def test_limit_is_capped(user_api, user):
    Stream.objects.bulk_create([Stream(owner=user, title=f"Show {n}") for n in range(MAX_PAGE_SIZE + 5)])
    body = user_api.get("/api/v1/streams/?limit=1000000").json()
    assert body["count"] == MAX_PAGE_SIZE + 5
    assert len(body["results"]) == MAX_PAGE_SIZE
    assert "limit=" + str(MAX_PAGE_SIZE) in body["next"]
    assert len(user_api.get("/api/v1/streams/?limit=7").json()["results"]) == 7
    assert len(user_api.get("/api/v1/streams/").json()["results"]) == 50  # the default page
