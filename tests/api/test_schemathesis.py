"""Schemathesis against the running product: every operation of /api/v1/schema/, no 5xx, answers as documented.

The web process is the one the Procfile starts (Daphne serving `streamus.asgi:application`, the
`web_factory` fixture), with a real LiveKit and a Redis of its own behind it, signed in as a creator through the real login
(`X-Auth-Mode: bearer`). The creator owns one of everything, so generated requests reach the 2xx
paths: every `{id}` / `{token}` in a path is pinned to one of their objects (`path_values`; a guest's
`{token}` is the invite link of a joined guest, or of one the host muted for the unmute request, or of a
moderator for deleting a chat line), and
body fields that name an object draw it from what they own half the time (`BODY_REFERENCES`).
Bodies, queries and headers are otherwise generated, valid and invalid, from the schema.

Checks on every response (tests/support/openapi.py): not_a_server_error (a 503 only where documented:
the media server down), status_code_conformance (the code is documented), content_type_conformance,
response_schema_conformance (the body matches what is documented for that code) and
response_headers_conformance (documented headers are there and valid).

Bounds, on a loaded 2-core machine: each operation gets the examples phase, the coverage phase
(deterministic: every boundary, enum value, missing field and wrong type the schema implies, and
requests without or with broken credentials) and FUZZ_EXAMPLES generated requests, with a fixed seed,
derandomized Hypothesis, no shrinking and no example database, so every run sends the same requests.
About 2,700 requests in all.

Destructive operations never take away what later operations need: deleting, removing, revoking and
going live or ending each act on an object of their own (`CONSUMED`), so the order of operations does
not matter. Logout only revokes the refresh token it is sent (generated ones); the run authenticates
with access tokens, and logs in again every few minutes (access tokens live five).
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from django.utils import timezone

from apps.engagement.models import Comment
from apps.streams import services as stream_services
from apps.streams.models import Guest, Stream
from apps.studio import services as studio_services
from tests.factories import (
    DEFAULT_PASSWORD,
    BrandKitFactory,
    DestinationFactory,
    RecordingFactory,
    StreamFactory,
    UserFactory,
    make_account,
    make_asset,
    make_upload,
    ready_clip,
)
from tests.support.openapi import checks_config

pytestmark = [pytest.mark.livekit]

# Generated requests per operation after the deterministic phases, which already walk every
# documented value, bound and type error: a few more random-shaped bodies find what those miss.
FUZZ_EXAMPLES = 5
SEED = 20260213
# Re-login before the access token (5 minutes) runs out.
TOKEN_REFRESH_SECONDS = 240

# The first path segment after /api/v1/ → the kind of object its {id} names.
RESOURCES = {
    "streams": "stream",
    "guests": "guest",
    "destinations": "destination",
    "brand-kits": "brand_kit",
    "brand-assets": "brand_asset",
    "clips": "clip",
    "recordings": "recording",
    "connections": "connection",
    "comments": "comment",
    "uploads": "upload",
}
# Operations that use up their object get one of their own ("<kind>:<purpose>"), so what runs after
# them still finds the creator's main objects as they were.
CONSUMED = {
    ("DELETE", "/api/v1/streams/{id}/"): "doomed",
    ("DELETE", "/api/v1/destinations/{id}/"): "doomed",
    ("DELETE", "/api/v1/brand-kits/{id}/"): "doomed",
    ("DELETE", "/api/v1/brand-assets/{id}/"): "doomed",
    ("DELETE", "/api/v1/clips/{id}/"): "doomed",
    ("DELETE", "/api/v1/recordings/{id}/"): "doomed",
    ("DELETE", "/api/v1/connections/{id}/"): "doomed",
    ("DELETE", "/api/v1/uploads/{id}/"): "doomed",
    ("POST", "/api/v1/guests/{id}/remove/"): "doomed",
    ("POST", "/api/v1/guests/{id}/revoke/"): "doomed",
    # an expiry in the past ends the seat, which every join/{token} operation then answers 410
    ("PATCH", "/api/v1/guests/{id}/"): "edited",
    ("POST", "/api/v1/streams/{id}/go-live/"): "scheduled",
    ("POST", "/api/v1/streams/{id}/end/"): "live",
    ("POST", "/api/v1/destinations/{id}/live/"): "live",
    ("DELETE", "/api/v1/destinations/{id}/live/"): "live",
    # Seats that an operation needs in a state of their own: only a guest the host muted may ask to be
    # unmuted (a generated host unmute of the main guest would otherwise decide whether it can succeed),
    # and only a moderator may take a line out of the studio chat.
    ("POST", "/api/v1/join/{token}/unmute-request/"): "muted",
    ("DELETE", "/api/v1/join/{token}/chat/{message_id}/"): "moderator",
}
# Body fields that name one of the creator's objects: half the generated values are a real one.
BODY_REFERENCES = {
    ("POST", "/api/v1/connections/{id}/destinations/"): {"stream": "stream"},
    ("POST", "/api/v1/streams/{id}/playback/"): {"clip": "clip"},
    ("POST", "/api/v1/uploads/"): {"stream": "stream"},
    ("PATCH", "/api/v1/streams/{id}/"): {"brand_kit": "brand_kit"},
}
# Operations whose success needs a body no schema can describe, with the test that covers it.
NO_GENERATED_SUCCESS = {
    # a chunk at the right offset whose bytes sniff as a video: tests/library/test_chunked_upload.py
    "PATCH /api/v1/uploads/{id}/",
    # a real PNG, JPEG or WebP image: tests/branding/test_uploads.py
    "POST /api/v1/brand-kits/{id}/assets/",
    # the creator's own email and password: the session logs in with them (tests/accounts)
    "POST /api/v1/auth/login",
    # a refresh token of this session (tests/accounts/test_api_auth.py rotates them)
    "POST /api/v1/auth/refresh",
}


@dataclass
class World:
    """What the signed-in creator owns, by kind ("stream") and kind:purpose ("stream:doomed")."""

    email: str
    ids: dict[str, int | str]
    tokens: dict[
        str, str
    ]  # invite links' tokens: "guest" (joined), "guest:muted" (muted by the host), "guest:moderator"


def build_world() -> World:
    user = UserFactory()
    kit = BrandKitFactory(owner=user)
    stream = StreamFactory(owner=user, title="Conformance", brand_kit=kit)
    live = StreamFactory(owner=user, title="On air", status=Stream.Status.LIVE, started_at=timezone.now())
    guest, token = stream_services.guest_invite(stream=stream, by=user, display_name="Ada")
    studio_services.guest_join(guest=guest, display_name="Ada")
    muted, muted_token = stream_services.guest_invite(stream=stream, by=user, display_name="Cy")
    studio_services.guest_join(guest=muted, display_name="Cy")
    studio_services.guest_set_media(guest=muted, by=user, audio=False)  # the host's mute, as the studio does
    moderator, moderator_token = stream_services.guest_invite(
        stream=stream, by=user, role=Guest.Role.MODERATOR, display_name="Mo"
    )
    studio_services.guest_join(guest=moderator, display_name="Mo")

    def invite(name: str) -> int:
        return stream_services.guest_invite(stream=stream, by=user, display_name=name)[0].pk

    comment = Comment.objects.create(
        stream=stream,
        platform="custom",
        platform_message_id="c1",
        author_name="Viewer",
        text="Hello!",
        created_at=timezone.now(),
    )
    ids: dict[str, int | str] = {
        "stream": stream.pk,
        "stream:doomed": StreamFactory(owner=user).pk,
        "stream:scheduled": StreamFactory(owner=user).pk,
        "stream:live": live.pk,
        "guest": guest.pk,
        "guest:doomed": invite("Bo"),
        "guest:edited": invite("Di"),
        "destination": DestinationFactory(stream=stream).pk,
        "destination:doomed": DestinationFactory(stream=stream).pk,
        "destination:live": DestinationFactory(stream=live).pk,
        "brand_kit": kit.pk,
        "brand_kit:doomed": BrandKitFactory(owner=user).pk,
        "brand_asset": make_asset(user, kit=kit).pk,
        "brand_asset:doomed": make_asset(user, kit=kit).pk,
        "clip": ready_clip(user).pk,
        "clip:doomed": ready_clip(user).pk,
        "recording": RecordingFactory(stream=stream).pk,
        "recording:doomed": RecordingFactory(stream=stream).pk,
        "connection": make_account(user).pk,
        "connection:doomed": make_account(user, platform="twitch").pk,
        "comment": comment.pk,
        "upload": str(make_upload(user).pk),
        "upload:doomed": str(make_upload(user).pk),
    }
    return World(
        email=user.email,
        ids=ids,
        tokens={"guest": token, "guest:muted": muted_token, "guest:moderator": moderator_token},
    )


def path_values(world: World, method: str, path: str) -> dict[str, int | str]:
    """The creator's object that an operation's path names."""
    resource = path.removeprefix("/api/v1/").split("/", 1)[0]
    purpose = CONSUMED.get((method.upper(), path))
    if resource == "join":
        return {"token": world.tokens[f"guest:{purpose}" if purpose else "guest"]}
    kind = RESOURCES.get(resource)
    if kind is None or "{id}" not in path:
        return {}
    return {"id": world.ids[f"{kind}:{purpose}" if purpose else kind]}


@dataclass
class Bearer:
    """The mobile app's way in: POST /auth/login with X-Auth-Mode: bearer; the access token goes in a header."""

    url: str
    email: str
    issued: set[str] = field(default_factory=set)
    _current: str = ""
    _at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self) -> str:
        with self._lock:
            if not self._current or time.monotonic() - self._at > TOKEN_REFRESH_SECONDS:
                response = requests.post(
                    self.url + "/api/v1/auth/login",
                    json={"email": self.email, "password": DEFAULT_PASSWORD},
                    headers={"X-Auth-Mode": "bearer"},
                    timeout=60,
                )
                response.raise_for_status()
                self._current, self._at = response.json()["access"], time.monotonic()
                self.issued.add(self._current)
            return self._current

    def refresh(self, case: schemathesis.Case) -> None:
        """Coverage cases are built up front with the token of the time: give them the current one.

        Only a header carrying one of our own tokens is touched; cases that test a missing or broken
        Authorization header keep theirs.
        """
        headers = case.headers or {}
        sent = str(headers.get("Authorization", "")).removeprefix("Bearer ")
        if sent in self.issued:
            headers["Authorization"] = f"Bearer {self.token()}"


