"""The API's page class, apart from apps.core.rest: DRF's settings import it while drf-spectacular loads."""

from __future__ import annotations

from rest_framework import pagination

# The most rows one page may hold, whatever `?limit=` asks: a page costs its rows in queries and memory.
MAX_PAGE_SIZE = 200


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=&offset=` pages (PAGE_SIZE by default), never more than MAX_PAGE_SIZE rows."""

    max_limit = MAX_PAGE_SIZE
