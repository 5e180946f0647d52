"""Login rate limits (security finding 4): the admin goes through the same limiter as the site and the API.

Against a real Daphne and the test run's Redis, from several loopback addresses (127.0.0.x): each client
binds its own source address, so REMOTE_ADDR differs the way it would for people on different networks.

The limiter (apps.core.ratelimit):
* per (address, account): LOGIN_RATE_LIMIT attempts per window, then 429 for that address only;
* per account: LOGIN_ACCOUNT_FAILURE_LIMIT failures per window from all addresses together, then a backoff
  that doubles each time it trips. One address can add at most LOGIN_RATE_LIMIT failures, fewer than the
  ceiling, so it cannot lock the owner out; and during a backoff an address that logged in to the account
  before still gets in.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from django.conf import settings

from apps.accounts.models import User
from apps.core import ratelimit

ADMIN_LOGIN = "/admin/login/"
SITE_LOGIN = "/accounts/login/"
API_LOGIN = "/api/v1/auth/login"
PASSWORD = "correct horse battery staple 42"


def client_from(web, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=web.url, transport=transport, follow_redirects=False, timeout=20)


def form_login(client: httpx.Client, path: str, email: str, password: str) -> httpx.Response:
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    token = client.cookies["csrftoken"]
    return client.post(path, data={"username": email, "password": password, "csrfmiddlewaretoken": token})


@pytest.fixture
def superuser(transactional_db) -> User:
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    return User.objects.create_superuser("root" + uuid.uuid4().hex[:6], email=email, password=PASSWORD)


def test_admin_login_is_limited_per_address_and_account(web, superuser):
    """The original reproduction: 30 wrong passwords on /admin/login/ were 30 x 200, then the right one worked."""
    attacker = client_from(web, "127.0.0.2")
    codes = [form_login(attacker, ADMIN_LOGIN, superuser.email, f"guess-{n}").status_code for n in range(30)]
    limit = settings.LOGIN_RATE_LIMIT
    assert codes == [200] * limit + [429] * (30 - limit)
    blocked = form_login(attacker, ADMIN_LOGIN, superuser.email, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many login attempts" in blocked.text
    assert "sessionid" not in attacker.cookies

    # The owner, elsewhere, is not locked out by one address's guessing.
    owner = client_from(web, "127.0.0.3")
    response = form_login(owner, ADMIN_LOGIN, superuser.email, PASSWORD)
    assert response.status_code == 302
    assert owner.get("/admin/").status_code == 200  # logged in, staff


def test_site_admin_and_api_share_one_counter_per_address_and_account(web, superuser):
    client = client_from(web, "127.0.0.4")
    limit = settings.LOGIN_RATE_LIMIT
    half = limit // 2
    codes = [form_login(client, ADMIN_LOGIN, superuser.email, "wrong").status_code for _ in range(half)]
    codes += [form_login(client, SITE_LOGIN, superuser.email, "wrong").status_code for _ in range(limit - half)]
    assert codes == [200] * limit
    api = client.post(API_LOGIN, json={"email": superuser.email, "password": PASSWORD})
    assert api.status_code == 429
    assert form_login(client, SITE_LOGIN, superuser.email, PASSWORD).status_code == 429


def test_many_addresses_trip_the_account_backoff_but_the_owners_known_address_gets_in(web, superuser):
    owner = client_from(web, "127.0.0.5")
    assert form_login(owner, ADMIN_LOGIN, superuser.email, PASSWORD).status_code == 302  # a known address now

    per_address = settings.LOGIN_RATE_LIMIT
    addresses = -(-settings.LOGIN_ACCOUNT_FAILURE_LIMIT // per_address) + 1  # enough to pass the ceiling
    assert addresses > 1  # the ceiling is out of reach of any single address
    for n in range(addresses):
        guesser = client_from(web, f"127.0.1.{n + 1}")
        for _ in range(per_address):
            form_login(guesser, SITE_LOGIN, superuser.email, "wrong")

    # Backoff: a fresh address is refused even with the right password ...
    stranger = client_from(web, "127.0.2.1")
    refused = stranger.post(API_LOGIN, json={"email": superuser.email, "password": PASSWORD})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= settings.LOGIN_BACKOFF_SECONDS - 5
    assert form_login(stranger, ADMIN_LOGIN, superuser.email, PASSWORD).status_code == 429
    # ... while the owner's address, which logged in before, is not locked out.
    owner = client_from(web, "127.0.0.5")
    assert form_login(owner, ADMIN_LOGIN, superuser.email, PASSWORD).status_code == 302


def test_backoff_doubles_each_time_it_trips_and_a_login_resets_it(monkeypatch, settings, rf):
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    now = 2_000_000.0
    monkeypatch.setattr(ratelimit, "_now", lambda: now)
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 3
    settings.LOGIN_BACKOFF_SECONDS = 60

    def attempt(ip: str) -> int:
        return ratelimit.login_check(rf.post("/", REMOTE_ADDR=ip), email)

    def fail(ip: str) -> None:
        assert attempt(ip) == 0
        ratelimit.login_failed(rf.post("/", REMOTE_ADDR=ip), email)

    for n in range(4):
        fail(f"192.0.2.{n + 1}")
    assert attempt("198.51.100.1") == 60
    now += 61
    # The next window: the ceiling trips again and the backoff is twice as long.
    now += settings.LOGIN_RATE_WINDOW_SECONDS
    for n in range(4):
        fail(f"192.0.2.{n + 10}")
    assert attempt("198.51.100.2") == 120
    now += 121
    ratelimit.login_succeeded(rf.post("/", REMOTE_ADDR="198.51.100.3"), email)
    now += settings.LOGIN_RATE_WINDOW_SECONDS
    for n in range(4):
        fail(f"192.0.2.{n + 20}")
    assert attempt("198.51.100.4") == 60  # back to the first step after a successful login
    # Capped.
    for _ in range(20):
        now += 10_000
        for n in range(4):
            fail(f"203.0.113.{n + 1}")
    assert attempt("198.51.100.5") == settings.LOGIN_BACKOFF_MAX_SECONDS


def test_admin_login_page_keeps_working(web):
    page = client_from(web, "127.0.0.6").get(ADMIN_LOGIN)
    assert page.status_code == 200
    assert re.search(r'name="username"', page.text)