# The run is one creator sending ~2,700 requests in 2 to 7 minutes: past the API's default rate per user
# (1,200 a minute) when the machine is quick, and then the last operations answered only 429 (seen:
# studio and uploads, 13 to 61 times each). The rates are deployment settings; this server's are set
# out of reach. Throttling itself is tested in tests/api/test_ratelimit.py, and 429 answers against the
# schema in tests/api/test_schema.py.
RATES_OUT_OF_REACH = {"API_RATE_USER": "100000/minute", "API_RATE_ANON": "100000/minute"}


@pytest.fixture
def server(livekit, web_factory, private_redis):
    """The web process, pointed at the session's LiveKit and a Redis of its own (nothing it leaves there
    — chat, rate-limit counters, show wake-ups — reaches the tests that run after it)."""
    return web_factory(redis_url=private_redis.url, extra_env=RATES_OUT_OF_REACH)


@pytest.fixture
def world(server) -> World:
    return build_world()


@pytest.fixture
def bearer(server, world) -> Bearer:
    return Bearer(url=server.url, email=world.email)


@pytest.fixture
def api_schema(server, world, bearer):
    """The schema as the running server serves it, set up to act as the creator on their own objects."""
    raw = requests.get(server.url + "/api/v1/schema/", params={"format": "json"}, timeout=60).json()
    dictionaries = {kind: {"values": [world.ids[kind]]} for kind in {"stream", "clip", "brand_kit"}}
    operations = []
    for path, item in raw["paths"].items():
        for method, operation in item.items():
            parameters: dict[str, object] = dict(path_values(world, method, path))
            for name, kind in BODY_REFERENCES.get((method.upper(), path), {}).items():
                parameters[f"body.{name}"] = {"dictionary": kind, "probability": 0.5}
            if parameters:
                operations.append({"include-operation-id": operation["operationId"], "parameters": parameters})
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": server.url,
            "request-timeout": 60,
            "generation": {
                "max-examples": FUZZ_EXAMPLES,
                "deterministic": True,
                "no-shrink": True,
                "database": "none",
            },
            # Not other HTTP methods than the documented ones (405 is Django's, not ours to document),
            # and no stateful phase: links between operations are not declared.
            "phases": {"coverage": {"unexpected-methods": []}, "stateful": {"enabled": False}},
            "checks": checks_config(),
            "dictionaries": dictionaries,
            "operations": operations,
        }
    )
    schema = schemathesis.openapi.from_dict(raw, config=config)

    class BearerAuth:
        def get(self, case, ctx):
            return bearer.token()

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    # A 401 is an answer under test, not a cue to log in again (logins are rate-limited too).
    schema.auth(refresh_interval=None, retry_on=[])(BearerAuth)
    return schema


