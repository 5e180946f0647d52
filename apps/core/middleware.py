from __future__ import annotations

import contextvars
import logging
import re
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from . import metrics
from .logging import bind_ids, new_request_id, request_id_var

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9\-]{8,64}$")

GetResponse = Callable[[HttpRequest], HttpResponseBase] | Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class _Middleware:
    """Sync or async, whichever the chain is: under Daphne no request takes a thread hop for us."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        return self._call(request)

    def _call(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError


class MetricsMiddleware(_Middleware):
    """Counts every response by view (URL name), method and status, and times it (apps/core/metrics.py).

    First in the chain, so the time covers every middleware. Ours rather than django-prometheus's:
    those are MiddlewareMixin classes, which under Daphne run each process_request/process_response
    through sync_to_async (two thread hops per middleware per request, the hop this chain avoids),
    and record a dozen families where the dashboards need two.
    """

    def _record(self, request: HttpRequest, response: HttpResponseBase, started: float) -> None:
        view = "static" if request.path.startswith(settings.STATIC_URL) else metrics.view_label(request)
        method = request.method if request.method in _METHODS else "other"
        metrics.HTTP_REQUESTS.labels(view, method, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(view, method).observe(time.perf_counter() - started)

    def _call(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        self._record(request, response, started)  # type: ignore[arg-type]
        return response  # type: ignore[return-value]

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = await self.get_response(request)  # type: ignore[misc]
        self._record(request, response, started)
        return response  # type: ignore[no-any-return]


class DatabaseUnavailableMiddleware(_Middleware):
    """A page whose database cannot be reached (restarting, failing over) answers 503 with a plain sentence and
    Retry-After, not a server error: services write in one transaction, so nothing was half-saved. The API's
    own handler says the same in JSON (apps/core/rest.py)."""

    def _call(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)  # type: ignore[return-value]

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return await self.get_response(request)  # type: ignore[misc,no-any-return]

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.db import DatabaseError

        from .rest import DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE

        if not isinstance(exception, DatabaseError):
            return None
        log.warning("%s %s: database unavailable (%s)", request.method, request.path, type(exception).__name__)
        response = HttpResponse(DATABASE_UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestIdMiddleware(_Middleware):
    """Tag every request (and its log lines, the tasks it queues, its error reports) with an id; echo it
    in X-Request-ID."""

    def _begin(self, request: HttpRequest) -> contextvars.Token[str]:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        bind_ids(request_id=request_id)  # the Sentry tag (the context variable is set above)
        return token

    def _call(self, request: HttpRequest) -> HttpResponseBase:
        token = self._begin(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined,index]
        return response  # type: ignore[return-value]

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        token = self._begin(request)
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response  # type: ignore[no-any-return]


def livekit_origins(url: str) -> str:
    """The LiveKit server as CSP sources: its websocket origin and the HTTP(S) one its client also calls."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    secure = parts.scheme in {"wss", "https"}
    return f"{'wss' if secure else 'ws'}://{netloc} {'https' if secure else 'http'}://{netloc}"


@lru_cache(maxsize=8)
def content_security_policy(template: str, livekit_url: str) -> str:
    return template.replace("{livekit}", livekit_origins(livekit_url)).replace("  ", " ")


def _policy() -> str:
    # The URL browsers are given for LiveKit (apps/studio/services.py): the public one when it is set.
    return content_security_policy(
        settings.CONTENT_SECURITY_POLICY, settings.LIVEKIT_PUBLIC_URL or settings.LIVEKIT_URL
    )


class ContentSecurityPolicyMiddleware(_Middleware):
    def _call(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", _policy())  # type: ignore[union-attr]
        return response  # type: ignore[return-value]

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = await self.get_response(request)  # type: ignore[misc]
        response.headers.setdefault("Content-Security-Policy", _policy())
        return response  # type: ignore[no-any-return]


class ApiCorsMiddleware(_Middleware):
    """Let a web build of the app on another origin call the API, in bearer mode only.

    Only origins listed in API_CORS_ORIGINS (empty by default: no CORS at all) and only
    /api/v1/. Credentials are never allowed (no Access-Control-Allow-Credentials), so a page
    on such an origin cannot ride on someone's API cookies: it must sign in with
    `X-Auth-Mode: bearer` and send `Authorization: Bearer ...`, which CSRF cannot forge.
    Native apps send no CORS requests and need none of this.
    """

    PREFIX = "/api/v1/"
    ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    ALLOW_HEADERS = "authorization, content-type, x-auth-mode, x-request-id"
    MAX_AGE_SECONDS = "600"

    def _allowed_origin(self, request: HttpRequest) -> str:
        origin = request.headers.get("Origin", "")
        if origin and request.path.startswith(self.PREFIX) and origin in settings.API_CORS_ORIGINS:
            return origin
        return ""

    def _preflight(self, request: HttpRequest, origin: str) -> HttpResponseBase | None:
        if not origin or request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = self.ALLOW_METHODS
        response["Access-Control-Allow-Headers"] = self.ALLOW_HEADERS
        response["Access-Control-Max-Age"] = self.MAX_AGE_SECONDS
        return response

    def _finish(self, request: HttpRequest, response: HttpResponseBase, origin: str) -> HttpResponseBase:
        if origin:
            response["Access-Control-Allow-Origin"] = origin
        if request.path.startswith(self.PREFIX):
            response["Vary"] = ", ".join(filter(None, [response.get("Vary", ""), "Origin"]))
        return response

    def _call(self, request: HttpRequest) -> HttpResponseBase:
        origin = self._allowed_origin(request)
        response = self._preflight(request, origin) or self.get_response(request)
        return self._finish(request, response, origin)  # type: ignore[arg-type]

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        origin = self._allowed_origin(request)
        response = self._preflight(request, origin) or await self.get_response(request)  # type: ignore[misc]
        return self._finish(request, response, origin)
