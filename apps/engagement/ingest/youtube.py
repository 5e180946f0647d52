"""YouTube live chat through `liveChatMessages.list` polling.

Each call costs quota, so the poller never asks sooner than the
`pollingIntervalMillis` of the previous answer, and always continues from its
`nextPageToken` (a restart restores both from `state()`). A quota or rate
error pauses polling for `quota_backoff` seconds instead of retrying hot; the
chat ending (`offlineAt`, `liveChatEnded`, `liveChatNotFound`,
`liveChatDisabled`) finishes the source.

Reference: https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from apps.engagement.ingest.base import AuthFailed, ChatSource, IncomingComment, Sink, SourceFinished, TransientError

# When the answer carries no interval (it always should), wait this long.
DEFAULT_INTERVAL_SECONDS = 5.0
# quotaExceeded lasts until the daily reset; asking every few seconds only burns more. Check again in 10 min.
DEFAULT_QUOTA_BACKOFF_SECONDS = 600.0
FINISHED_REASONS = {"liveChatEnded", "liveChatNotFound", "liveChatDisabled", "forbidden"}
QUOTA_REASONS = {"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded"}
# Message types that carry something a viewer wrote.
TEXT_TYPES = {"textMessageEvent", "superChatEvent", "superStickerEvent"}


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_item(item: dict[str, Any]) -> IncomingComment | None:
    snippet = item.get("snippet") or {}
    if snippet.get("type") not in TEXT_TYPES:
        return None
    author = item.get("authorDetails") or {}
    text = (
        (snippet.get("textMessageDetails") or {}).get("messageText")
        or (snippet.get("superChatDetails") or {}).get("userComment")
        or snippet.get("displayMessage")
        or ""
    )
    if not text or not item.get("id"):
        return None
    return IncomingComment(
        platform="youtube",
        message_id=str(item["id"]),
        author_name=str(author.get("displayName") or ""),
        author_id=str(author.get("channelId") or snippet.get("authorChannelId") or ""),
        avatar_url=str(author.get("profileImageUrl") or ""),
        text=str(text),
        sent_at=parse_time(snippet.get("publishedAt")),
    )


def error_reason(response: httpx.Response) -> str:
    try:
        errors = response.json().get("error", {}).get("errors") or [{}]
        return str(errors[0].get("reason", ""))
    except (ValueError, AttributeError):
        return ""


class YouTubeChatPoller(ChatSource):
    platform = "youtube"

    def __init__(
        self,
        *,
        sink: Sink,
        live_chat_id: str,
        access_token: str | Callable[[], str],
        base_url: str,
        clock: Callable[[], float] = time.monotonic,
        quota_backoff: float = DEFAULT_QUOTA_BACKOFF_SECONDS,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(sink=sink, clock=clock)
        self.live_chat_id = live_chat_id
        self._token = access_token
        self.url = base_url.rstrip("/") + "/liveChat/messages"
        self.quota_backoff = quota_backoff
        self.timeout = timeout
        self.page_token = ""
        self.next_poll_at = 0.0
        self.polls = 0
        self._client: httpx.AsyncClient | None = None

    def _access_token(self) -> str:
        return self._token() if callable(self._token) else self._token

    def idle_seconds(self) -> float:
        return max(0.0, self.next_poll_at - self.clock())

    def state(self) -> dict[str, Any]:
        # next_poll_at is on the monotonic clock of this process: store the remaining wait instead.
        return {"page_token": self.page_token, "wait": self.idle_seconds(), "saved_at": time.time()}

    def restore(self, state: dict[str, Any]) -> None:
        self.page_token = str(state.get("page_token") or "")
        remaining = float(state.get("wait") or 0) - (time.time() - float(state.get("saved_at") or time.time()))
        self.next_poll_at = self.clock() + max(0.0, remaining)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def step(self) -> bool:
        if self.clock() < self.next_poll_at:
            return False
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        params = {
            "liveChatId": self.live_chat_id,
            "part": "id,snippet,authorDetails",
            "maxResults": "2000",
            "profileImageSize": "88",
        }
        if self.page_token:
            params["pageToken"] = self.page_token
        self.polls += 1
        response = await self._client.get(
            self.url, params=params, headers={"Authorization": f"Bearer {self._access_token()}"}
        )
        if response.status_code != 200:
            self._handle_error(response)
            return False
        body = response.json()
        for item in body.get("items") or []:
            comment = parse_item(item)
            if comment is not None:
                await self.deliver(comment)
        self.page_token = str(body.get("nextPageToken") or self.page_token)
        interval_ms = body.get("pollingIntervalMillis")
        interval = float(interval_ms) / 1000 if isinstance(interval_ms, int | float) else DEFAULT_INTERVAL_SECONDS
        self.next_poll_at = self.clock() + interval
        if body.get("offlineAt"):
            raise SourceFinished("the live chat went offline")
        return True

    def _handle_error(self, response: httpx.Response) -> None:
        reason = error_reason(response)
        self.last_error = f"{response.status_code} {reason}".strip()
        if reason in QUOTA_REASONS or response.status_code == 429:
            # Not a connection problem: keep the client, just do not ask again before the backoff.
            self.next_poll_at = self.clock() + self.quota_backoff
            return
        if response.status_code == 401:
            raise AuthFailed(self.last_error)
        if reason in FINISHED_REASONS or response.status_code == 404:
            raise SourceFinished(self.last_error)
        if response.status_code >= 500:
            raise TransientError(self.last_error)
        # Any other 4xx is a request we cannot fix by retrying.
        raise SourceFinished(self.last_error)
