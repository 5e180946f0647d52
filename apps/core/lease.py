"""A lease in Redis: one holder at a time, kept alive by its holder, lost within its TTL when the holder dies.

    lease = Lease(client, "show:42:lock", ttl_ms=10_000)
    if lease.acquire(wait=12):
        while lease.refresh(): ...          # False: someone else holds it now; stop at once
        lease.release()

Refresh and release are compare-and-set scripts on the holder's token, so a holder that was paused
past its TTL can neither extend nor delete the lease a new holder took. The show runner and the chat
ingest both run under one.

``LeaseKeeper`` refreshes a lease from a thread of its own, so a holder whose main loop is busy (a slow
database, a reconnect) does not lose it, and rides out a Redis outage: while Redis is down nobody can
take the lease; when it returns (possibly empty, after a restart) the keeper takes it back unless
someone else holds it by then, and only then is the lease lost.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import redis

log = logging.getLogger(__name__)

_REFRESH = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# How often acquire() tries again while another holder has the lease.
RETRY_SECONDS = 0.2


class Lease:
    def __init__(self, client: redis.Redis, key: str, *, ttl_ms: int) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = uuid.uuid4().hex

    def acquire(self, wait: float = 0.0) -> bool:
        deadline = time.monotonic() + wait
        while True:
            if self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(RETRY_SECONDS)

    def refresh(self) -> bool:
        return bool(self.client.eval(_REFRESH, 1, self.key, self.token, str(self.ttl_ms)))

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, self.key, self.token)

    def held_by_someone(self) -> bool:
        return bool(self.client.exists(self.key))

    def reclaim(self) -> bool:
        """Refresh, or take it again if it is free (Redis came back empty). False: someone else holds it."""
        return self.refresh() or bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))


class LeaseKeeper:
    """Keeps `lease` alive every `interval` seconds until stopped; ``lost`` is set once someone else holds it."""

    def __init__(self, lease: Lease, *, interval: float) -> None:
        self.lease = lease
        self.interval = interval
        self.lost = threading.Event()
        self.redis_down_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.interval * 4 + 6)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                held = self.lease.reclaim()
            except (redis.RedisError, OSError) as exc:
                if self.redis_down_since is None:
                    self.redis_down_since = time.monotonic()
                    log.warning("Lease %s: Redis unavailable (%s); carrying on.", self.lease.key, type(exc).__name__)
                continue
            if self.redis_down_since is not None:
                log.warning(
                    "Lease %s: Redis back after %.1f s.", self.lease.key, time.monotonic() - self.redis_down_since
                )
                self.redis_down_since = None
            if not held:
                self.lost.set()
                return
