"""Helpers every HTML view shares: the form-error status, toasts in an HTMX answer, the creator's time zone."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_htmx.http import trigger_client_event

TZ_COOKIE = "streamus_tz"  # set by static/src/app.js from the browser's Intl time zone
INVALID = 422


def with_user_timezone(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render and parse times in the creator's zone (from the browser), UTC when unknown."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            zone = ZoneInfo(request.COOKIES.get(TZ_COOKIE, "") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        with timezone.override(zone):
            return view(request, *args, **kwargs)

    return wrapper


def toast(request: HttpRequest, response: HttpResponse, text: str, level: str = "success") -> HttpResponse:
    """Tell the creator what happened: a toast event for HTMX, a flash message for a full page."""
    if request.htmx:  # type: ignore[attr-defined]
        return trigger_client_event(response, "streamus:toast", {"text": text, "level": level})
    getattr(messages, level if level in {"success", "info", "warning", "error"} else "info")(request, text)
    return response
