"""Facebook: Facebook Login (manual flow with PKCE) + Graph API Live Video.

Facebook has no refresh tokens: the code is exchanged for a short-lived user
token, which is at once exchanged for a long-lived one (about 60 days). Going
live on a Page uses that Page's token, fetched with the user token when needed
and never stored. Every Graph call carries `appsecret_proof`, so a leaked token
is useless without the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from ..models import Platform
from .base import ErrorKind, Identity, LiveRequest, LiveSetup, PlatformClient, PlatformError, TokenSet, split_ingest_url

PROFILE_TARGET = "me"
# Graph API error codes (error.code) and what they mean for the creator.
_AUTH_CODES = {102, 190}
_PERMISSION_CODES = {10, 200, 210, 220, 230, 240, 250, 260, 270, 299}
_RATE_CODES = {4, 17, 32, 613, 80001}


class FacebookClient(PlatformClient):
    platform = Platform.FACEBOOK
    label = "Facebook"
    # List the pages the user manages, post live videos to them (and to the profile).
    scopes = ("pages_show_list", "pages_read_engagement", "pages_manage_posts", "publish_video")
    setting_prefix = "FACEBOOK"
    supports_scheduling = True

    @property
    def graph(self) -> str:
        return settings.FACEBOOK_GRAPH_BASE_URL.rstrip("/")

    def proof(self, access_token: str) -> str:
        return hmac.new(self.client_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()

    def call(
        self,
        method: str,
        path: str,
        *,
        access_token: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        params = {**(params or {}), "appsecret_proof": self.proof(access_token)}
        response = self.request(
            method, f"{self.graph}/{path.lstrip('/')}", access_token=access_token, params=params, data=data
        )
        return self.json_body(response)

    # --- OAuth ----------------------------------------------------------------------
    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        query = {
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": ",".join(self.scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{settings.FACEBOOK_DIALOG_BASE_URL.rstrip('/')}/dialog/oauth?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        short = self._token_call({"code": code, "redirect_uri": redirect_uri, "code_verifier": code_verifier})
        return self._long_lived(short["access_token"])

    def refresh(self, *, access_token: str, refresh_token: str) -> TokenSet:
        # No refresh token on Facebook: a still-valid long-lived token is exchanged again.
        if not access_token:
            raise self.auth_error(reason="no_token")
        return self._long_lived(access_token)

    def _long_lived(self, access_token: str) -> TokenSet:
        body = self._token_call({"grant_type": "fb_exchange_token", "fb_exchange_token": access_token})
        return TokenSet(
            access_token=self.expect(body, "access_token"), refresh_token="", expires_in=body.get("expires_in")
        )

    def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        # POST with a form body, not GET with a query string: the secret and code stay out of URLs and logs.
        form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        body = self.json_body(self.request("POST", f"{self.graph}/oauth/access_token", data=form))
        self.expect(body, "access_token")
        return body

    def revoke(self, *, access_token: str, refresh_token: str) -> None:
        if not access_token:
            return
        try:
            self.call("DELETE", "me/permissions", access_token=access_token)
        except PlatformError as exc:
            if exc.kind not in (ErrorKind.AUTH, ErrorKind.REJECTED):
                raise

    def identity(self, *, access_token: str) -> Identity:
        me = self.call("GET", "me", access_token=access_token, params={"fields": "id,name"})
        pages = self.call("GET", "me/accounts", access_token=access_token, params={"fields": "id,name"})
        targets = [{"id": PROFILE_TARGET, "name": f"{me.get('name', '')} (profile)", "kind": "profile"}]
        targets += [
            {"id": str(page["id"]), "name": str(page.get("name", "")), "kind": "page"}
            for page in pages.get("data") or []
            if isinstance(page, dict) and "id" in page
        ]
        return Identity(external_id=str(self.expect(me, "id")), display_name=str(me.get("name", "")), targets=targets)

    # --- live ----------------------------------------------------------------------
    def _token_for(self, access_token: str, target_id: str) -> str:
        """The token that may post on `target_id`: the user's own for the profile, the Page's for a Page."""
        if target_id in ("", PROFILE_TARGET):
            return access_token
        page = self.call("GET", target_id, access_token=access_token, params={"fields": "access_token"})
        if "access_token" not in page:
            raise self.permission_error(reason="no_page_token", detail="you are not an admin of that Page")
        return str(page["access_token"])

    def create_live(self, *, access_token: str, request: LiveRequest) -> LiveSetup:
        target = request.target_id or PROFILE_TARGET
        token = self._token_for(access_token, target)
        form: dict[str, Any] = {"title": request.title[:254], "description": request.description[:5000]}
        if request.for_later and request.scheduled_start:
            form["status"] = "SCHEDULED_UNPUBLISHED"
            form["planned_start_time"] = int(request.scheduled_start.timestamp())
        else:
            form["status"] = "LIVE_NOW"
        body = self.call("POST", f"{target}/live_videos", access_token=token, data=form)
        video_id = str(self.expect(body, "id"))
        url = body.get("secure_stream_url") or self.expect(body, "stream_url")
        ingest_url, stream_key = split_ingest_url(str(url))
        return LiveSetup(
            ingest_url=ingest_url, stream_key=stream_key, broadcast_id=video_id, chat_id=video_id, target_id=target
        )

    def start_live(self, *, access_token: str, setup: LiveSetup) -> bool:
        return True  # LIVE_NOW videos appear as soon as video arrives

    def go_live_now(self, *, access_token: str, setup: LiveSetup) -> None:
        """A video created for later (SCHEDULED_UNPUBLISHED) is switched to LIVE_NOW at go-live."""
        token = self._token_for(access_token, setup.target_id)
        self.call("POST", setup.broadcast_id, access_token=token, data={"status": "LIVE_NOW"})

    def end_live(self, *, access_token: str, setup: LiveSetup) -> None:
        if not setup.broadcast_id:
            return
        token = self._token_for(access_token, setup.target_id)
        self.call("POST", setup.broadcast_id, access_token=token, data={"end_live_video": "true"})

    # --- errors --------------------------------------------------------------------
    def error_from_response(self, response: httpx.Response) -> PlatformError:
        error = self.json_body(response).get("error")
        if not isinstance(error, dict):
            return self.generic_error(response.status_code, headers=response.headers)
        code = error.get("code")
        reason = f"{error.get('type', 'error')}:{code}"
        message = str(error.get("message", ""))
        if code in _AUTH_CODES:
            return self.auth_error(reason=reason)
        if code in _PERMISSION_CODES:
            return self.permission_error(reason=reason, detail="publish live video on this profile or Page")
        if code in _RATE_CODES or response.status_code == 429:
            return PlatformError(
                ErrorKind.RATE_LIMITED,
                "Facebook is limiting how many calls StreamUs may make for this account right now. "
                "Wait a few minutes, then try again.",
                reason=reason,
            )
        return self.generic_error(response.status_code, reason=reason, detail=message, headers=response.headers)
