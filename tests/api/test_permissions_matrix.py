"""Permissions matrix generated from the URL conf.

Every route under /api/v1/ is found by walking `streamus.api_urls`; every
HTTP method its view answers is called as the owner (→ 2xx), as another user
(→ 404, and nothing changes) and anonymously (→ 401). A new endpoint that is
not described in SPECS (or PUBLIC) fails `test_every_endpoint_is_covered`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, reverse
from rest_framework.test import APIClient

import streamus.api_urls
from apps.streams.models import Stream
from tests.factories import (
    BrandKitFactory,
    DestinationFactory,
    GuestFactory,
    RecordingFactory,
    StreamFactory,
    UserFactory,
    make_account,
    make_asset,
    make_upload,
    png_bytes,
    ready_clip,
)

# Routes anyone may call (the schema, the docs, and the ways to get a token), and a guest's own seat, where
# the invite token in the path is the credential (tests/studio/test_seat_api.py and tests/matrix cover those).
PUBLIC = {"api-schema", "api-docs", "api-auth-login", "api-auth-refresh", "api-auth-logout"}
INVITE_TOKEN = {
    "api-join",
    "api-join-room",
    "api-join-mute",
    "api-join-unmute-request",
    "api-join-share",
    "api-join-chat",
    "api-join-chat-line",
}


# A request body: a dict is sent as JSON; a callable builds the client call's keyword arguments from the object.
Payload = dict[str, Any] | Callable[[Any], dict[str, Any]] | None

MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def first_chunk(session: Any) -> dict[str, Any]:
    """One full chunk that starts like an MP4."""
    return {
        "data": MP4_HEAD.ljust(session.chunk_bytes, b"\x00"),
        "content_type": "application/offset+octet-stream",
        "headers": {"Upload-Offset": "0", "Upload-Length": str(session.total_bytes)},
    }


def png_upload(_obj: Any) -> dict[str, Any]:
    upload = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    return {"data": {"kind": "logo", "file": upload}, "format": "multipart"}


def platform_destination(account: Any) -> dict[str, Any]:
    return {"data": {"stream": StreamFactory(owner=account.owner).pk}, "format": "json"}


@dataclass
class Spec:
    """How to build the object a route acts on, and what each method sends and expects from its owner."""

    make: Callable[[Any], Any] | None  # owner -> model instance (None: a collection route)
    calls: dict[str, tuple[Payload, int]] = field(default_factory=dict)
    path: dict[str, str] = field(default_factory=dict)  # the route's other path arguments, besides pk


SPECS: dict[str, Spec] = {
    "api-auth-me": Spec(None, {"get": (None, 200)}),
    "api-stream-list": Spec(None, {"get": (None, 200), "post": ({"title": "New"}, 201)}),
    "api-stream-detail": Spec(
        lambda owner: StreamFactory(owner=owner),
        {"get": (None, 200), "patch": ({"title": "Renamed"}, 200), "delete": (None, 204)},
    ),
    "api-stream-go-live": Spec(lambda owner: StreamFactory(owner=owner), {"post": (None, 200)}),
    "api-stream-scene": Spec(
        lambda owner: StreamFactory(owner=owner),
        {"get": (None, 200), "put": ({"layout": "grid"}, 200), "patch": ({"banner_text": "Hello"}, 200)},
    ),
    "api-stream-playback": Spec(
        lambda owner: StreamFactory(owner=owner),
        {
            "post": (lambda stream: {"data": {"clip": ready_clip(stream.owner).pk}, "format": "json"}, 201),
            "delete": (None, 200),
        },
    ),
    "api-stream-end": Spec(lambda owner: StreamFactory(owner=owner, status=Stream.Status.LIVE), {"post": (None, 200)}),
    "api-stream-guests": Spec(
        lambda owner: StreamFactory(owner=owner), {"get": (None, 200), "post": ({"display_name": "Ada"}, 201)}
    ),
    "api-guest-detail": Spec(
        lambda owner: GuestFactory(stream__owner=owner),
        {"get": (None, 200), "patch": ({"display_name": "Ada L."}, 200)},
    ),
    "api-guest-revoke": Spec(lambda owner: GuestFactory(stream__owner=owner), {"post": (None, 200)}),
    "api-guest-stage": Spec(lambda owner: GuestFactory(stream__owner=owner), {"post": (None, 200)}),
    "api-guest-backstage": Spec(lambda owner: GuestFactory(stream__owner=owner, on_stage=True), {"post": (None, 200)}),
    "api-guest-mute": Spec(lambda owner: GuestFactory(stream__owner=owner), {"post": ({"audio": False}, 200)}),
    "api-guest-remove": Spec(lambda owner: GuestFactory(stream__owner=owner), {"post": (None, 204)}),
    "api-stream-studio": Spec(lambda owner: StreamFactory(owner=owner), {"get": (None, 200)}),
    # Needs a LiveKit server to answer 2xx: the test starts one for this route (NEEDS_LIVEKIT).
    "api-stream-studio-room": Spec(lambda owner: StreamFactory(owner=owner), {"post": (None, 200)}),
    "api-stream-chat": Spec(
        lambda owner: StreamFactory(owner=owner), {"get": (None, 200), "post": ({"text": "Ready in five"}, 201)}
    ),
    # Deleting a line is idempotent: a line already gone answers 204 too.
    "api-stream-chat-line": Spec(
        lambda owner: StreamFactory(owner=owner), {"delete": (None, 204)}, path={"message_id": "0123abcd"}
    ),
    "api-stream-destinations": Spec(
        lambda owner: StreamFactory(owner=owner),
        {"get": (None, 200), "post": ({"platform": "youtube", "stream_key": "live_sk_matrix_0001"}, 201)},
    ),
    "api-destination-detail": Spec(
        lambda owner: DestinationFactory(stream__owner=owner),
        {"get": (None, 200), "patch": ({"name": "Main"}, 200), "delete": (None, 204)},
    ),
    "api-destination-live": Spec(
        lambda owner: DestinationFactory(stream__owner=owner, stream__status=Stream.Status.LIVE),
        {"post": (None, 202), "delete": (None, 202)},
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
    # connected platform accounts
    "api-connection-list": Spec(None, {"get": (None, 200)}),
    "api-connection-detail": Spec(make_account, {"get": (None, 200), "delete": (None, 204)}),
    "api-connection-destinations": Spec(make_account, {"post": (platform_destination, 201)}),
    # media library and uploads
    "api-upload-list": Spec(None, {"post": ({"purpose": "clip", "size": 1000, "filename": "a.mp4"}, 201)}),
    "api-upload-detail": Spec(make_upload, {"get": (None, 200), "patch": (first_chunk, 200), "delete": (None, 204)}),
    "api-clip-list": Spec(None, {"get": (None, 200)}),
    "api-clip-detail": Spec(ready_clip, {"get": (None, 200), "delete": (None, 204)}),
    "api-clip-file": Spec(ready_clip, {"get": (None, 200)}),
    "api-storage-usage": Spec(None, {"get": (None, 200)}),
    "api-brand-asset-upload": Spec(lambda owner: BrandKitFactory(owner=owner), {"post": (png_upload, 201)}),
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
    missing = [name for name in routes if name not in PUBLIC | INVITE_TOKEN and name not in SPECS]
    assert not missing, f"add these routes to SPECS: {missing}"
    for name, spec in SPECS.items():
        assert name in routes, f"{name} is in SPECS but not routed"
        assert sorted(spec.calls) == sorted(methods_of(routes[name])), name
        assert (spec.make is None) == ("pk" not in routes[name].pattern.converters), name
    assert len(CASES) >= 30  # the walk found the routes (guards against an empty parametrisation)


def url_for(name: str, obj: Any) -> str:
    return reverse(name, kwargs={"pk": obj.pk, **SPECS[name].path} if obj is not None else None)


def call(client: APIClient, method: str, url: str, payload: Payload, obj: Any):
    if payload is None:
        return getattr(client, method)(url)
    kwargs = payload(obj) if callable(payload) else {"data": payload, "format": "json"}
    return getattr(client, method)(url, **kwargs)


NEEDS_LIVEKIT = {"api-stream-studio-room"}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method"), CASES)
def test_owner_gets_2xx(name, method, request):
    if name in NEEDS_LIVEKIT:
        request.getfixturevalue("livekit")
    owner = UserFactory()
    spec = SPECS[name]
    obj = spec.make(owner) if spec.make else None
    payload, expected = spec.calls[method]
    client = APIClient()
    client.force_authenticate(owner)
    response = call(client, method, url_for(name, obj), payload, obj)
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
    response = call(client, method, url_for(name, obj), payload, obj)
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
    response = call(APIClient(), method, url_for(name, obj), payload, obj)
    assert response.status_code == 401, (name, method)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_public_routes_answer_anonymously():
    client = APIClient()
    assert client.get(reverse("api-schema")).status_code == 200
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200
    html = docs.content.decode()
    # Served from our static files, with no inline script, so CSP script-src 'self' lets it run.
    assert "cdn." not in html and "<script>" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
