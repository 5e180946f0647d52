"""Facebook Live comments: the live_comments server-sent-events stream, else Graph API polling.

Stream: `GET {streaming}/{live-video-id}/live_comments?access_token=…&comment_rate=…&fields=…`
answers `text/event-stream`; each `data:` line is one comment as JSON. We honour
`retry:` and resend `Last-Event-ID` after a drop (duplicates are dropped by
comment_ingest anyway).

Polling: `GET {graph}/{live-video-id}/comments?order=chronological&filter=stream&after=<cursor>`,
following `paging.cursors.after`. Graph rate-limit errors (codes 4, 17, 32, 613)
and an `X-App-Usage` above 90 % slow the poller down rather than hammering.

If the stream endpoint refuses the request (4xx other than auth), the source
falls back to polling for the rest of the show.

References: https://developers.facebook.com/docs/live-video-api/guides/comments
and https://developers.facebook.com/docs/graph-api/overview/rate-limiting
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from apps.core.logging import register_secret
from apps.engagement.ingest.base import AuthFailed, ChatSource, IncomingComment, Sink, SourceFinished, TransientError
from apps.engagement.ingest.youtube import parse_time

FIELDS = "id,message,created_time,from{id,name,picture}"
COMMENT_RATE = "ten_per_second"
DEFAULT_POLL_SECONDS = 3.0
RATE_LIMIT_CODES = {4, 17, 32, 613}
AUTH_CODES = {102, 190}
RATE_LIMIT_BACKOFF_SECONDS = 60.0
# Above this share of the app's call budget (X-App-Usage), poll half as often.
USAGE_SLOWDOWN_PERCENT = 90


def parse_comment(data: dict[str, Any]) -> IncomingComment | None:
    if not data.get("id") or not data.get("message"):
        return None
    author = data.get("from") or {}
    picture = ((author.get("picture") or {}).get("data") or {}).get("url") or ""
    return IncomingComment(
        platform="facebook",
        message_id=str(data["id"]),
        author_name=str(author.get("name") or ""),
        author_id=str(author.get("id") or ""),
        avatar_url=str(picture),
        text=str(data["message"]),
        sent_at=parse_time(str(data.get("created_time") or "").replace("+0000", "+00:00")),
    )


def graph_error(response: httpx.Response) -> tuple[int, str]:
    try:
        error = response.json().get("error") or {}
        return int(error.get("code") or 0), str(error.get("message") or "")
    except (ValueError, AttributeError, TypeError):
        return 0, ""


class FacebookCommentsSource(ChatSource):
    platform = "facebook"

    def __init__(
        self,
        *,
        sink: Sink,
        live_video_id: str,
        access_token: str,
        streaming_base_url: str,
        graph_base_url: str,
        use_stream: bool = True,
        poll_interval: float = DEFAULT_POLL_SECONDS,
        rate_limit_backoff: float = RATE_LIMIT_BACKOFF_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        event_timeout: float = 1.0,
        app_secret: str = "",
    ) -> None:
        super().__init__(sink=sink, clock=clock)
        register_secret(access_token)  # it travels in query strings, which httpx logs
        self.live_video_id = live_video_id
        self.access_token = access_token
        # Apps that require it (as ours does for the Graph calls in apps/destinations) sign each token.
        self.appsecret_proof = (
            hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest() if app_secret else ""
        )
        self.streaming_url = f"{streaming_base_url.rstrip('/')}/{live_video_id}/live_comments"
        self.comments_url = f"{graph_base_url.rstrip('/')}/{live_video_id}/comments"
        self.mode = "stream" if use_stream else "poll"
        self.poll_interval = poll_interval
        self.rate_limit_backoff = rate_limit_backoff
        self.event_timeout = event_timeout
        self.after = ""
        self.last_event_id = ""
        self.retry_ms: int | None = None
        self.next_poll_at = 0.0
        self.polls = 0
        self.stream_connections = 0
        self._client: httpx.AsyncClient | None = None
        self._reader: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()

    # --- shared -------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"mode": self.mode, "after": self.after, "last_event_id": self.last_event_id}

    def restore(self, state: dict[str, Any]) -> None:
        self.mode = state.get("mode") or self.mode
        self.after = str(state.get("after") or "")
        self.last_event_id = str(state.get("last_event_id") or "")

    def idle_seconds(self) -> float:
        return max(0.0, self.next_poll_at - self.clock()) if self.mode == "poll" else 0.0

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))
        return self._client

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
            self._events = asyncio.Queue()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def step(self) -> bool:
        if self.mode == "stream":
            return await self._stream_step()
        return await self._poll_step()

    # --- server-sent events ---------------------------------------------------------
    async def _stream_step(self) -> bool:
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_stream())
        try:
            event = await asyncio.wait_for(self._events.get(), timeout=self.event_timeout)
        except TimeoutError:
            return False
        if isinstance(event, BaseException):
            self._reader = None
            raise event
        if event.get("_fallback"):
            await self.close()
            self.mode = "poll"
            return True
        comment = parse_comment(event)
        if comment is not None:
            await self.deliver(comment)
        return True

    async def _read_stream(self) -> None:
        """Reads the event stream into the queue; ends by queueing the error that ended it."""
        params = {"access_token": self.access_token, "comment_rate": COMMENT_RATE, "fields": FIELDS}
        if self.appsecret_proof:
            params["appsecret_proof"] = self.appsecret_proof
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        try:
            async with self._http().stream("GET", self.streaming_url, params=params, headers=headers) as response:
                if response.status_code != 200:
                    await response.aread()
                    code, message = graph_error(response)
                    if response.status_code == 401 or code in AUTH_CODES:
                        raise AuthFailed(message or "token refused")
                    if response.status_code < 500 and code not in RATE_LIMIT_CODES:
                        await self._events.put({"_fallback": True})
                        return
                    raise TransientError(f"live_comments answered {response.status_code}", retry_after=self._retry())
                self.stream_connections += 1
                data_lines: list[str] = []
                event_id = ""
                async for line in response.aiter_lines():
                    if line == "":
                        if data_lines:
                            if event_id:
                                self.last_event_id = event_id
                            # A malformed event is skipped, not fatal.
                            with contextlib.suppress(ValueError):
                                await self._events.put(json.loads("\n".join(data_lines)))
                        data_lines, event_id = [], ""
                    elif line.startswith(":"):
                        continue  # keep-alive comment
                    else:
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if name == "data":
                            data_lines.append(value)
                        elif name == "id":
                            event_id = value
                        elif name == "retry" and value.isdigit():
                            self.retry_ms = int(value)
                raise TransientError("live_comments stream closed", retry_after=self._retry())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to step(), which raises it in the loop
            await self._events.put(exc)

    def _retry(self) -> float | None:
        return self.retry_ms / 1000 if self.retry_ms is not None else None

    # --- Graph API polling ------------------------------------------------------------
    async def _poll_step(self) -> bool:
        if self.clock() < self.next_poll_at:
            return False
        params = {
            "access_token": self.access_token,
            "fields": FIELDS,
            "order": "chronological",
            "filter": "stream",
            "limit": "100",
        }
        if self.after:
            params["after"] = self.after
        if self.appsecret_proof:
            params["appsecret_proof"] = self.appsecret_proof
        self.polls += 1
        response = await self._http().get(self.comments_url, params=params)
        interval = self.poll_interval
        if response.status_code != 200:
            code, message = graph_error(response)
            self.last_error = f"{response.status_code} ({code}) {message}"[:200]
            if code in RATE_LIMIT_CODES:
                self.next_poll_at = self.clock() + self.rate_limit_backoff
                return False
            if response.status_code == 401 or code in AUTH_CODES:
                raise AuthFailed(self.last_error)
            if response.status_code >= 500:
                raise TransientError(self.last_error)
            raise SourceFinished(self.last_error)
        if self._usage_percent(response) >= USAGE_SLOWDOWN_PERCENT:
            interval *= 2
        body = response.json()
        for data in body.get("data") or []:
            comment = parse_comment(data)
            if comment is not None:
                await self.deliver(comment)
        after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
        if after:
            self.after = str(after)
        # A full page means more is waiting: fetch it now rather than after the interval.
        self.next_poll_at = self.clock() + (0 if (body.get("paging") or {}).get("next") else interval)
        return True

    @staticmethod
    def _usage_percent(response: httpx.Response) -> int:
        raw = response.headers.get("x-app-usage")
        if not raw:
            return 0
        try:
            usage = json.loads(raw)
            return max(int(v) for v in usage.values())
        except (ValueError, TypeError, AttributeError):
            return 0
