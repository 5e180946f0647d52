"""YouTube: Google OAuth 2.0 + YouTube Data API v3 (Live Streaming).

Go-live is three calls (liveBroadcasts.insert, liveStreams.insert, liveBroadcasts.bind);
the broadcast is moved to `live` only once YouTube reports the bound stream `active`
(video is arriving), and to `complete` at the end.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.utils import timezone

from ..models import Platform
from .base import ErrorKind, Identity, LiveRequest, LiveSetup, PlatformClient, PlatformError, TokenSet

# YouTube error reasons (errors[].reason) and what they mean for the creator.
_NOT_ENABLED = {"liveStreamingNotEnabled", "livePermissionBlocked"}
_QUOTA = {"quotaExceeded", "dailyLimitExceeded"}
_RATE = {"rateLimitExceeded", "userRequestsExceedRateLimit", "userRateLimitExceeded"}
_PERMISSION = {"insufficientPermissions", "insufficientLivePermissions", "forbidden"}
# The bound stream is not receiving video yet: "not yet", not a failure.
_NOT_READY = {"errorStreamInactive"}
# Already in the state we asked for.
_REDUNDANT = {"redundantTransition"}
# Not possible from the broadcast's state (e.g. `complete` for a broadcast that never went live).
_INVALID = {"invalidTransition"}


class YouTubeClient(PlatformClient):
    platform = Platform.YOUTUBE
    label = "YouTube"
    # Creating and transitioning broadcasts needs `youtube`; it also reads live chat.
    scopes = ("https://www.googleapis.com/auth/youtube",)
    setting_prefix = "YOUTUBE"
    supports_scheduling = True

    @property
    def api(self) -> str:
        return settings.YOUTUBE_API_BASE_URL.rstrip("/")

    @property
    def oauth(self) -> str:
        return settings.GOOGLE_OAUTH_BASE_URL.rstrip("/")

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
            # offline + consent: Google only returns a refresh token when both are asked.
            "access_type": "offline",
            "prompt": "consent",
        }
        return f"{settings.GOOGLE_ACCOUNTS_BASE_URL.rstrip('/')}/o/oauth2/v2/auth?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        body = self._token_call(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )
        return TokenSet(
            access_token=self.expect(body, "access_token"),
            refresh_token=body.get("refresh_token", ""),
            expires_in=body.get("expires_in"),
            scopes=body.get("scope", ""),
        )

    def refresh(self, *, access_token: str, refresh_token: str) -> TokenSet:
        if not refresh_token:
            raise self.auth_error(reason="no_refresh_token")
        body = self._token_call({"grant_type": "refresh_token", "refresh_token": refresh_token})
        # Google keeps the refresh token the same and leaves it out of the answer.
        return TokenSet(
            access_token=self.expect(body, "access_token"),
            refresh_token=body.get("refresh_token"),
            expires_in=body.get("expires_in"),
            scopes=body.get("scope", ""),
        )

    def revoke(self, *, access_token: str, refresh_token: str) -> None:
        # Revoking the refresh token revokes the whole grant (and its access tokens).
        token = refresh_token or access_token
        if not token:
            return
        try:
            self.request("POST", f"{self.oauth}/revoke", data={"token": token})
        except PlatformError as exc:
            if exc.kind not in (ErrorKind.AUTH, ErrorKind.REJECTED):
                raise  # an already invalid token is revoked enough

    def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        return self.json_body(self.request("POST", f"{self.oauth}/token", data=form))

    def identity(self, *, access_token: str) -> Identity:
        body = self.json_body(
            self.request(
                "GET", f"{self.api}/channels", access_token=access_token, params={"part": "snippet", "mine": "true"}
            )
        )
        items = body.get("items") or []
        if not items:
            raise PlatformError(
                ErrorKind.NOT_ENABLED,
                "This Google account has no YouTube channel. Create one on youtube.com, then connect again.",
                reason="noChannel",
            )
        channel = items[0]
        snippet = channel.get("snippet", {})
        return Identity(
            external_id=str(channel["id"]),
            display_name=snippet.get("title", ""),
            handle=snippet.get("customUrl", ""),
        )

    # --- live ----------------------------------------------------------------------
    def create_live(self, *, access_token: str, request: LiveRequest) -> LiveSetup:
        """1. insert the broadcast, 2. insert the stream (our ingest), 3. bind them."""
        start = request.scheduled_start or timezone.now()
        broadcast = self.json_body(
            self.request(
                "POST",
                f"{self.api}/liveBroadcasts",
                access_token=access_token,
                params={"part": "snippet,status,contentDetails"},
                json={
                    "snippet": {
                        "title": request.title[:100],  # YouTube's title limit
                        "description": request.description[:5000],
                        "scheduledStartTime": _rfc3339(start),
                    },
                    "status": {"privacyStatus": request.privacy, "selfDeclaredMadeForKids": False},
                    "contentDetails": {
                        # We transition ourselves once video is active; the monitor stream
                        # would force a `testing` step first.
                        "enableAutoStart": False,
                        "enableAutoStop": False,
                        "monitorStream": {"enableMonitorStream": False},
                    },
                },
            )
        )
        broadcast_id = str(self.expect(broadcast, "id"))
        chat_id = str(broadcast.get("snippet", {}).get("liveChatId", ""))
        stream = self.json_body(
            self.request(
                "POST",
                f"{self.api}/liveStreams",
                access_token=access_token,
                params={"part": "snippet,cdn,contentDetails,status"},
                json={
                    "snippet": {"title": f"StreamUs: {request.title}"[:128]},
                    "cdn": {"ingestionType": "rtmp", "resolution": "variable", "frameRate": "variable"},
                    "contentDetails": {"isReusable": False},
                },
            )
        )
        stream_id = str(self.expect(stream, "id"))
        ingestion = self.expect(stream, "cdn", "ingestionInfo")
        ingest_url = ingestion.get("rtmpsIngestionAddress") or self.expect(ingestion, "ingestionAddress")
        stream_key = str(self.expect(ingestion, "streamName"))
        self.request(
            "POST",
            f"{self.api}/liveBroadcasts/bind",
            access_token=access_token,
            params={"id": broadcast_id, "streamId": stream_id, "part": "id,contentDetails"},
        )
        return LiveSetup(
            ingest_url=str(ingest_url),
            stream_key=stream_key,
            broadcast_id=broadcast_id,
            stream_id=stream_id,
            chat_id=chat_id,
        )

    def start_live(self, *, access_token: str, setup: LiveSetup) -> bool:
        body = self.json_body(
            self.request(
                "GET",
                f"{self.api}/liveStreams",
                access_token=access_token,
                params={"part": "status", "id": setup.stream_id},
            )
        )
        items = body.get("items") or []
        if not items or items[0].get("status", {}).get("streamStatus") != "active":
            return False
        return self._transition(access_token, setup.broadcast_id, "live")

    def end_live(self, *, access_token: str, setup: LiveSetup) -> None:
        if not setup.broadcast_id:
            return
        try:
            self._transition(access_token, setup.broadcast_id, "complete")
        except PlatformError as exc:
            if exc.reason not in _INVALID:
                raise
            # Never went live (no video reached YouTube): remove the empty broadcast rather than
            # leave an "upcoming" stream on the channel forever.
            self.request(
                "DELETE", f"{self.api}/liveBroadcasts", access_token=access_token, params={"id": setup.broadcast_id}
            )

    def _transition(self, access_token: str, broadcast_id: str, status: str) -> bool:
        try:
            self.request(
                "POST",
                f"{self.api}/liveBroadcasts/transition",
                access_token=access_token,
                params={"broadcastStatus": status, "id": broadcast_id, "part": "status"},
            )
        except PlatformError as exc:
            if exc.reason in _REDUNDANT:
                return True
            if exc.reason in _NOT_READY:
                return False
            raise
        return True

    # --- errors --------------------------------------------------------------------
    def error_from_response(self, response: httpx.Response) -> PlatformError:
        body = self.json_body(response)
        error = body.get("error")
        status = response.status_code
        if isinstance(error, str):
            # The OAuth endpoints answer {"error": "invalid_grant", "error_description": ...}.
            if error in {"invalid_grant", "invalid_token", "unauthorized_client"}:
                return self.auth_error(reason=error)
            return self.generic_error(status, reason=error, detail=str(body.get("error_description", "")))
        if not isinstance(error, dict):
            return self.generic_error(status, headers=response.headers)
        errors = error.get("errors") or [{}]
        reason = str(errors[0].get("reason", ""))
        if reason in _NOT_ENABLED:
            return PlatformError(
                ErrorKind.NOT_ENABLED,
                "This YouTube channel cannot go live yet. Turn on live streaming at https://www.youtube.com/features "
                "(the first time it can take up to 24 hours), then go live again.",
                reason=reason,
            )
        if reason in _QUOTA:
            return PlatformError(
                ErrorKind.QUOTA,
                "YouTube's daily API quota for this StreamUs server is used up; it resets at midnight Pacific time. "
                "Until then, add YouTube as a custom RTMP destination with the stream key from YouTube Studio.",
                reason=reason,
            )
        if reason in _RATE:
            return PlatformError(
                ErrorKind.RATE_LIMITED,
                "YouTube is limiting how fast StreamUs may call it. Wait a minute, then try again.",
                reason=reason,
            )
        if reason in _PERMISSION:
            return self.permission_error(reason=reason, detail="manage your YouTube live streams")
        if reason in _NOT_READY | _REDUNDANT | _INVALID:
            return PlatformError(ErrorKind.REJECTED, str(error.get("message", reason)), reason=reason)
        return self.generic_error(status, reason=reason, detail=str(error.get("message", "")), headers=response.headers)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
