"""Account pages through the test client: sign-up, login (rate limited), logout, password change and reset."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # Rate-limit counters live in Redis and would carry over between tests.
    cache.clear()
    yield
    cache.clear()


def test_signup_creates_account_and_logs_in(client):
    response = client.post(
        reverse("accounts:signup"),
        {"email": "New.Creator@Example.com", "username": "newcreator", "password": "a very good passphrase 9"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    user = User.objects.get(username="newcreator")
    assert user.email == "new.creator@example.com"
    assert user.check_password("a very good passphrase 9")
    assert user.tier == "free"
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert b"Welcome to StreamUs, newcreator" in dashboard.content


def test_signup_errors_shown_in_place(client, user):
    response = client.post(
        reverse("accounts:signup"),
        {"email": user.email.upper(), "username": "someoneelse", "password": "12345678"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "An account with this email already exists" in html
    assert "This password is entirely numeric" in html
    assert 'value="someoneelse"' in html  # what was typed stays in the form
    assert 'name="password" value' not in html  # ...but never the password
    assert User.objects.filter(username="someoneelse").count() == 0


def test_login_with_email_then_logout(client, user, password):
    page = client.get(reverse("accounts:login"))
    assert page.status_code == 200
    assert b'type="email"' in page.content
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200

    # Logout is POST only: a GET (a link, an <img>) must not log anyone out.
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 302
    assert dashboard["Location"].startswith(reverse("accounts:login"))


def test_wrong_password_shows_error_in_place(client, user):
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": "nope"})
    assert response.status_code == 200
    assert b"That email and password do not match an account." in response.content
    assert "_auth_user_id" not in client.session


def test_login_is_rate_limited_on_the_page(client, user, password, settings):
    settings.LOGIN_RATE_LIMIT = 3
    for _ in range(3):
        assert client.post(reverse("accounts:login"), {"username": user.email, "password": "bad"}).status_code == 200
    blocked = client.post(reverse("accounts:login"), {"username": user.email, "password": password})
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert b"Too many login attempts" in blocked.content
    # Even the right password is refused while the window lasts.
    assert "_auth_user_id" not in client.session
    # Another account from the same client is counted separately.
    other = User.objects.create_user(username="other", email="other@example.com", password=password)
    assert client.post(reverse("accounts:login"), {"username": other.email, "password": password}).status_code == 302


def test_password_change(user_client, user, password):
    page = user_client.get(reverse("accounts:password_change"))
    assert page.status_code == 200
    wrong = user_client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": "brand new secret 77", "new_password2": "brand new secret 77"},
    )
    assert wrong.status_code == 200
    assert b"Your old password was entered incorrectly" in wrong.content
    response = user_client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": "brand new secret 77", "new_password2": "brand new secret 77"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password("brand new secret 77")
    assert user_client.get(reverse("accounts:password_change_done")).status_code == 200


def test_password_change_needs_login(client):
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_password_reset_flow(client, user):
    assert client.get(reverse("accounts:password_reset")).status_code == 200
    response = client.post(reverse("accounts:password_reset"), {"email": user.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert client.get(response["Location"]).status_code == 200

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Reset your StreamUs password"
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)", message.body)
    assert link, message.body

    # The emailed link redirects to a token-free URL that shows the form.
    confirm = client.get(link.group(1), follow=True)
    assert confirm.status_code == 200
    assert b"Choose a new password" in confirm.content
    set_url = confirm.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "reset and ready 123", "new_password2": "reset and ready 123"})
    assert done.status_code == 302
    assert done["Location"] == reverse("accounts:password_reset_complete")
    assert client.get(done["Location"]).status_code == 200
    user.refresh_from_db()
    assert user.check_password("reset and ready 123")

    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert b"This link no longer works" in again.content


def test_password_reset_unknown_email_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_account_pages_render_for_anonymous(client):
    for name in ["accounts:login", "accounts:signup", "accounts:password_reset"]:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert "Content-Security-Policy" in response.headers


def test_logged_in_user_is_sent_from_login_and_signup_to_the_dashboard(user_client):
    for name in ["accounts:login", "accounts:signup"]:
        response = user_client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == reverse("dashboard")


def test_signup_is_rate_limited_per_client(client, monkeypatch):
    from apps.accounts import views

    monkeypatch.setattr(views, "SIGNUPS_PER_HOUR", 2)
    for n in range(2):
        data = {"email": f"bulk{n}@example.com", "username": f"bulk{n}", "password": "a very good passphrase 9"}
        assert client.post(reverse("accounts:signup"), data).status_code == 302
        client.logout()
    blocked = client.post(
        reverse("accounts:signup"),
        {"email": "bulk9@example.com", "username": "bulk9", "password": "a very good passphrase 9"},
    )
    assert blocked.status_code == 429
    assert b"Too many accounts were created from your network" in blocked.content
    assert not User.objects.filter(username="bulk9").exists()


def test_password_reset_link_uses_site_url_not_the_host_header(client, user, settings):
    """Security finding 11: a Host header the server accepts must not choose where the reset link points."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    settings.SITE_URL = "https://studio.example.org"
    response = client.post(reverse("accounts:password_reset"), {"email": user.email}, HTTP_HOST="evil.example")
    assert response.status_code == 302
    body = mail.outbox[0].body
    assert "evil.example" not in body
    assert re.search(r"https://studio\.example\.org/accounts/password/reset/[^\s]+/", body), body
