"""Permissions matrix generated from the URL conf.

Every route under /api/v1/ is found by walking `streamus.api_urls`; every
HTTP method its view answers is called as the owner (→ 2xx), as another user
(→ 404, and nothing changes) and anonymously (→ 401). A new endpoint that is
not described in SPECS (or PUBLIC) fails `test_every_endpoint_is_covered`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, reverse
from PIL import Image
from rest_framework.test import APIClient

import streamus.api_urls
from apps.branding.models import BrandAsset
from apps.streams.models import Stream
from tests.factories import (
    BrandKitFactory,
    DestinationFactory,
    GuestFactory,
    RecordingFactory,
    StreamFactory,
    UserFactory,
)

# Routes anyone may call (the schema, the docs, and the ways to get a token).
PUBLIC = {"api-schema", "api-docs", "api-auth-login", "api-auth-refresh", "api-auth-logout"}


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_asset(owner: Any) -> BrandAsset:
    asset = BrandAsset(kit=BrandKitFactory(owner=owner), kind="logo", uid="matrix", content_type="image/png")
    asset.file.save("logo.png", ContentFile(png_bytes()), save=False)
    asset.save()
    return asset


@dataclass
class Spec:
    """How to build the object a route acts on, and what each method sends and expects from its owner."""

    make: Callable[[Any], Any] | None  # owner -> model instance (None: a collection route)
    calls: dict[str, tuple[dict[str, Any] | None, int]] = field(default_factory=dict)


SPECS: dict[str, Spec] = {
    "api-auth-me": Spec(None, {"get": (None, 200)}),
    "api-stream-list": Spec(None, {"get": (None, 200), "post": ({"title": "New"}, 201)}),
    "api-stream-detail": Spec(
        lambda owner: StreamFactory(owner=owner),
        {"get": (None, 200), "patch": ({"title": "Renamed"}, 200), "delete": (None, 204)},
    ),
    "api-stream-go-live": Spec(lambda owner: StreamFactory(owner=owner), {"post": (None, 200)}),
    "api-stream-end": Spec(lambda owner: StreamFactory(owner=owner, status=Stream.Status.LIVE), {"post": (None, 200)}),
    "api-stream-guests": Spec(
        lambda owner: StreamFactory(owner=owner), {"get": (None, 200), "post": ({"display_name": "Ada"}, 201)}
    ),
    "api-guest-detail": Spec(lambda owner: GuestFactory(stream__owner=owner), {"get": (None, 200)}),
    "api-guest-revoke": Spec(lambda owner: GuestFactory(stream__owner=owner), {"post": (None, 200)}),
    "api-guest-stage": Spec(lambda owner: GuestFactory(stream__owner=owner), {"post": (None, 200)}),
    "api-guest-backstage": Spec(lambda owner: GuestFactory(stream__owner=owner, on_stage=True), {"post": (None, 200)}),
    "api-stream-destinations": Spec(
        lambda owner: StreamFactory(owner=owner),
        {"get": (None, 200), "post": ({"platform": "youtube", "stream_key": "live_sk_matrix_0001"}, 201)},
    ),
    "api-destination-detail": Spec(
        lambda owner: DestinationFactory(stream__owner=owner),
        {"get": (None, 200), "patch": ({"name": "Main"}, 200), "delete": (None, 204)},
    ),
    "api-brand-kit-list": Spec(None, {"get": (None, 200), "post": ({"name": "Kit"}, 201)}),
    "api-brand-kit-detail": Spec(
        lambda owner: BrandKitFactory(owner=owner),
        {"get": (None, 200), "patch": ({"name": "Renamed kit"}, 200), "delete": (None, 204)},
    ),
    "api-brand-asset-detail": Spec(
        make_asset, {"get": (None, 200), "patch": ({"x": 0.5, "opacity": 0.8}, 200), "delete": (None, 204)}
    ),
    "api-brand-asset-file": Spec(make_asset, {"get": (None, 200)}),
    "api-recording-list": Spec(None, {"get": (None, 200)}),
    "api-recording-detail": Spec(
        lambda owner: RecordingFactory(stream__owner=owner),
        {"get": (None, 200), "patch": ({"title": "Best of"}, 200), "delete": (None, 204)},
    ),
    "api-recording-file": Spec(lambda owner: RecordingFactory(stream__owner=owner), {"get": (None, 200)}),
}


def api_routes() -> list[URLPattern]:
    return [p for p in streamus.api_urls.urlpatterns if isinstance(p, URLPattern)]


def methods_of(pattern: URLPattern) -> list[str]:
    view = pattern.callback.view_class  # type: ignore[attr-defined]
    return [m for m in view.http_method_names if m not in {"options", "head"} and hasattr(view, m)]


# Routes missing from SPECS are left out here and reported by test_every_endpoint_is_covered.
CASES = [(p.name, method) for p in api_routes() if p.name in SPECS for method in methods_of(p)]


def test_every_endpoint_is_covered():
    routes = {p.name: p for p in api_routes()}
    assert all(p.name for p in api_routes()), "every API route needs a name"
    missing = [name for name in routes if name not in PUBLIC and name not in SPECS]
    assert not missing, f"add these routes to SPECS: {missing}"
    for name, spec in SPECS.items():
        assert name in routes, f"{name} is in SPECS but not routed"
        assert sorted(spec.calls) == sorted(methods_of(routes[name])), name
        assert (spec.make is None) == ("pk" not in routes[name].pattern.converters), name
    assert len(CASES) >= 30  # the walk found the routes (guards against an empty parametrisation)


def url_for(name: str, obj: Any) -> str:
    return reverse(name, kwargs={"pk": obj.pk} if obj is not None else None)


def call(client: APIClient, method: str, url: str, payload: dict[str, Any] | None):
    return getattr(client, method)(url, payload, format="json") if payload is not None else getattr(client, method)(url)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), CASES)
def test_owner_gets_2xx(name, method):
    owner = UserFactory()
    spec = SPECS[name]
    obj = spec.make(owner) if spec.make else None
    payload, expected = spec.calls[method]
    client = APIClient()
    client.force_authenticate(owner)
    response = call(client, method, url_for(name, obj), payload)
    assert response.status_code == expected, (name, method, getattr(response, "content", b"")[:300])


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), [(n, m) for n, m in CASES if SPECS[n].make is not None])
def test_other_user_gets_404_and_changes_nothing(name, method):
    spec = SPECS[name]
    assert spec.make is not None
    obj = spec.make(UserFactory())
    before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    payload, _ = spec.calls[method]
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = call(client, method, url_for(name, obj), payload)
    assert response.status_code == 404, (name, method)
    after = type(obj)._default_manager.get(pk=obj.pk)  # still there
    assert {f.attname: getattr(after, f.attname) for f in obj._meta.concrete_fields} == before
    if name.startswith(("api-stream-guests", "api-stream-destinations")):
        assert not after.guests.exists() and not after.destinations.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), CASES)
def test_anonymous_gets_401(name, method):
    spec = SPECS[name]
    obj = spec.make(UserFactory()) if spec.make else None
    payload, _ = spec.calls[method]
    response = call(APIClient(), method, url_for(name, obj), payload)
    assert response.status_code == 401, (name, method)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_public_routes_answer_anonymously():
    client = APIClient()
    assert client.get(reverse("api-schema")).status_code == 200
    assert client.get(reverse("api-docs")).status_code == 200
