"""Platform clients: one small module per platform behind `PlatformClient`.

The contract every platform module (youtube.py, twitch.py, facebook.py) keeps:

- Class attributes: `platform` (a `Platform` value), `label` (the product's name
  for it), `scopes` (the fewest OAuth scopes that do the job), `setting_prefix`
  (`<PREFIX>_CLIENT_ID` / `<PREFIX>_CLIENT_SECRET` in settings) and
  `supports_scheduling` (whether the platform side can be created ahead of the show).
- OAuth 2.0 authorization code with PKCE (S256):
  `authorize_url(redirect_uri=, state=, code_challenge=)` is where the browser goes;
  `exchange_code(code=, redirect_uri=, code_verifier=)` returns a `TokenSet`;
  `refresh(access_token=, refresh_token=)` returns a new `TokenSet` before the old one expires;
  `revoke(access_token=, refresh_token=)` gives the grant back (an already dead token is not an error);
  `identity(access_token=)` says which channel / user / pages the tokens belong to.
- Going live: `create_live(access_token=, request=)` creates the platform side and
  returns the ingest address, key and chat id in a `LiveSetup`;
  `start_live(access_token=, setup=)` is one step called while video flows, returning
  True once the platform shows the show live (False: not yet, call again);
  `end_live(access_token=, setup=)` ends it on the platform.

Rules: clients are stateless (no database; tokens in, results out); every HTTP
call goes through `request()` with the settings timeout; every failure is a
`PlatformError` whose `kind` says what happened and whose message tells the
creator, in plain words, what to do. Tokens travel in headers or form bodies,
never in URLs (which httpx logs), messages or log records.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)


class ErrorKind(enum.StrEnum):
    AUTH = "auth"  # token revoked / expired / invalid_grant: reconnect the account
    PERMISSION = "permission"  # a scope or page role is missing
    NOT_ENABLED = "not_enabled"  # the channel cannot go live (YouTube live streaming not enabled)
    QUOTA = "quota"  # the app's daily quota is used up
    RATE_LIMITED = "rate_limited"  # too many requests right now (429)
    UNAVAILABLE = "unavailable"  # network failure or a 5xx
    REJECTED = "rejected"  # anything else the platform refused


class PlatformError(Exception):
    """A platform refused or failed; `str(error)` is safe to show to the creator and to store."""

    def __init__(self, kind: ErrorKind, message: str, *, reason: str = "", retry_after: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.reason = reason  # the platform's own error code, for logs and tests
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)  # None: keep the one we have
    expires_in: int | None = None
    scopes: str = ""


@dataclass(frozen=True)
class Identity:
    external_id: str
    display_name: str
    handle: str = ""
    # Other places the same login can go live to (Facebook pages): [{"id", "name", "kind"}].
    targets: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class LiveRequest:
    title: str
    description: str
    privacy: str = "public"
    scheduled_start: datetime | None = None
    category: str = ""
    # The account's own id and handle, and where to go live (a Facebook page id; "" = the account itself).
    external_id: str = ""
    handle: str = ""
    target_id: str = ""
    # Create the platform side for a later show (scheduling) rather than going live now.
    for_later: bool = False


@dataclass(frozen=True)
class LiveSetup:
    ingest_url: str = ""  # rtmp(s)://host/app, without the key
    stream_key: str = field(default="", repr=False)
    broadcast_id: str = ""  # YouTube liveBroadcast id / Facebook live video id
    stream_id: str = ""  # YouTube liveStream id
    chat_id: str = ""  # YouTube liveChatId / Twitch channel login / Facebook live video id
    target_id: str = ""


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(64)  # 86 characters, inside the 43..128 the RFC allows
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def split_ingest_url(url: str) -> tuple[str, str]:
    """`rtmps://host:443/rtmp/KEY?query` -> (`rtmps://host:443/rtmp`, `KEY?query`): the key is the last path part."""
    scheme, sep, rest = url.partition("://")
    host_and_path = rest.split("?", 1)[0]
    if not sep or "/" not in host_and_path.rstrip("/"):
        return url, ""
    # The key starts after the last "/" that comes before any query string.
    cut = len(scheme) + len(sep) + host_and_path.rstrip("/").rfind("/")
    return url[:cut], url[cut + 1 :]


class PlatformClient:
    platform: ClassVar[str] = ""
    label: ClassVar[str] = ""
    scopes: ClassVar[tuple[str, ...]] = ()
    setting_prefix: ClassVar[str] = ""
    supports_scheduling: ClassVar[bool] = False

    # --- configuration -------------------------------------------------------------
    @property
    def client_id(self) -> str:
        return str(getattr(settings, f"{self.setting_prefix}_CLIENT_ID", "") or "")

    @property
    def client_secret(self) -> str:
        return str(getattr(settings, f"{self.setting_prefix}_CLIENT_SECRET", "") or "")

    def is_configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def not_configured_message(self) -> str:
        return (
            f"{self.label} is not set up on this StreamUs server. The administrator registers an app with "
            f"{self.label} and sets {self.setting_prefix}_CLIENT_ID and {self.setting_prefix}_CLIENT_SECRET."
        )

    # --- the contract (see the module docstring) --------------------------------------
    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        raise NotImplementedError

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        raise NotImplementedError

    def refresh(self, *, access_token: str, refresh_token: str) -> TokenSet:
        raise NotImplementedError

    def revoke(self, *, access_token: str, refresh_token: str) -> None:
        raise NotImplementedError

    def identity(self, *, access_token: str) -> Identity:
        raise NotImplementedError

    def create_live(self, *, access_token: str, request: LiveRequest) -> LiveSetup:
        raise NotImplementedError

    def start_live(self, *, access_token: str, setup: LiveSetup) -> bool:
        return True

    def end_live(self, *, access_token: str, setup: LiveSetup) -> None:
        return None

    # --- HTTP ---------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """One call to the platform; a non-2xx answer becomes a PlatformError from `error_from_response`."""
        all_headers = {"Accept": "application/json", **(headers or {})}
        if access_token:
            all_headers["Authorization"] = f"Bearer {access_token}"
        try:
            with httpx.Client(timeout=settings.PLATFORM_HTTP_TIMEOUT, follow_redirects=False) as client:
                response = client.request(method, url, headers=all_headers, params=params, json=json, data=data)
        except httpx.HTTPError as exc:
            # The exception text names the URL only (no tokens are ever in our URLs).
            logger.warning("%s request failed: %s", self.label, type(exc).__name__)
            raise PlatformError(
                ErrorKind.UNAVAILABLE,
                f"{self.label} could not be reached. Check the server's internet connection and try again in a minute.",
                reason=type(exc).__name__,
            ) from None
        if response.status_code >= 400:
            error = self.error_from_response(response)
            logger.info(
                "%s answered %s (%s, %s)", self.label, response.status_code, error.kind.value, error.reason or "-"
            )
            raise error
        return response

    def error_from_response(self, response: httpx.Response) -> PlatformError:
        """The generic reading of an HTTP error; platform modules refine it from the body."""
        return self.generic_error(response.status_code, reason=str(response.status_code), headers=response.headers)

    def generic_error(
        self, status: int, *, reason: str = "", detail: str = "", headers: httpx.Headers | None = None
    ) -> PlatformError:
        label = self.label
        if status == 429:
            retry_after = retry_after_seconds(headers)
            wait = f"about {retry_after} seconds" if retry_after else "a minute"
            return PlatformError(
                ErrorKind.RATE_LIMITED,
                f"{label} is limiting how fast StreamUs may call it. Wait {wait}, then try again.",
                reason=reason or "429",
                retry_after=retry_after,
            )
        if status == 401:
            return self.auth_error(reason=reason)
        if status == 403:
            return self.permission_error(reason=reason, detail=detail)
        if status >= 500:
            return PlatformError(
                ErrorKind.UNAVAILABLE,
                f"{label} had an internal problem. Try again in a minute.",
                reason=reason or str(status),
            )
        extra = f" ({detail})" if detail else ""
        return PlatformError(ErrorKind.REJECTED, f"{label} refused the request{extra}.", reason=reason or str(status))

    def auth_error(self, *, reason: str = "") -> PlatformError:
        return PlatformError(
            ErrorKind.AUTH,
            f"{self.label} no longer accepts StreamUs's access to this account (it was revoked, expired or the "
            f"password changed). Reconnect it on the Connected accounts page.",
            reason=reason,
        )

    def permission_error(self, *, reason: str = "", detail: str = "") -> PlatformError:
        extra = f" ({detail})" if detail else ""
        return PlatformError(
            ErrorKind.PERMISSION,
            f"{self.label} says StreamUs is missing a permission{extra}. Reconnect the account on the Connected "
            f"accounts page and allow everything StreamUs asks for.",
            reason=reason,
        )

    # --- helpers ------------------------------------------------------------------
    @staticmethod
    def json_body(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def expect(self, body: dict[str, Any], *keys: str | int) -> Any:
        """Walk `keys` into a JSON answer; a missing part is a REJECTED error, not a KeyError."""
        value: Any = body
        for key in keys:
            found = (isinstance(value, dict) and key in value) or (
                isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value)
            )
            if found:
                value = value[key]  # type: ignore[index]
            else:
                raise PlatformError(
                    ErrorKind.REJECTED,
                    f"{self.label} answered in a way StreamUs did not expect (no {'.'.join(map(str, keys))}). "
                    f"Try again; if it keeps happening, report it to the administrator.",
                    reason="unexpected_response",
                )
        return value


def retry_after_seconds(headers: httpx.Headers | None) -> int | None:
    if not headers:
        return None
    raw = headers.get("Retry-After")
    if raw and raw.strip().isdigit():
        return int(raw.strip())
    # Twitch: Ratelimit-Reset is the epoch second when the bucket refills.
    reset = headers.get("Ratelimit-Reset")
    if reset and reset.strip().isdigit():
        return max(0, int(reset.strip()) - int(time.time()))
    return None
