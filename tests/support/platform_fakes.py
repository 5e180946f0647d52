"""Local stand-ins for Google/YouTube, Twitch and Facebook: real HTTP on a free loopback port.

Each fake implements the subset of the platform's OAuth and API endpoints that
StreamUs uses, answers with the documented payloads in `payloads/`, and checks
what the code sent the way the platform would (client credentials, exact
redirect URI, PKCE verifier against the challenge, bearer tokens, required
parameters). Anything the real platform would refuse is refused here too, and
also recorded in `violations` so a test can assert nothing was sent wrong.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from apps.destinations.models import ConnectedAccount

PAYLOADS = Path(__file__).resolve().parents[1] / "platforms" / "payloads"


def payload(_name: str, /, **values: Any) -> tuple[int, dict[str, Any]]:
    """(status, body) of a documented payload, with `{placeholders}` filled in."""
    data = json.loads((PAYLOADS / f"{_name}.json").read_text())
    return data["status"], _fill(copy.deepcopy(data["body"]), values)


def _fill(obj: Any, values: dict[str, Any]) -> Any:
    if isinstance(obj, dict):
        return {k: _fill(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_fill(v, values) for v in obj]
    if isinstance(obj, str):
        for key, value in values.items():
            if obj == "{" + key + "}" and not isinstance(value, str):
                return value
            obj = obj.replace("{" + key + "}", str(value))
    return obj


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    json: Any
    raw_body: bytes

    def bearer(self) -> str:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else ""


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakePlatform:
    """Base: server lifecycle, request log, one-shot failures, token bookkeeping."""

    client_id = "fake-client-id"
    client_secret = "fake-client-secret-0123456789"

    def __init__(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self._failures: list[tuple[str, str, str, dict[str, str], int]] = []
        self.lock = threading.Lock()
        # code -> {"challenge", "redirect_uri", "scope"}
        self.codes: dict[str, dict[str, str]] = {}
        # access token -> expiry (epoch); refresh token -> True while valid
        self.access_tokens: dict[str, float] = {}
        self.refresh_tokens: dict[str, bool] = {}
        self.revoked: list[str] = []
        self.access_ttl = 3600
        self.server: ThreadingHTTPServer | None = None

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> FakePlatform:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                form = (
                    {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
                    if "form" in ctype
                    else {}
                )
                body = json.loads(raw) if "json" in ctype and raw else None
                seen = Seen(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    form=form,
                    json=body,
                    raw_body=raw,
                )
                with fake.lock:
                    fake.requests.append(seen)
                try:
                    reply = fake._injected(seen) or fake.handle(seen)
                except Exception as exc:  # a bug in the fake must show up in the test, not hang it
                    fake.violations.append(f"fake crashed on {seen.method} {seen.path}: {exc!r}")
                    reply = Reply(500, {"error": "fake crashed"})
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.body is not None:
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # --- test controls -----------------------------------------------------------------
    def fail_next(
        self, method: str, path: str, name: str, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next `times` calls to (method, path-suffix) with the documented error payload `name`."""
        with self.lock:
            self._failures.append((method, path, name, headers or {}, times))

    def _injected(self, seen: Seen) -> Reply | None:
        with self.lock:
            for i, (method, path, name, headers, times) in enumerate(self._failures):
                if method == seen.method and seen.path.endswith(path):
                    if times <= 1:
                        self._failures.pop(i)
                    else:
                        self._failures[i] = (method, path, name, headers, times - 1)
                    status, body = payload(name)
                    return Reply(status, body, headers)
        return None

    def calls(self, method: str, path_suffix: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0

    def violation(self, text: str) -> None:
        self.violations.append(text)

    # --- OAuth helpers shared by the fakes ----------------------------------------------
    def authorize(self, seen: Seen, *, scope_sep: str, required_scopes: set[str]) -> Reply:
        """The consent screen, auto-approved: check the request, remember the PKCE challenge, redirect with a code."""
        q = seen.query
        problems = []
        if q.get("client_id") != self.client_id:
            problems.append("client_id")
        if q.get("redirect_uri") != self.redirect_uri:
            problems.append(f"redirect_uri {q.get('redirect_uri')!r} is not the registered one")
        if q.get("response_type") != "code":
            problems.append("response_type")
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) != 43:
            problems.append("PKCE S256 challenge")
        if len(q.get("state", "")) < 16:
            problems.append("state")
        scopes = set(filter(None, q.get("scope", "").split(scope_sep)))
        if scopes != required_scopes:
            problems.append(f"scopes {sorted(scopes)} != {sorted(required_scopes)}")
        if problems:
            self.violation("authorize: " + "; ".join(problems))
            return Reply(400, {"error": "invalid_request", "error_description": "; ".join(problems)})
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        location = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
        return Reply(302, None, {"Location": location})

    def check_code(self, form: dict[str, str]) -> str:
        """'' when the code exchange is acceptable, else why not (code single use, redirect URI, PKCE)."""
        code = self.codes.pop(form.get("code", ""), None)
        if code is None:
            return "unknown or already used code"
        if form.get("redirect_uri") != code["redirect_uri"]:
            return "redirect_uri does not match the authorization request"
        verifier = form.get("code_verifier", "")
        if not verifier:
            return "Missing code verifier."
        if s256(verifier) != code["challenge"]:
            return "Invalid code verifier."
        return ""

    def issue_access(self, prefix: str) -> str:
        token = prefix + secrets.token_urlsafe(24)
        self.access_tokens[token] = time.time() + self.access_ttl
        return token

    def issue_refresh(self, prefix: str) -> str:
        token = prefix + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = True
        return token

    def access_ok(self, token: str) -> bool:
        return self.access_tokens.get(token, 0) > time.time()

    def all_tokens(self) -> list[str]:
        return list(self.access_tokens) + list(self.refresh_tokens)

    def handle(self, seen: Seen) -> Reply:
        raise NotImplementedError


