"""Fixed-window rate limits in the shared cache (Redis), and the login limiter built on them.

    if not ratelimit.hit(f"signup:{ip}", limit=10, window=3600):
        ... answer 429 ...

A fixed window is coarse (a burst at a window edge can reach 2x the limit) but
costs one INCR per request and needs no cleanup: the counter expires with its
window. Keys are hashed so user input (emails) never becomes a raw cache key.

Logins (the site page, the admin and the API all go through `login_check`):

1. every attempt counts against (address, account): LOGIN_RATE_LIMIT per window, then 429 for that
   address and account only;
2. failures count against the account from all addresses together: past LOGIN_ACCOUNT_FAILURE_LIMIT in a
   window the account backs off (LOGIN_BACKOFF_SECONDS, doubling each time it trips, at most
   LOGIN_BACKOFF_MAX_SECONDS). One address adds at most LOGIN_RATE_LIMIT failures, fewer than the
   ceiling, so a single address cannot trip it; and during a backoff an address that logged in to the
   account before still gets in, so even many addresses cannot lock the owner out of their usual place.

Failures and successes are reported by the auth signals (apps/accounts/apps.py), so every login path is
counted the same way.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)

# An address that logged in to an account is trusted through that account's backoff for this long.
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600
# How long a tripped backoff's level is remembered (the next trip doubles it) after it was last raised.
BACKOFF_MEMORY_SECONDS = 24 * 3600


def _now() -> float:
    return time.time()


def _bucket(key: str, window: int) -> tuple[str, int]:
    start = int(_now() // window) * window
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"ratelimit:{digest}:{window}:{start}", start


def hit(key: str, limit: int, window: int) -> bool:
    """Count one attempt for `key`; True while the window holds at most `limit` attempts."""
    bucket, _ = _bucket(key, window)
    # add() is a no-op if the counter exists; the +1 s keeps it alive past the window edge.
    cache.add(bucket, 0, timeout=window + 1)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window + 1)
        count = 1
    return count <= limit


def retry_after(window: int) -> int:
    """Seconds until the current window ends (for the Retry-After header)."""
    _, start = _bucket("", window)
    return max(1, start + window - int(_now()))


def reset(key: str, window: int) -> None:
    cache.delete(_bucket(key, window)[0])


@lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str = "") -> str:
    """The client's address: the peer, or when the peer is a trusted proxy, the nearest untrusted hop.

    X-Forwarded-For is read right to left: each trusted proxy appends the address it got the
    request from, so the rightmost entry not in TRUSTED_PROXIES is the first one nobody we
    trust vouches for beyond — the client as far as we can know. Everything left of it is
    whatever the client chose to send. With no trusted proxy (the default) the header is
    ignored; a malformed entry stops the walk at the last address a trusted proxy gave.
    """
    trusted = _trusted_networks(tuple(settings.TRUSTED_PROXIES))
    peer_ip = _parse(peer)
    if peer_ip is None:
        return peer or "unknown"
    address = peer_ip
    if forwarded_for and any(peer_ip in net for net in trusted):
        for hop in reversed(forwarded_for.split(",")):
            hop_ip = _parse(hop)
            if hop_ip is None:
                break
            address = hop_ip
            if not any(hop_ip in net for net in trusted):
                break
    return str(address)


def client_ip(request: HttpRequest) -> str:
    """The client address of a request (see `client_address`); every rate limit keys on this."""
    return client_address(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def scope_client_ip(scope: dict) -> str:
    """The same for an ASGI scope (websockets): the peer and its X-Forwarded-For header."""
    peer = (scope.get("client") or ("", 0))[0] or ""
    forwarded = b",".join(v for k, v in scope.get("headers", []) if k == b"x-forwarded-for")
    return client_address(peer, forwarded.decode("latin-1"))


def login_key(request: HttpRequest, email: str) -> str:
    return f"login:{client_ip(request)}:{(email or '').strip().lower()}"


def _account(email: str) -> str:
    return (email or "").strip().lower()


def _hashed(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _backoff_key(account: str) -> str:
    return f"login-backoff:{_hashed(account)}"


def _known_key(account: str, ip: str) -> str:
    return f"login-known:{_hashed(account, ip)}"


def login_check(request: HttpRequest, email: str) -> int:
    """Count one login attempt; 0 when it may go on to the password check, else the seconds to wait."""
    window = settings.LOGIN_RATE_WINDOW_SECONDS
    if not hit(login_key(request, email), settings.LOGIN_RATE_LIMIT, window):
        return retry_after(window)
    account = _account(email)
    state = cache.get(_backoff_key(account)) if account else None
    if state and state["until"] > _now() and not cache.get(_known_key(account, client_ip(request))):
        return max(1, int(state["until"] - _now() + 0.999))
    return 0


def login_failed(request: HttpRequest | None, email: str) -> None:
    """A wrong password for `email`: count it against the account; past the ceiling, (re)start the backoff."""
    account = _account(email)
    if not account:
        return
    window = settings.LOGIN_RATE_WINDOW_SECONDS
    if hit(f"login-failures:{account}", settings.LOGIN_ACCOUNT_FAILURE_LIMIT, window):
        return
    key = _backoff_key(account)
    state = cache.get(key) or {"level": 0, "until": 0.0}
    now = _now()
    if state["until"] > now:
        return  # already backing off; the next trip, after this one ends, doubles it
    level = int(state["level"]) + 1
    wait = min(settings.LOGIN_BACKOFF_SECONDS * 2 ** (level - 1), settings.LOGIN_BACKOFF_MAX_SECONDS)
    cache.set(key, {"level": level, "until": now + wait}, timeout=int(wait) + BACKOFF_MEMORY_SECONDS)
    log.warning(
        "Login backoff: %s failed logins for one account in %s s; new addresses wait %s s.",
        settings.LOGIN_ACCOUNT_FAILURE_LIMIT,
        window,
        wait,
        extra={"event": "login.backoff"},
    )


def login_succeeded(request: HttpRequest | None, email: str) -> None:
    """The right password: this address is known for the account from now on, and its backoff ends."""
    account = _account(email)
    if not account:
        return
    if request is not None:
        cache.set(_known_key(account, client_ip(request)), 1, timeout=KNOWN_ADDRESS_SECONDS)
    cache.delete(_backoff_key(account))


class TokenBucket:
    """A rate for one thing in this process (a websocket, say): `capacity` at once, `rate` per second after.

        bucket = TokenBucket(rate=5, capacity=20)
        if not bucket.take():
            ... refuse this message ...

    Full at first; each `take` spends tokens, which come back at `rate` per second up to `capacity`. In
    memory, no I/O: cheap enough for every message of every socket. Shared limits (across processes) use
    `hit` above.
    """

    def __init__(self, *, rate: float, capacity: float, clock: Any = time.monotonic) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs a positive rate and room for at least one token")
        self.rate, self.capacity, self.clock = float(rate), float(capacity), clock
        self.tokens = float(capacity)
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are that many; False (and nothing spent) otherwise."""
        self._refill()
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def wait_seconds(self, cost: float = 1.0) -> float:
        """How long until `cost` tokens are there (0 when they already are)."""
        self._refill()
        return max(0.0, (cost - self.tokens) / self.rate)
