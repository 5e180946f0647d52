"""Runs every chat source of one live stream, outside the web process.

`ingest_stream()` is what the Celery task and the `engagement_ingest` command call:

1. take the stream's ingest lease in Redis (one runner per stream across all workers);
2. build one source per platform the show goes to (destination chat ids and the
   creator's connected-account tokens, or ids set on EngagementSettings);
3. restore each source's cursor from Redis, run them concurrently with
   `run_source` (backoff, reconnects), each comment going through `comment_ingest`;
4. stop when asked, when the slice is over, or when the stream is no longer live;
   save cursors and release the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from apps.core import redis as redis_client
from apps.core.lease import Lease
from apps.core.logging import register_secret
from apps.engagement import realtime
from apps.engagement.ingest.base import Backoff, ChatSource, IncomingComment, Sink, run_source
from apps.engagement.ingest.facebook import FacebookCommentsSource
from apps.engagement.ingest.twitch import TwitchChatClient
from apps.engagement.ingest.youtube import YouTubeChatStream
from apps.streams.models import Stream

logger = logging.getLogger(__name__)

# The lease outlives a crashed runner by at most this long; a live runner renews it every third of it.
LEASE_SECONDS = 30
# How often the runner checks that the stream is still live.
LIVENESS_CHECK_SECONDS = 5.0


def lease_key(stream_id: int) -> str:
    return f"engagement:ingest:{stream_id}:lease"


def state_key(stream_id: int, platform: str) -> str:
    return f"engagement:ingest:{stream_id}:{platform}:state"


def stop_key(stream_id: int) -> str:
    return f"engagement:ingest:{stream_id}:stop"


def _account_token(account: Any) -> str:
    """A fresh access token of a ConnectedAccount (refreshed through engineer F's service when near expiry)."""
    from apps.destinations.platform_services import account_refresh_tokens

    account = account_refresh_tokens(account=account)
    token = account.decrypt_access_token()
    register_secret(token)
    return token


def chat_targets(stream: Stream) -> list[dict[str, str]]:
    """[{platform, chat_id, token, nick}] for every chat this show can read (sync: uses the ORM)."""
    from apps.engagement.services import engagement_settings_for

    targets: dict[str, dict[str, str]] = {}
    destinations = stream.destinations.filter(enabled=True).exclude(chat_id="").select_related("account")
    for destination in destinations:
        if destination.platform not in {"youtube", "twitch", "facebook"} or destination.platform in targets:
            continue
        account = destination.account
        token = ""
        if account is not None and account.access_token_encrypted:
            try:
                token = _account_token(account)
            except Exception as exc:  # noqa: BLE001 - a refused refresh must not stop the other platforms
                logger.warning("no token for chat", extra={"platform": destination.platform, "error": str(exc)[:200]})
                if destination.platform != "twitch":
                    continue  # YouTube and Facebook cannot be read without a token; Twitch can (anonymously)
        targets[destination.platform] = {
            "platform": destination.platform,
            "chat_id": destination.chat_id,
            "token": token,
            "nick": getattr(account, "handle", "") or "",
        }
    options = engagement_settings_for(stream)
    for platform, chat_id in (
        ("youtube", options.youtube_live_chat_id),
        ("twitch", options.twitch_channel),
        ("facebook", options.facebook_live_video_id),
    ):
        # Ids typed in by hand (no connected account): only Twitch chat can be read without a token.
        if chat_id and platform not in targets and platform == "twitch":
            targets[platform] = {"platform": platform, "chat_id": chat_id, "token": "", "nick": ""}
    return list(targets.values())


def build_source(
    target: dict[str, str], sink: Sink, on_delete: Callable[[str, str], Awaitable[None]] | None = None
) -> ChatSource:
    platform = target["platform"]
    if platform == "youtube":
        # streamList where the project has it, polling otherwise (the source falls back by itself).
        return YouTubeChatStream(
            sink=sink,
            live_chat_id=target["chat_id"],
            access_token=target["token"],
            base_url=settings.YOUTUBE_API_BASE_URL,
        )
    if platform == "twitch":
        return TwitchChatClient(
            sink=sink,
            channel=target["chat_id"],
            url=settings.TWITCH_CHAT_URL,
            access_token=target["token"],
            nick=target["nick"],
            on_delete=on_delete,
        )
    if platform == "facebook":
        return FacebookCommentsSource(
            sink=sink,
            live_video_id=target["chat_id"],
            access_token=target["token"],
            streaming_base_url=settings.FACEBOOK_STREAMING_BASE_URL,
            graph_base_url=settings.FACEBOOK_GRAPH_BASE_URL,
            app_secret=settings.FACEBOOK_CLIENT_SECRET,
        )
    raise ValueError(f"no chat source for {platform}")


class BatchingSink:
    """Collects what the sources deliver and stores it in bursts through `comments_ingest_many`.

    A YouTube page or a busy Twitch frame brings hundreds of comments at once; storing
    them one by one costs a few round trips each. A burst is stored when it reaches
    MAX_BATCH or after MAX_DELAY seconds, whichever comes first, in arrival order.
    """

    MAX_BATCH = 200
    # Added latency at most; well under the 50 ms budget for a comment reaching the studio.
    MAX_DELAY = 0.02

    def __init__(self, stream: Stream) -> None:
        from apps.engagement.services import IncomingMessage, comments_ingest_many

        self.pending: list[IncomingComment] = []
        self.stored = 0
        self._lock = asyncio.Lock()

        def store(batch: list[IncomingComment]) -> int:
            messages = [
                IncomingMessage(c.platform, c.message_id, c.author_name, c.text, c.author_id, c.avatar_url, c.sent_at)
                for c in batch
            ]
            return len(comments_ingest_many(stream=stream, messages=messages))

        self._store = sync_to_async(store, thread_sensitive=True)

    async def __call__(self, comment: IncomingComment) -> None:
        self.pending.append(comment)
        if len(self.pending) >= self.MAX_BATCH:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            batch, self.pending = self.pending, []
            if batch:
                self.stored += await self._store(batch)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.MAX_DELAY)
            await self.flush()
        await self.flush()


