"""API helpers shared by every app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import exceptions, serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

if TYPE_CHECKING:
    from apps.accounts.models import User


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Services raise Django's ValidationError; the API answers it as a 400 with field messages."""
    if isinstance(exc, DjangoValidationError):
        if getattr(exc, "code", None) == "rate_limited":  # a service's rate limit is a 429, not a 400
            exc = exceptions.Throttled(detail=" ".join(exc.messages))
        elif hasattr(exc, "message_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": exc.messages})
    return drf_exception_handler(exc, context)


def paginated_response(
    *, queryset: QuerySet[Any], serializer_class: type[serializers.BaseSerializer], request: Request, view: APIView
) -> Response:
    """A list endpoint's answer: limit/offset pages, like the generic views give."""
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    context = {"request": request}
    if page is None:  # pragma: no cover - PAGE_SIZE is always set
        return Response(serializer_class(queryset, many=True, context=context).data)
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context).data)


def request_user(request: Request) -> User:
    """The signed-in user of an API request (views run behind IsAuthenticated)."""
    if not request.user.is_authenticated:  # pragma: no cover - the permission class answers first
        raise exceptions.NotAuthenticated()
    return cast("User", request.user)
