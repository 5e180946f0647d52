"""The OpenAPI schema generates with no warnings and validates, declares its lists paginated, and says what the
server answers."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import requests
import yaml
from django.core.management import call_command

from apps.core.pagination import MAX_PAGE_SIZE
from tests.factories import DEFAULT_PASSWORD
from tests.support.openapi import checks_config


def test_schema_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    # --fail-on-warn turns any drf-spectacular warning (unresolvable serializer, enum clash...) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=StringIO())
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/streams/{id}/go-live/",
        "/api/v1/streams/{id}/destinations/",
        "/api/v1/guests/{id}/revoke/",
        "/api/v1/brand-kits/{id}/",
        "/api/v1/recordings/{id}/",
    ):
        assert path in paths, path
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtBearer"]["scheme"] == "bearer"
    assert schemes["jwtCookie"] == {"type": "apiKey", "in": "cookie", "name": "streamus_access"}
    # Either way in is enough (OR), not both (AND).
    assert {"jwtBearer": []} in paths["/api/v1/streams/"]["get"]["security"]
    assert paths["/api/v1/auth/login"]["post"].get("security") in (None, [], [{}])
    stream_key = schema["components"]["schemas"]["DestinationInput"]["properties"]["stream_key"]
    assert stream_key["writeOnly"] is True


# --- the schema against the server ------------------------------------------------------------------

# The seven collections, as the API answers them: {count, next, previous, results: [item]}.
PAGINATED = {
    "/api/v1/streams/": "StreamOutput",
    "/api/v1/brand-kits/": "BrandKitOutput",
    "/api/v1/clips/": "ClipOutput",
    "/api/v1/connections/": "ConnectedAccountOutput",
    "/api/v1/recordings/": "RecordingOutput",
    "/api/v1/streams/{id}/destinations/": "DestinationOutput",
    "/api/v1/streams/{id}/guests/": "GuestOutput",
}


def test_list_endpoints_are_declared_paginated(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target), stdout=StringIO())
    schema = yaml.safe_load(target.read_text())
    components = schema["components"]["schemas"]
    for path, item in PAGINATED.items():
        operation = schema["paths"][path]["get"]
        query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert set(query) >= {"limit", "offset"}, path
        # The page class caps `limit` (apps/core/pagination.py): a client learns the cap from the schema.
        assert f"at most {MAX_PAGE_SIZE}" in query["limit"]["description"], path
        page = components[operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
        properties = page["properties"]
        assert set(page["required"]) == {"count", "next", "previous", "results"}, path
        assert properties["count"]["type"] == "integer"
        assert properties["next"]["nullable"] and properties["previous"]["nullable"]
        assert properties["results"] == {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}, path


# A sample of operations, each driven to every answer its schema documents against the served app
# (the schemathesis run, tests/api/test_schemathesis.py, covers every operation with generated requests).
# The server runs with small limits so that 429 and 413 are quick to reach, and with a LiveKit URL where
# nothing listens (the studio room's 503); the run sees that operation's 200 with a real LiveKit.
SAMPLE_LIMITS = {"API_RATE_USER": "12/minute", "API_RATE_ANON": "12/minute", "UPLOAD_CHUNK_BYTES": str(256 * 1024)}
NOT_REACHED_HERE = {("POST", "/api/v1/streams/{id}/studio/rtc/"): {"200"}}


@pytest.fixture
def sample_server(web_factory, private_redis):
    from tests.support.live_server import free_port

    nobody = f"ws://127.0.0.1:{free_port()}"
    return web_factory(redis_url=private_redis.url, extra_env={**SAMPLE_LIMITS, "LIVEKIT_URL": nobody})


@pytest.fixture
def database_down_server(web_factory, private_redis):
    """The same app whose PostgreSQL cannot be reached (nothing listens at its address): every operation's 503."""
    from tests.support.live_server import free_port

    return web_factory(
        redis_url=private_redis.url,
        extra_env={"DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/streamus"},
    )


class Answers:
    """Requests to the server, each answer checked against what the schema documents for it."""

    def __init__(self, url: str) -> None:
        import schemathesis

        self.url = url
        raw = requests.get(url + "/api/v1/schema/", params={"format": "json"}, timeout=60).json()
        self.raw = raw
        config = schemathesis.Config.from_dict({"base-url": url, "checks": checks_config()})
        self.schema = schemathesis.openapi.from_dict(raw, config=config)
        self.seen: dict[tuple[str, str], set[str]] = {}

    def send(
        self, method: str, path: str, *, to: str | None = None, url: str | None = None, **kwargs
    ) -> requests.Response:
        """`method` on `to` (the path with its values), checked as an answer of the operation `path`.

        `url`: another server of the same app (the one whose database is down)."""
        response = requests.request(method, (url or self.url) + (to or path), timeout=60, **kwargs)
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path))
        match = re.fullmatch(pattern, to or path)
        assert match, (path, to)
        case = self.schema[path][method].Case(path_parameters=match.groupdict())
        case.validate_response(response)  # raises with the failed checks' report
        self.seen.setdefault((method, path), set()).add(str(response.status_code))
        return response

    def until_throttled(self, method: str, path: str, *, to: str | None = None, **kwargs) -> None:
        for _ in range(30):
            if self.send(method, path, to=to, **kwargs).status_code == 429:
                return
        raise AssertionError(f"{method} {path} was never throttled")

    def documented(self, method: str, path: str) -> set[str]:
        return set(self.raw["paths"][path][method.lower()]["responses"])


