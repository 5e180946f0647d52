"""One way to fetch an object on behalf of a user: theirs, or 404.

Every model's QuerySet has `owned_by(user)`. Answering 404 (not 403) for
other people's objects means an id reveals nothing about who owns what.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

M = TypeVar("M", bound=Model)


def owned(queryset: QuerySet[M], user: Any) -> QuerySet[M]:
    """The part of `queryset` that `user` owns; nothing for anonymous users."""
    if user is None or not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset.owned_by(user)  # type: ignore[attr-defined]


def get_owned_or_404(queryset: QuerySet[M], user: Any, **lookup: Any) -> M:
    try:
        return owned(queryset, user).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        # ValueError/TypeError: a malformed id in the URL is "not found", not a 500.
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc


def ensure_owner(owner_id: int | None, by: Any) -> None:
    """Services check again what views already scoped: a second lock on the same door.

    `by=None` is the system itself (a Celery task, beat, a management command).
    """
    if by is None:
        return
    if not getattr(by, "is_authenticated", False) or by.pk != owner_id:
        raise PermissionDenied("You do not own this object.")