# --- Google + YouTube -----------------------------------------------------------------------


class FakeYouTube(FakePlatform):
    """accounts.google.com, oauth2.googleapis.com and www.googleapis.com/youtube/v3 on one server."""

    channel_id = "UCfakeChannel0000000000001"
    channel_title = "StreamUs Test Channel"

    def __init__(self, redirect_uri: str) -> None:
        super().__init__(redirect_uri)
        self.access_ttl = 3599
        self.broadcasts: dict[str, dict[str, Any]] = {}
        self.streams: dict[str, dict[str, Any]] = {}
        # Point the ingest at a local RTMP server (tests that push real video) instead of YouTube's.
        self.ingest_url = ""
        # access/refresh token pairs, so revoking the refresh token kills its access tokens
        self.grants: dict[str, list[str]] = {}

    def settings(self) -> dict[str, str]:
        return {
            "YOUTUBE_CLIENT_ID": self.client_id,
            "YOUTUBE_CLIENT_SECRET": self.client_secret,
            "GOOGLE_ACCOUNTS_BASE_URL": self.base_url,
            "GOOGLE_OAUTH_BASE_URL": self.base_url,
            "YOUTUBE_API_BASE_URL": self.base_url + "/youtube/v3",
        }

    def activate(self, stream_id: str) -> None:
        """Video reached the ingest: YouTube reports the stream active."""
        self.streams[stream_id]["status"] = "active"

    def handle(self, seen: Seen) -> Reply:
        p = seen.path
        if seen.method == "GET" and p == "/o/oauth2/v2/auth":
            if seen.query.get("access_type") != "offline":
                self.violation("authorize: access_type=offline missing (no refresh token would be issued)")
            return self.authorize(seen, scope_sep=" ", required_scopes={"https://www.googleapis.com/auth/youtube"})
        if seen.method == "POST" and p == "/token":
            return self.token(seen)
        if seen.method == "POST" and p == "/revoke":
            return self.revoke(seen)
        if p.startswith("/youtube/v3/"):
            token = seen.bearer()
            if not self.access_ok(token):
                return Reply(*payload("youtube/error_unauthorized"))
            if "access_token" in seen.query or "key" in seen.query:
                self.violation("token in the URL")
            return self.api(seen, p.removeprefix("/youtube/v3"))
        return Reply(404, {"error": {"code": 404, "message": f"no route {p}"}})

    def token(self, seen: Seen) -> Reply:
        form = seen.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            self.violation("token: wrong client credentials")
            return Reply(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            problem = self.check_code(form)
            if problem:
                return Reply(400, {"error": "invalid_grant", "error_description": problem})
            access, refresh = self.issue_access("ya29.fake-"), self.issue_refresh("1//fake-")
            self.grants[refresh] = [access]
            return Reply(*payload("youtube/token_authorization_code", access_token=access, refresh_token=refresh))
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if not self.refresh_tokens.get(refresh):
                return Reply(*payload("youtube/error_invalid_grant"))
            access = self.issue_access("ya29.fake-")
            self.grants[refresh].append(access)
            return Reply(*payload("youtube/token_refresh", access_token=access))
        return Reply(400, {"error": "unsupported_grant_type"})

    def revoke(self, seen: Seen) -> Reply:
        if "token" in seen.query:
            self.violation("revoke: token in the URL")
        token = seen.form.get("token", "")
        if self.refresh_tokens.get(token):
            self.refresh_tokens[token] = False
            for access in self.grants.get(token, []):
                self.access_tokens[access] = 0
            self.revoked.append(token)
            return Reply(*payload("youtube/revoke_ok"))
        if self.access_ok(token):
            self.access_tokens[token] = 0
            self.revoked.append(token)
            return Reply(*payload("youtube/revoke_ok"))
        return Reply(*payload("youtube/error_invalid_token"))

    def api(self, seen: Seen, path: str) -> Reply:
        q = seen.query
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if seen.method == "GET" and path == "/channels":
            if q.get("mine") != "true" or "snippet" not in q.get("part", ""):
                self.violation("channels.list without mine=true&part=snippet")
            return Reply(
                *payload("youtube/channels_list_mine", channel_id=self.channel_id, channel_title=self.channel_title)
            )
        if seen.method == "POST" and path == "/liveBroadcasts":
            body = seen.json or {}
            snippet, status = body.get("snippet", {}), body.get("status", {})
            missing = [
                n
                for n, v in (
                    ("snippet.title", snippet.get("title")),
                    ("snippet.scheduledStartTime", snippet.get("scheduledStartTime")),
                    ("status.privacyStatus", status.get("privacyStatus")),
                )
                if not v
            ]
            if missing:
                self.violation(f"liveBroadcasts.insert missing {missing}")
                return Reply(*payload("youtube/error_required", message=f"Required: {missing[0]}"))
            monitor = body.get("contentDetails", {}).get("monitorStream", {}).get("enableMonitorStream", True)
            broadcast_id = secrets.token_urlsafe(8)
            self.broadcasts[broadcast_id] = {"life": "created", "stream": None, "monitor": monitor, "body": body}
            return Reply(
                *payload(
                    "youtube/live_broadcast_insert",
                    broadcast_id=broadcast_id,
                    channel_id=self.channel_id,
                    now=now,
                    title=snippet["title"],
                    description=snippet.get("description", ""),
                    scheduled_start=snippet["scheduledStartTime"],
                    live_chat_id=f"Chat{broadcast_id}",
                    privacy=status["privacyStatus"],
                )
            )
        if seen.method == "POST" and path == "/liveStreams":
            body = seen.json or {}
            cdn = body.get("cdn", {})
            if (
                cdn.get("ingestionType") != "rtmp"
                or not cdn.get("resolution")
                or not cdn.get("frameRate")
                or not body.get("snippet", {}).get("title")
            ):
                self.violation("liveStreams.insert missing cdn.ingestionType/resolution/frameRate or snippet.title")
                return Reply(*payload("youtube/error_required", message="Required: cdn"))
            stream_id = self.channel_id[2:10] + secrets.token_urlsafe(8)
            name = "-".join(secrets.token_hex(2) for _ in range(5))
            self.streams[stream_id] = {"status": "ready", "name": name}
            status, reply = payload(
                "youtube/live_stream_insert",
                stream_id=stream_id,
                channel_id=self.channel_id,
                now=now,
                title=body["snippet"]["title"],
                stream_name=name,
            )
            if self.ingest_url:
                info = reply["cdn"]["ingestionInfo"]
                info["ingestionAddress"] = self.ingest_url
                del info["rtmpsIngestionAddress"], info["rtmpsBackupIngestionAddress"]
            return Reply(status, reply)
        if seen.method == "POST" and path == "/liveBroadcasts/bind":
            broadcast, stream_id = self.broadcasts.get(q.get("id", "")), q.get("streamId", "")
            if broadcast is None or stream_id not in self.streams or not q.get("part"):
                self.violation(f"bind with bad params {q}")
                return Reply(
                    404,
                    {
                        "error": {
                            "code": 404,
                            "message": "liveBroadcastNotFound",
                            "errors": [{"reason": "liveBroadcastNotFound"}],
                        }
                    },
                )
            broadcast["stream"], broadcast["life"] = stream_id, "ready"
            return Reply(*payload("youtube/live_broadcast_bind", broadcast_id=q["id"], stream_id=stream_id, now=now))
        if seen.method == "GET" and path == "/liveStreams":
            stream = self.streams.get(q.get("id", ""))
            if stream is None or "status" not in q.get("part", ""):
                self.violation(f"liveStreams.list with bad params {q}")
                return Reply(200, {"kind": "youtube#liveStreamListResponse", "items": []})
            active = stream["status"] == "active"
            return Reply(
                *payload(
                    "youtube/live_streams_list_status",
                    stream_id=q["id"],
                    stream_status=stream["status"],
                    health="good" if active else "noData",
                )
            )
        if seen.method == "POST" and path == "/liveBroadcasts/transition":
            return self.transition(q)
        if seen.method == "DELETE" and path == "/liveBroadcasts":
            # https://developers.google.com/youtube/v3/live/docs/liveBroadcasts/delete: 204 No Content
            if self.broadcasts.pop(q.get("id", ""), None) is None:
                return Reply(
                    404,
                    {
                        "error": {
                            "code": 404,
                            "message": "Broadcast not found",
                            "errors": [{"reason": "liveBroadcastNotFound"}],
                        }
                    },
                )
            return Reply(204, None)
        return Reply(404, {"error": {"code": 404, "message": f"no route {path}"}})

    def transition(self, q: dict[str, str]) -> Reply:
        broadcast = self.broadcasts.get(q.get("id", ""))
        target = q.get("broadcastStatus")
        if broadcast is None or target not in {"testing", "live", "complete"} or not q.get("part"):
            self.violation(f"transition with bad params {q}")
            return Reply(
                404,
                {
                    "error": {
                        "code": 404,
                        "message": "liveBroadcastNotFound",
                        "errors": [{"reason": "liveBroadcastNotFound"}],
                    }
                },
            )
        life = broadcast["life"]
        if life == target:
            return Reply(*payload("youtube/error_redundant_transition"))
        if target == "live":
            if broadcast["stream"] is None or self.streams[broadcast["stream"]]["status"] != "active":
                return Reply(*payload("youtube/error_stream_inactive"))
            if broadcast["monitor"] and life != "testing":
                return Reply(*payload("youtube/error_invalid_transition"))
        if target == "complete" and life not in {"live", "testing"}:
            return Reply(*payload("youtube/error_invalid_transition"))
        broadcast["life"] = target
        privacy = broadcast["body"]["status"]["privacyStatus"]
        return Reply(
            *payload("youtube/live_broadcast_transition", broadcast_id=q["id"], life_cycle=target, privacy=privacy)
        )


# --- Twitch ---------------------------------------------------------------------------------


class FakeTwitch(FakePlatform):
    """id.twitch.tv/oauth2, api.twitch.tv/helix and ingest.twitch.tv on one server."""

    user_id = "141981764"
    login = "streamustest"
    scopes = {"channel:read:stream_key", "channel:manage:broadcast", "chat:read"}
    games = {"Just Chatting": "509658", "Software and Game Development": "1469308723"}

    def __init__(self, redirect_uri: str) -> None:
        super().__init__(redirect_uri)
        self.access_ttl = 14124
        self.channel: dict[str, Any] = {"title": "", "game_id": ""}
        self.stream_key = "live_141981764_" + secrets.token_hex(12)
        self.ingest_url = ""  # a local RTMP server instead of Twitch's ingests

    def settings(self) -> dict[str, str]:
        return {
            "TWITCH_CLIENT_ID": self.client_id,
            "TWITCH_CLIENT_SECRET": self.client_secret,
            "TWITCH_AUTH_BASE_URL": self.base_url + "/oauth2",
            "TWITCH_API_BASE_URL": self.base_url + "/helix",
            "TWITCH_INGEST_BASE_URL": self.base_url,
        }

    def handle(self, seen: Seen) -> Reply:
        p = seen.path
        if seen.method == "GET" and p == "/oauth2/authorize":
            return self.authorize(seen, scope_sep=" ", required_scopes=self.scopes)
        if seen.method == "POST" and p == "/oauth2/token":
            return self.token(seen)
        if seen.method == "POST" and p == "/oauth2/revoke":
            token = seen.form.get("token", "")
            if seen.form.get("client_id") != self.client_id:
                self.violation("revoke without client_id")
            if token in self.access_tokens and self.access_tokens[token] > 0:
                self.access_tokens[token] = 0
                self.revoked.append(token)
                return Reply(200, None)
            return Reply(*payload("twitch/error_invalid_token"))
        if seen.method == "GET" and p == "/ingests":
            status, body = payload("twitch/ingests")
            if self.ingest_url:
                for ingest in body["ingests"]:
                    ingest["url_template"] = ingest["url_template_secure"] = self.ingest_url + "/{stream_key}"
            return Reply(status, body)
        if p.startswith("/helix/"):
            if seen.headers.get("client-id") != self.client_id:
                self.violation("helix call without the Client-Id header")
                return Reply(*payload("twitch/error_client_mismatch"))
            if not self.access_ok(seen.bearer()):
                return Reply(*payload("twitch/error_unauthorized"))
            return self.helix(seen, p.removeprefix("/helix"))
        return Reply(404, {"error": "Not Found", "status": 404, "message": ""})

    def token(self, seen: Seen) -> Reply:
        form = seen.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            self.violation("token: wrong client credentials")
            return Reply(400, {"status": 400, "message": "invalid client secret"})
        if form.get("grant_type") == "authorization_code":
            problem = self.check_code(form)
            if problem:
                return Reply(*payload("twitch/error_invalid_code_verifier", message=problem))
        elif form.get("grant_type") == "refresh_token":
            old = form.get("refresh_token", "")
            if not self.refresh_tokens.get(old):
                return Reply(*payload("twitch/error_invalid_refresh_token"))
            self.refresh_tokens[old] = False  # Twitch rotates refresh tokens
        else:
            return Reply(400, {"status": 400, "message": "Invalid grant type"})
        access, refresh = self.issue_access(""), self.issue_refresh("")
        name = (
            "twitch/token_authorization_code" if form["grant_type"] == "authorization_code" else "twitch/token_refresh"
        )
        return Reply(*payload(name, access_token=access, refresh_token=refresh))

    def helix(self, seen: Seen, path: str) -> Reply:
        q = seen.query
        if seen.method == "GET" and path == "/users":
            return Reply(*payload("twitch/users", user_id=self.user_id, login=self.login, display_name="StreamUsTest"))
        if seen.method == "GET" and path == "/games":
            name = q.get("name", "")
            if name not in self.games:
                return Reply(200, {"data": []})
            return Reply(*payload("twitch/games", game_id=self.games[name], name=name))
        if q.get("broadcaster_id") != self.user_id:
            self.violation(f"{path} without the broadcaster_id of the token's user: {q}")
            return Reply(
                400, {"error": "Bad Request", "status": 400, "message": 'Missing required parameter "broadcaster_id"'}
            )
        if seen.method == "PATCH" and path == "/channels":
            body = seen.json or {}
            if not body.get("title") and not body.get("game_id"):
                self.violation("PATCH channels with nothing to change")
                return Reply(400, {"error": "Bad Request", "status": 400, "message": "No fields to update"})
            self.channel.update({k: v for k, v in body.items() if k in {"title", "game_id"}})
            return Reply(204, None)
        if seen.method == "GET" and path == "/streams/key":
            return Reply(*payload("twitch/stream_key", stream_key=self.stream_key))
        return Reply(404, {"error": "Not Found", "status": 404, "message": ""})


# --- Facebook -------------------------------------------------------------------------------


class FakeFacebook(FakePlatform):
    """www.facebook.com/vXX.X/dialog/oauth and graph.facebook.com/vXX.X on one server."""

    version = "/v24.0"
    user_id = "10158812345678901"
    page_id = "104417558713101"
    scopes = {"pages_show_list", "pages_read_engagement", "pages_manage_posts", "publish_video"}

    def __init__(self, redirect_uri: str) -> None:
        super().__init__(redirect_uri)
        self.access_ttl = 5183944
        self.page_tokens: dict[str, str] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.short_tokens: set[str] = set()

    def settings(self) -> dict[str, str]:
        return {
            "FACEBOOK_CLIENT_ID": self.client_id,
            "FACEBOOK_CLIENT_SECRET": self.client_secret,
            "FACEBOOK_DIALOG_BASE_URL": self.base_url + self.version,
            "FACEBOOK_GRAPH_BASE_URL": self.base_url + self.version,
        }

    def proof_ok(self, seen: Seen, token: str) -> bool:
        expected = hmac.new(self.client_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        given = seen.query.get("appsecret_proof", "") or seen.form.get("appsecret_proof", "")
        return hmac.compare_digest(expected, given)

    def handle(self, seen: Seen) -> Reply:
        p = seen.path.removeprefix(self.version)
        if seen.method == "GET" and p == "/dialog/oauth":
            return self.authorize(seen, scope_sep=",", required_scopes=self.scopes)
        if seen.method == "POST" and p == "/oauth/access_token":
            return self.token(seen)
        if "access_token" in seen.query:
            self.violation("token in the URL")
        token = seen.bearer()
        if not (self.access_ok(token) or token in self.page_tokens.values()):
            return Reply(*payload("facebook/error_invalid_token_190"))
        if not self.proof_ok(seen, token):
            self.violation(f"{p} without a valid appsecret_proof")
            return Reply(
                400,
                {
                    "error": {
                        "message": "Invalid appsecret_proof provided in the API argument",
                        "type": "GraphMethodException",
                        "code": 100,
                    }
                },
            )
        return self.graph(seen, p, token)

    def token(self, seen: Seen) -> Reply:
        form = seen.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            self.violation("token: wrong client credentials")
            return Reply(
                400, {"error": {"message": "Error validating client secret.", "type": "OAuthException", "code": 1}}
            )
        if form.get("grant_type") == "fb_exchange_token":
            short = form.get("fb_exchange_token", "")
            if not self.access_ok(short):
                return Reply(*payload("facebook/error_invalid_token_190"))
            return Reply(*payload("facebook/token_long_lived", access_token=self.issue_access("EAAfakeLL")))
        problem = self.check_code(form)
        if problem:
            return Reply(*payload("facebook/error_invalid_verifier", message=problem))
        short = self.issue_access("EAAfakeSL")
        self.short_tokens.add(short)
        return Reply(*payload("facebook/token_code", access_token=short))

    def graph(self, seen: Seen, path: str, token: str) -> Reply:
        q = {**seen.query, **seen.form}
        if seen.method == "GET" and path == "/me":
            return Reply(*payload("facebook/me", user_id=self.user_id, name="Sam Streamer"))
        if seen.method == "GET" and path == "/me/accounts":
            return Reply(*payload("facebook/me_accounts", page_id=self.page_id, page_name="StreamUs Test Page"))
        if seen.method == "DELETE" and path == "/me/permissions":
            for t in [t for t in self.access_tokens if t == token]:
                self.access_tokens[t] = 0
            self.revoked.append(token)
            return Reply(*payload("facebook/success"))
        if seen.method == "GET" and path == f"/{self.page_id}" and q.get("fields") == "access_token":
            page_token = self.page_tokens.setdefault(self.page_id, "EAAfakePAGE" + secrets.token_urlsafe(20))
            return Reply(*payload("facebook/page_access_token", page_token=page_token, page_id=self.page_id))
        if seen.method == "POST" and path.endswith("/live_videos"):
            target = path.removesuffix("/live_videos").strip("/")
            if target == self.page_id and token != self.page_tokens.get(self.page_id):
                return Reply(*payload("facebook/error_permissions_200"))
            status = q.get("status", "")
            if status not in {"LIVE_NOW", "SCHEDULED_UNPUBLISHED", "UNPUBLISHED"}:
                self.violation(f"live_videos without a valid status: {q}")
                return Reply(
                    400,
                    {"error": {"message": "(#100) status must be one of ...", "type": "OAuthException", "code": 100}},
                )
            if status == "SCHEDULED_UNPUBLISHED" and not q.get("planned_start_time"):
                self.violation("scheduled live video without planned_start_time")
            video_id = str(secrets.randbelow(10**15) + 10**15)
            key = f"FB-{video_id}-0-Ab{secrets.token_hex(8)}?s_bl=1&s_psm=1&s_sc={video_id}&s_sw=0&s_vt=api-s&a=Aby{secrets.token_hex(6)}"
            self.videos[video_id] = {
                "status": status,
                "target": target,
                "title": q.get("title"),
                "description": q.get("description"),
                "ended": False,
            }
            return Reply(*payload("facebook/live_video_create", video_id=video_id, stream_key=key))
        video = self.videos.get(path.strip("/"))
        if seen.method == "POST" and video is not None:
            if q.get("end_live_video") == "true":
                video["ended"] = True
            elif q.get("status"):
                video["status"] = q["status"]
            else:
                self.violation(f"live video update with nothing to do: {q}")
            return Reply(*payload("facebook/live_video_update", video_id=path.strip("/")))
        return Reply(
            400,
            {
                "error": {
                    "message": f"Unsupported request {seen.method} {path}",
                    "type": "GraphMethodException",
                    "code": 100,
                }
            },
        )


# --- walking the OAuth dance against a fake, as a creator's browser would ------------------------

SITE = "http://testserver"


def consent(client, platform: str) -> str:
    """Start connecting, let the fake's consent screen approve, and return the callback URL it sends back to."""
    response = client.post(f"/connections/{platform}/connect/")
    assert response.status_code == 302, response.content
    approved = httpx.get(response["Location"], follow_redirects=False)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == SITE
    return f"{back.path}?{back.query}"


def connect(client, platform: str) -> ConnectedAccount:
    response = client.get(consent(client, platform))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/connections/"
    return ConnectedAccount.objects.get(platform=platform)