def login(url: str, email: str, *, bearer: bool = True) -> requests.Session:
    session = requests.Session()
    headers = {"X-Auth-Mode": "bearer"} if bearer else {}
    response = session.post(
        url + "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}, headers=headers, timeout=60
    )
    response.raise_for_status()
    if bearer:
        session.headers["Authorization"] = f"Bearer {response.json()['access']}"
    return session


@pytest.mark.django_db(transaction=True)
def test_sample_operations_give_every_documented_answer(sample_server, database_down_server):
    from apps.streams import services as stream_services
    from apps.streams.models import Stream
    from tests.factories import GuestFactory, StreamFactory, UserFactory

    api = Answers(sample_server.url)
    big = {"title": "x" * (1024 * 1024 + 1)}  # over REQUEST_BODY_MAX_API (1 MiB)

    # POST /auth/login: public, JSON only, limited per (address, email).
    login_path = "/api/v1/auth/login"
    user = UserFactory()
    api.send(
        "POST", login_path, json={"email": user.email, "password": DEFAULT_PASSWORD}, headers={"X-Auth-Mode": "bearer"}
    )
    api.send("POST", login_path, json={"email": "not an email"})
    api.send("POST", login_path, json={"email": user.email, "password": "wrong"})
    api.send("POST", login_path, json={"email": user.email, "password": "p" * (64 * 1024)})  # public limit 64 KiB
    api.send("POST", login_path, data={"email": user.email, "password": DEFAULT_PASSWORD})  # a form: 415
    api.until_throttled("POST", login_path, json={"email": "someone@example.com", "password": "guess"})

    # PATCH and HEAD /uploads/{id}/: the resumable upload protocol.
    upload_path = "/api/v1/uploads/{id}/"
    owner = login(sample_server.url, user.email)

    def new_upload(session: requests.Session = owner) -> tuple[str, int]:
        created = session.post(
            sample_server.url + "/api/v1/uploads/",
            json={"purpose": "clip", "size": 300_000, "filename": "a.mp4"},
            timeout=60,
        )
        assert created.status_code == 201, created.text
        return created.json()["id"], created.json()["chunk_size"]

    upload_id, chunk = new_upload()
    to = f"/api/v1/uploads/{upload_id}/"
    elsewhere = "/api/v1/uploads/8d1e7a43-0f4e-4f5e-9a55-3b1c0ad1c0de/"
    as_owner = dict(owner.headers)

    def chunk_at(offset: int | str, **headers: str) -> dict[str, str]:
        return {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset), **headers}

    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2".ljust(chunk, b"\x00")
    api.send("PATCH", upload_path, to=to, headers=chunk_at("x", **as_owner), data=b"")
    api.send("PATCH", upload_path, to=to, headers=chunk_at(0), data=b"\x00")  # no credentials
    api.send("PATCH", upload_path, to=elsewhere, headers=chunk_at(0, **as_owner), data=b"\x00")
    api.send(
        "PATCH", upload_path, to=to, headers={**chunk_at(0, **as_owner), "Content-Type": "text/plain"}, data=b"\x00"
    )
    api.send("PATCH", upload_path, to=to, headers=chunk_at(0, **as_owner), data=b"\x00" * (chunk + 1))
    api.send("PATCH", upload_path, to=to, headers=chunk_at(0, **as_owner), data=mp4)
    api.send("PATCH", upload_path, to=to, headers=chunk_at(0, **as_owner), data=b"\x00")  # the offset moved on: 409
    browser = login(sample_server.url, user.email, bearer=False)  # cookies, and no CSRF token sent: 403
    api.send("PATCH", upload_path, to=to, headers=chunk_at(chunk), cookies=browser.cookies, data=b"\x00")
    aborted, _ = new_upload()
    assert owner.delete(sample_server.url + f"/api/v1/uploads/{aborted}/", timeout=60).status_code == 204
    api.send("PATCH", upload_path, to=f"/api/v1/uploads/{aborted}/", headers=chunk_at(0, **as_owner), data=b"\x00")
    head = api.send("HEAD", upload_path, to=to, headers=as_owner)
    assert head.headers["Upload-Offset"] == str(chunk) and head.headers["Upload-Length"] == "300000"
    api.send("HEAD", upload_path, to=to)
    api.send("HEAD", upload_path, to=elsewhere, headers=as_owner)
    hurried = login(sample_server.url, UserFactory().email)
    hurried_upload, _ = new_upload(hurried)
    api.until_throttled(
        "PATCH",
        upload_path,
        to=f"/api/v1/uploads/{hurried_upload}/",
        headers=chunk_at(7, **hurried.headers),
        data=b"\x00",
    )
    api.until_throttled("HEAD", upload_path, to=f"/api/v1/uploads/{hurried_upload}/", headers=dict(hurried.headers))

    # POST /join/{token}/: a guest's seat; the invite token is the credential.
    join_path = "/api/v1/join/{token}/"
    stream = StreamFactory(owner=user)
    _, token = stream_services.guest_invite(stream=stream, by=user, display_name="Ada")
    revoked, revoked_token = stream_services.guest_invite(stream=stream, by=user, display_name="Bo")
    revoked.revoked_at = revoked.created_at
    revoked.save(update_fields=["revoked_at"])
    api.send("POST", join_path, to=f"/api/v1/join/{token}/", json={"display_name": "Ada"})
    api.send("POST", join_path, to=f"/api/v1/join/{token}/", json={"display_name": ""})
    api.send("POST", join_path, to="/api/v1/join/no-such-invite/", json={"display_name": "Ada"})
    api.send("POST", join_path, to=f"/api/v1/join/{revoked_token}/", json={"display_name": "Bo"})
    api.send("POST", join_path, to=f"/api/v1/join/{token}/", json=big)
    api.send("POST", join_path, to=f"/api/v1/join/{token}/", data={"display_name": "Ada"})
    api.until_throttled("POST", join_path, to=f"/api/v1/join/{token}/", json={"display_name": "Ada"})

    # POST /streams/{id}/studio/rtc/: LiveKit is down here (503); an ended show cannot open its room (400).
    rtc_path = "/api/v1/streams/{id}/studio/rtc/"
    presenter = UserFactory()
    on_air = f"/api/v1/streams/{StreamFactory(owner=presenter).pk}/studio/rtc/"
    host = dict(login(sample_server.url, presenter.email).headers)
    ended = StreamFactory(owner=presenter, status=Stream.Status.ENDED)
    api.send("POST", rtc_path, to=on_air, headers=host)
    api.send("POST", rtc_path, to=f"/api/v1/streams/{ended.pk}/studio/rtc/", headers=host)
    api.send("POST", rtc_path, to=on_air)
    api.send("POST", rtc_path, to=on_air, cookies=login(sample_server.url, presenter.email, bearer=False).cookies)
    api.send("POST", rtc_path, to=f"/api/v1/streams/{stream.pk}/studio/rtc/", headers=host)  # not theirs
    api.until_throttled("POST", rtc_path, to=on_air, headers=host)

    # GET /streams/{id}/guests/: a page of the stream's guests (someone whose requests were not throttled yet).
    guests_path = "/api/v1/streams/{id}/guests/"
    curator = UserFactory()
    show = StreamFactory(owner=curator)
    GuestFactory.create_batch(3, stream=show)
    reader = dict(login(sample_server.url, curator.email).headers)
    listed = f"/api/v1/streams/{show.pk}/guests/"
    page = api.send("GET", guests_path, to=listed, params={"limit": 1}, headers=reader).json()
    assert (page["count"], len(page["results"]), page["previous"]) == (3, 1, None) and page["next"]
    api.send("GET", guests_path, to=listed)
    api.send("GET", guests_path, to=f"/api/v1/streams/{stream.pk}/guests/", headers=reader)  # not theirs
    api.until_throttled("GET", guests_path, to=listed, headers=reader)

    # Each of them while the database cannot be reached: 503, the same JSON error, Retry-After.
    down = database_down_server.url
    outage = [
        api.send("POST", login_path, url=down, json={"email": "down@example.com", "password": DEFAULT_PASSWORD}),
        api.send("PATCH", upload_path, url=down, to=to, headers=chunk_at(chunk, **as_owner), data=b"\x00"),
        api.send("HEAD", upload_path, url=down, to=to, headers=as_owner),
        api.send("POST", join_path, url=down, to=f"/api/v1/join/{token}/", json={"display_name": "Ada"}),
        api.send("POST", rtc_path, url=down, to=on_air, headers=host),
        api.send("GET", guests_path, url=down, to=listed, headers=reader),
    ]
    assert [(r.status_code, r.headers.get("Retry-After")) for r in outage] == [(503, "5")] * 6

    for (method, path), seen in api.seen.items():
        expected = api.documented(method, path) - NOT_REACHED_HERE.get((method, path), set())
        assert seen == expected, f"{method} {path}: documented {sorted(expected)}, answered {sorted(seen)}"
    assert len(api.seen) == 6
