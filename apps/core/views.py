from __future__ import annotations

import hmac
import ipaddress

import redis
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and answering."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Dependencies this process needs to serve are reachable."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


def _loopback(request: HttpRequest) -> bool:
    """The TCP peer itself is on this host (never a forwarded header: a proxy in front is not loopback)."""
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: HttpRequest) -> bool:
    """The bearer of METRICS_TOKEN, or (outside production) a client on this host."""
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    return settings.ENVIRONMENT != "production" and _loopback(request)


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """This web process's Prometheus metrics (apps/core/metrics.py). Anyone else: 404, as if absent."""
    if not metrics_allowed(request):
        raise Http404
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


# --- app links: the https join URL opens the mobile app when it is installed ----------------


@require_GET
def apple_app_site_association(request: HttpRequest) -> JsonResponse:
    """iOS universal links: /join/* opens the app whose Team ID.bundle id is in MOBILE_IOS_APP_IDS."""
    if not settings.MOBILE_IOS_APP_IDS:
        raise Http404("No iOS app is configured.")
    details = [{"appIDs": list(settings.MOBILE_IOS_APP_IDS), "components": [{"/": "/join/*"}]}]
    return JsonResponse({"applinks": {"details": details}})


@require_GET
def android_asset_links(request: HttpRequest) -> JsonResponse:
    """Android App Links: the app MOBILE_ANDROID_PACKAGE, signed with one of MOBILE_ANDROID_CERT_SHA256."""
    if not settings.MOBILE_ANDROID_PACKAGE or not settings.MOBILE_ANDROID_CERT_SHA256:
        raise Http404("No Android app is configured.")
    statement = {
        "relation": ["delegate_permission/common.handle_all_urls"],
        "target": {
            "namespace": "android_app",
            "package_name": settings.MOBILE_ANDROID_PACKAGE,
            "sha256_cert_fingerprints": list(settings.MOBILE_ANDROID_CERT_SHA256),
        },
    }
    return JsonResponse([statement], safe=False)


API_PREFIX = "/api/"


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for a URL nothing routes: JSON under /api/ (what API clients parse), the page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Something went wrong on our side; it has been reported."}, status=500)
    return defaults.server_error(request)
