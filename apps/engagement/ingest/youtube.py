"""YouTube live chat: `liveChatMessages.streamList` (server streaming), else `liveChatMessages.list` polling.

Each call costs quota, so the poller never asks sooner than the
`pollingIntervalMillis` of the previous answer, and always continues from its
`nextPageToken` (a restart restores both from `state()`). A quota or rate
error pauses polling for `quota_backoff` seconds instead of retrying hot; the
chat ending (`offlineAt`, `liveChatEnded`, `liveChatNotFound`,
`liveChatDisabled`) finishes the source.

`YouTubeChatStream` keeps one request open and receives pages as they are
posted (streamed JSON array over HTTP), resuming with the last nextPageToken
after a drop, and falls back to polling where the endpoint is not available.

References: https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list and
https://developers.google.com/youtube/v3/live/docs/liveChatMessages/streamList
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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


class _JsonArrayStream:
    """Incremental reader of a streamed JSON array (`[{...},\n{...}` arriving in pieces), as Google's
    REST transport delivers server-streaming RPCs: yields each element as soon as it is complete."""

    def __init__(self) -> None:
        self.buffer = ""
        self.started = False
        self._decoder = json.JSONDecoder()

    def feed(self, text: str) -> list[Any]:
        self.buffer += text
        out: list[Any] = []
        while True:
            stripped = self.buffer.lstrip(" \t\r\n,")
            if not self.started:
                if not stripped:
                    self.buffer = ""
                    return out
                if stripped[0] != "[":
                    raise ValueError("not a streamed JSON array")
                stripped = stripped[1:]
                self.started = True
                self.buffer = stripped
                continue
            if not stripped or stripped[0] == "]":
                self.buffer = stripped
                return out
            try:
                value, end = self._decoder.raw_decode(stripped)
            except json.JSONDecodeError:
                self.buffer = stripped  # incomplete element: wait for more
                return out
            out.append(value)
            self.buffer = stripped[end:]


class YouTubeChatStream(YouTubeChatPoller):
    """`liveChatMessages.streamList`: one long request that sends pages as messages are posted.

    Each streamed element is a LiveChatMessageListResponse; its nextPageToken resumes the
    stream after a drop. If the endpoint is not available to this project (404/405/501), or
    answers something that is not a streamed JSON array, the source falls back to polling
    `liveChatMessages.list` (the parent class) for the rest of the show.
    """

    def __init__(self, *, event_timeout: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stream_url = self.url + "/stream"
        self.mode = "stream"
        self.event_timeout = event_timeout
        self.stream_connections = 0
        self._reader: asyncio.Task[None] | None = None
        self._pages: asyncio.Queue[dict[str, Any] | BaseException | str] = asyncio.Queue()

    def state(self) -> dict[str, Any]:
        return {**super().state(), "mode": self.mode}

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        self.mode = str(state.get("mode") or self.mode)

    def idle_seconds(self) -> float:
        return super().idle_seconds() if self.mode == "poll" or self.clock() < self.next_poll_at else 0.0

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
            self._pages = asyncio.Queue()
        await super().close()

    async def step(self) -> bool:
        if self.mode == "poll":
            return await super().step()
        if self.clock() < self.next_poll_at:
            return False  # quota backoff
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())
        try:
            page = await asyncio.wait_for(self._pages.get(), timeout=self.event_timeout)
        except TimeoutError:
            return False
        if page == "fallback":
            await self.close()
            self.mode = "poll"
            return True
        if isinstance(page, BaseException):
            self._reader = None
            raise page
        assert isinstance(page, dict)
        for item in page.get("items") or []:
            comment = parse_item(item)
            if comment is not None:
                await self.deliver(comment)
        self.page_token = str(page.get("nextPageToken") or self.page_token)
        if page.get("offlineAt"):
            raise SourceFinished("the live chat went offline")
        return True

    async def _read(self) -> None:
        params = {"liveChatId": self.live_chat_id, "part": "id,snippet,authorDetails", "profileImageSize": "88"}
        if self.page_token:
            params["pageToken"] = self.page_token
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout, read=None))
        try:
            async with self._client.stream("GET", self.stream_url, params=params, headers=headers) as response:
                if response.status_code in {404, 405, 501}:
                    await self._pages.put("fallback")
                    return
                if response.status_code != 200:
                    await response.aread()
                    self._handle_error(response)  # raises, or sets the quota backoff
                    raise TransientError(f"streamList answered {response.status_code}")
                self.stream_connections += 1
                parser = _JsonArrayStream()
                async for text in response.aiter_text():
                    try:
                        pages = parser.feed(text)
                    except ValueError:
                        await self._pages.put("fallback")
                        return
                    for page in pages:
                        await self._pages.put(page)
                raise TransientError("streamList connection closed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to step(), which raises it in the loop
            await self._pages.put(exc)
