"""Twitch: Twitch OAuth (id.twitch.tv) + Helix.

Twitch has no broadcast object to create: the channel's stream key comes from
`GET /streams/key`, the ingest from the ingest list, and the title and category
are set on the channel with `PATCH /channels` before video starts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from ..models import Platform
from .base import ErrorKind, Identity, LiveRequest, LiveSetup, PlatformClient, PlatformError, TokenSet

# Used when the ingest list cannot be read: Twitch's global auto-routing ingest.
FALLBACK_INGEST = "rtmps://ingest.global-contribute.live-video.net:443/app"


class TwitchClient(PlatformClient):
    platform = Platform.TWITCH
    label = "Twitch"
    # Read the stream key, set title/category, read chat for on-screen comments.
    scopes = ("channel:read:stream_key", "channel:manage:broadcast", "chat:read")
    setting_prefix = "TWITCH"
    supports_scheduling = False

    @property
    def api(self) -> str:
        return settings.TWITCH_API_BASE_URL.rstrip("/")

    @property
    def auth(self) -> str:
        return settings.TWITCH_AUTH_BASE_URL.rstrip("/")

    def _headers(self) -> dict[str, str]:
        return {"Client-Id": self.client_id}

    # --- OAuth ----------------------------------------------------------------------
    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        query = {
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.auth}/authorize?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        return self._token_call(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )

    def refresh(self, *, access_token: str, refresh_token: str) -> TokenSet:
        if not refresh_token:
            raise self.auth_error(reason="no_refresh_token")
        # Twitch rotates the refresh token: the answer carries the new one.
        return self._token_call({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _token_call(self, form: dict[str, str]) -> TokenSet:
        form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        body = self.json_body(self.request("POST", f"{self.auth}/token", data=form))
        scope = body.get("scope") or []
        return TokenSet(
            access_token=self.expect(body, "access_token"),
            refresh_token=body.get("refresh_token", ""),
            expires_in=body.get("expires_in"),
            scopes=" ".join(scope) if isinstance(scope, list) else str(scope),
        )

    def revoke(self, *, access_token: str, refresh_token: str) -> None:
        if not access_token:
            return
        try:
            self.request("POST", f"{self.auth}/revoke", data={"client_id": self.client_id, "token": access_token})
        except PlatformError as exc:
            if exc.kind not in (ErrorKind.AUTH, ErrorKind.REJECTED):
                raise

    def identity(self, *, access_token: str) -> Identity:
        body = self.json_body(
            self.request("GET", f"{self.api}/users", access_token=access_token, headers=self._headers())
        )
        user = self.expect(body, "data", 0)
        return Identity(
            external_id=str(user["id"]),
            display_name=str(user.get("display_name") or user.get("login", "")),
            handle=str(user.get("login", "")),
        )

    # --- live ----------------------------------------------------------------------
    def create_live(self, *, access_token: str, request: LiveRequest) -> LiveSetup:
        """1. set title (and category) on the channel, 2. read the stream key, 3. pick the ingest."""
        broadcaster = {"broadcaster_id": request.external_id}
        channel: dict[str, Any] = {"title": request.title[:140]}
        if request.category:
            channel["game_id"] = self._category_id(access_token, request.category)
        self.request(
            "PATCH",
            f"{self.api}/channels",
            access_token=access_token,
            headers=self._headers(),
            params=broadcaster,
            json=channel,
        )
        body = self.json_body(
            self.request(
                "GET", f"{self.api}/streams/key", access_token=access_token, headers=self._headers(), params=broadcaster
            )
        )
        stream_key = str(self.expect(body, "data", 0, "stream_key"))
        return LiveSetup(ingest_url=self._ingest(), stream_key=stream_key, chat_id=request.handle)

    def _category_id(self, access_token: str, name: str) -> str:
        body = self.json_body(
            self.request(
                "GET", f"{self.api}/games", access_token=access_token, headers=self._headers(), params={"name": name}
            )
        )
        games = body.get("data") or []
        if not games:
            raise PlatformError(
                ErrorKind.REJECTED,
                f"Twitch has no category called “{name}”. Check the spelling (as shown on Twitch) or leave it empty.",
                reason="unknown_category",
            )
        return str(games[0]["id"])

    def _ingest(self) -> str:
        """The default ingest from Twitch's list, RTMPS preferred, without the {stream_key} part."""
        try:
            body = self.json_body(self.request("GET", f"{settings.TWITCH_INGEST_BASE_URL.rstrip('/')}/ingests"))
        except PlatformError:
            return FALLBACK_INGEST  # the list is a nicety; the global ingest always works
        ingests = [i for i in body.get("ingests") or [] if isinstance(i, dict)]
        if not ingests:
            return FALLBACK_INGEST
        best = next((i for i in ingests if i.get("default")), None) or max(ingests, key=lambda i: i.get("priority", 0))
        template = str(best.get("url_template_secure") or best.get("url_template") or "")
        if "{stream_key}" not in template:
            return FALLBACK_INGEST
        return template.replace("{stream_key}", "").rstrip("/")

    # --- errors --------------------------------------------------------------------
    def error_from_response(self, response: httpx.Response) -> PlatformError:
        body = self.json_body(response)
        message = str(body.get("message", ""))
        status = response.status_code
        if status == 400 and message.lower() in {"invalid refresh token", "invalid token"}:
            return self.auth_error(reason=message)
        if status == 401 and message.lower().startswith("missing scope"):
            return self.permission_error(reason=message, detail=message.lower())
        if status == 403 and "partner" in message.lower():
            return PlatformError(ErrorKind.NOT_ENABLED, f"Twitch refused: {message}.", reason=message)
        return self.generic_error(status, reason=message or str(status), detail=message, headers=response.headers)
