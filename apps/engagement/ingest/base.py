"""The contract every chat source keeps, and the loop that supervises one.

A `ChatSource` turns one platform's chat protocol into `IncomingComment`s and
hands each to an async `sink` (in production: `comment_ingest`, which dedupes,
so sources may deliver at least once). It never touches the ORM.

- `step()` does one unit of work — one poll, one websocket frame, one SSE event —
  and returns whether it did any. It opens its connection when it has none.
  It never polls faster than the platform allows: when nothing is due it
  returns False at once and `idle_seconds()` says how long to wait.
- A lost connection or a server error raises `TransientError` (or the
  library's own network errors); the loop closes the source and retries with
  jittered exponential backoff, for as long as the show runs.
- `SourceFinished` means the chat is over (ended, disabled, not found);
  `AuthFailed` means our token was refused. Both end the loop for that source.
- `state()`/`restore()` carry the cursor (page token, next poll time) across
  worker restarts so a restart neither re-reads quota nor polls early.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from websockets.exceptions import WebSocketException

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingComment:
    platform: str
    message_id: str
    author_name: str
    text: str
    author_id: str = ""
    avatar_url: str = ""
    sent_at: datetime | None = None


Sink = Callable[[IncomingComment], Awaitable[Any]]


class TransientError(Exception):
    """Worth retrying after a backoff: connection lost, 5xx, the server asked us to reconnect."""

    def __init__(self, message: str, *, retry_after: float | None = None, immediate: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # The platform asked for a reconnect (Twitch RECONNECT): no backoff needed.
        self.immediate = immediate


class SourceFinished(Exception):
    """The chat is over or unavailable; stop reading it."""


class AuthFailed(SourceFinished):
    """The platform refused our token; a reconnect of the account is needed."""


# Errors the loop retries: ours, httpx's network and protocol errors, websockets' closes, socket errors.
RETRYABLE: tuple[type[BaseException], ...] = (TransientError, httpx.TransportError, WebSocketException, OSError)


class ChatSource:
    platform: str = ""

    def __init__(self, *, sink: Sink, clock: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.clock = clock
        self.delivered = 0
        self.last_error = ""

    async def step(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def idle_seconds(self) -> float:
        """How long the loop should wait after a step that did nothing."""
        return 0.0

    async def close(self) -> None:
        """Drop the connection (the next step reconnects)."""

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `state()` returned in an earlier run."""

    async def deliver(self, comment: IncomingComment) -> None:
        await self.sink(comment)
        self.delivered += 1


@dataclass
class Backoff:
    """Jittered exponential backoff: base, 2*base, 4*base... capped, each ±50 % so reconnects do not stampede."""

    base: float = 1.0
    cap: float = 60.0
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * (2**self.attempts))
        self.attempts += 1
        return delay * self.rng.uniform(0.5, 1.5)

    def reset(self) -> None:
        self.attempts = 0


async def _sleep_or_stop(seconds: float, stop: asyncio.Event) -> None:
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_source(
    source: ChatSource,
    *,
    stop: asyncio.Event,
    backoff: Backoff | None = None,
    max_idle: float = 1.0,
) -> str:
    """Run `source` until `stop` is set or it finishes. Returns why it ended ("stopped", "finished", "auth")."""
    backoff = backoff or Backoff()
    try:
        while not stop.is_set():
            try:
                did_work = await source.step()
            except SourceFinished as exc:
                source.last_error = str(exc)
                logger.info("chat source finished", extra={"platform": source.platform, "reason": str(exc)})
                return "auth" if isinstance(exc, AuthFailed) else "finished"
            except RETRYABLE as exc:
                source.last_error = str(exc) or type(exc).__name__
                await source.close()
                if isinstance(exc, TransientError) and exc.immediate:
                    backoff.reset()
                    continue
                delay = backoff.next_delay()
                if isinstance(exc, TransientError) and exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                logger.warning(
                    "chat source error, retrying",
                    extra={"platform": source.platform, "error": source.last_error[:200], "delay": round(delay, 2)},
                )
                await _sleep_or_stop(delay, stop)
                continue
            if did_work:
                backoff.reset()
            else:
                await _sleep_or_stop(min(max_idle, source.idle_seconds()), stop)
        return "stopped"
    finally:
        await source.close()