def make_sink(stream: Stream) -> BatchingSink:
    return BatchingSink(stream)


def make_deleter(stream: Stream, sink: BatchingSink) -> Callable[[str, str], Awaitable[None]]:
    """Hide our copy of a message a platform moderator deleted (Twitch CLEARMSG)."""
    from apps.engagement.services import comment_hide_platform_message

    def hide(platform: str, message_id: str) -> None:
        comment_hide_platform_message(stream=stream, platform=platform, message_id=message_id)

    store_hide = sync_to_async(hide, thread_sensitive=True)

    async def delete(platform: str, message_id: str) -> None:
        await sink.flush()  # the deleted message may still be waiting in the current burst
        await store_hide(platform, message_id)

    return delete


async def _watch(
    stream_id: int,
    lease: Lease,
    stop: asyncio.Event,
    deadline: float | None,
    still_live: Callable[[], Any],
) -> None:
    """Renew the lease and set `stop` when the slice ends, a stop is requested or the show is over."""
    client = realtime.redis_client_str()
    while not stop.is_set():
        if deadline is not None and time.monotonic() >= deadline:
            break
        if client.exists(stop_key(stream_id)) or not await still_live():
            break
        if not lease.refresh():
            break  # another runner holds this stream's chats now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=LIVENESS_CHECK_SECONDS)
    stop.set()


async def ingest_stream(
    stream_id: int,
    *,
    slice_seconds: float | None = None,
    stop: asyncio.Event | None = None,
    backoff_base: float = 1.0,
) -> dict[str, str]:
    """Run the stream's chat sources until stopped. Returns {platform: why it ended}, or {} if another runner holds it."""
    client = realtime.redis_client_str()
    lease = Lease(redis_client.client(), lease_key(stream_id), ttl_ms=LEASE_SECONDS * 1000)
    if not lease.acquire():
        return {}
    stop = stop or asyncio.Event()
    try:
        stream = await Stream.objects.select_related("owner").aget(pk=stream_id)
        targets = await sync_to_async(chat_targets, thread_sensitive=True)(stream)
        if not targets:
            return {}
        sink = make_sink(stream)
        deleter = make_deleter(stream, sink)
        sources = [build_source(t, sink, deleter) for t in targets]
        for source in sources:
            saved = client.get(state_key(stream_id, source.platform))
            if saved:
                source.restore(json.loads(str(saved)))

        async def still_live() -> bool:
            status = await Stream.objects.filter(pk=stream_id).values_list("status", flat=True).afirst()
            return status == Stream.Status.LIVE

        deadline = time.monotonic() + slice_seconds if slice_seconds else None
        watcher = asyncio.create_task(_watch(stream_id, lease, stop, deadline, still_live))
        flusher = asyncio.create_task(sink.run(stop))
        results = await asyncio.gather(
            *(run_source(s, stop=stop, backoff=Backoff(base=backoff_base)) for s in sources), return_exceptions=True
        )
        stop.set()
        await watcher
        await flusher
        outcome: dict[str, str] = {}
        for source, result in zip(sources, results, strict=True):
            outcome[source.platform] = result if isinstance(result, str) else f"error: {result!r}"[:200]
            # A day is longer than any show: cursors of finished shows clean themselves up.
            client.set(state_key(stream_id, source.platform), json.dumps(source.state()), ex=24 * 3600)
        logger.info("chat ingest slice ended", extra={"stream": stream_id, "outcome": outcome})
        return outcome
    finally:
        lease.release()
        # The ORM ran in sync_to_async's thread: close its connection rather than leak it per slice.
        await sync_to_async(connections.close_all, thread_sensitive=True)()