# Chunks go as raw bytes, like any binary body.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

schema = schemathesis.pytest.from_fixture("api_schema")


@dataclass
class Tally:
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    successes: collections.Counter[str] = field(default_factory=collections.Counter)
    # What each operation answered, by status code, or the error raised instead (a failed check, a
    # timeout): says why one never reached a 2xx.
    statuses: dict[str, collections.Counter[int | str]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )


@pytest.fixture
def tally(request):
    """Requests and 2xx answers per operation; at the end every operation must have reached a 2xx (or say why not)."""
    started = time.monotonic()
    counts = Tally()
    yield counts
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"schemathesis: {sum(counts.requests.values())} requests to {len(counts.requests)} operations "
            f"in {time.monotonic() - started:.0f} s, {sum(counts.successes.values())} answered 2xx"
        )
    labels = {f"{method.upper()} {path}" for path, method in _operations()}
    never = sorted(label for label in labels - set(counts.successes) if label not in NO_GENERATED_SUCCESS)
    answered = {label: dict(counts.statuses[label]) for label in never}
    assert not never, f"no generated request reached a 2xx answer: {never}; they answered {answered}"


def _operations() -> list[tuple[str, str]]:
    from django.test import Client

    raw = Client().get("/api/v1/schema/", {"format": "json"}).json()
    return [(path, method) for path, item in raw["paths"].items() for method in item]


@schema.parametrize()
@pytest.mark.timeout(1800)  # the whole run is one test; its time is reported, not asserted
def test_api_conforms_to_its_schema(case, bearer, tally):
    bearer.refresh(case)
    label = case.operation.label
    tally.requests[label] += 1
    try:
        response = case.call_and_validate()
    except BaseException as exc:
        tally.statuses[label][type(exc).__name__] += 1
        raise
    tally.statuses[label][response.status_code] += 1
    if 200 <= response.status_code < 300:
        tally.successes[label] += 1
