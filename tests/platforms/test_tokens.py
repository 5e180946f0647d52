"""Tokens: refreshed before expiry, refreshed once after a 401, rotated (Twitch), never in logs or answers."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from apps.destinations import platform_services as ps
from apps.destinations.models import ConnectedAccount
from apps.destinations.platforms.tasks import refresh_platform_tokens_task
from tests.support.platform_fakes import connect


def test_token_close_to_expiry_is_refreshed_before_the_call(youtube, user_client, stream):
    account = connect(user_client, "youtube")
    old = account.decrypt_access_token()
    refresh = account.decrypt_refresh_token()
    ConnectedAccount.objects.filter(pk=account.pk).update(token_expires_at=timezone.now() + timedelta(minutes=2))
    ps.platform_destination_create(stream=stream, account=account, by=stream.owner)

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.ok
    account.refresh_from_db()
    new = account.decrypt_access_token()
    assert new != old
    assert account.decrypt_refresh_token() == refresh  # Google keeps the refresh token
    assert account.token_expires_at > timezone.now() + timedelta(minutes=50)
    (refresh_call,) = [r for r in youtube.calls("POST", "/token") if r.form["grant_type"] == "refresh_token"]
    assert refresh_call.form["refresh_token"] == refresh
    # The old token was never used for the API after the refresh.
    api_calls = [r for r in youtube.requests if r.path.startswith("/youtube/v3/live")]
    assert api_calls and all(r.bearer() == new for r in api_calls)


def test_401_triggers_one_refresh_and_a_retry(twitch, user_client, stream):
    account = connect(user_client, "twitch")
    old_refresh = account.decrypt_refresh_token()
    ps.platform_destination_create(stream=stream, account=account, by=stream.owner)
    twitch.expire_access_tokens()  # Twitch ended the session early; our expiry still looks fine

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.ok, result.message
    account.refresh_from_db()
    # Twitch rotated the refresh token; we hold the new one, the old one is dead.
    assert account.decrypt_refresh_token() != old_refresh
    assert twitch.refresh_tokens[old_refresh] is False
    assert twitch.refresh_tokens[account.decrypt_refresh_token()] is True
    assert len([r for r in twitch.calls("POST", "/oauth2/token") if r.form["grant_type"] == "refresh_token"]) == 1


def test_sweep_refreshes_only_tokens_about_to_expire(youtube, twitch, user_client):
    yt = connect(user_client, "youtube")
    tw = connect(user_client, "twitch")
    ConnectedAccount.objects.filter(pk=yt.pk).update(token_expires_at=timezone.now() + timedelta(minutes=3))
    tw_token = tw.decrypt_access_token()

    # What beat runs every 10 minutes.
    assert refresh_platform_tokens_task() == 1

    tw.refresh_from_db()
    assert tw.decrypt_access_token() == tw_token


def test_sweep_marks_dead_grants_for_reconnection(twitch, user_client):
    account = connect(user_client, "twitch")
    twitch.refresh_tokens[account.decrypt_refresh_token()] = False
    ConnectedAccount.objects.filter(pk=account.pk).update(token_expires_at=timezone.now())

    assert ps.refresh_expiring_tokens() == 0

    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert "Reconnect" in account.last_error


def test_tokens_never_reach_logs_pages_or_api(youtube, twitch, facebook, user_client, user_api, stream, caplog):
    caplog.set_level(logging.DEBUG)
    accounts = [connect(user_client, p) for p in ("youtube", "twitch", "facebook")]
    for account in accounts:
        kwargs = {"target_id": facebook.page_id} if account.platform == "facebook" else {}
        ps.platform_destination_create(stream=stream, account=account, by=stream.owner, **kwargs)
    twitch.expire_access_tokens()  # forces a refresh + retry on the way
    ps.prepare_platform_destinations(stream=stream)
    youtube.activate(next(iter(youtube.streams)))
    ps.advance_platform_destinations(stream=stream)
    ps.finish_platform_destinations(stream=stream)
    page = user_client.get("/connections/").content.decode()
    api = user_api.get("/api/v1/connections/").content.decode()
    detail = user_api.get(f"/api/v1/connections/{accounts[0].pk}/").content.decode()
    for account in accounts:
        user_client.post(f"/connections/{account.pk}/disconnect/")

    secrets_issued = (
        youtube.all_tokens()
        + twitch.all_tokens()
        + facebook.all_tokens()
        + list(facebook.page_tokens.values())
        + [twitch.stream_key, youtube.client_secret, twitch.client_secret, facebook.client_secret]
        + [s["name"] for s in youtube.streams.values()]
    )
    assert len(secrets_issued) > 12
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "HTTP Request" in logged  # httpx did log its requests (URLs only)
    for secret in secrets_issued:
        assert secret not in logged
        assert secret not in page
        assert secret not in api
        assert secret not in detail
    assert "token" not in api.replace("token_expires_at", "")


def test_fresh_access_token_for_the_chat_ingest(youtube, user_client):
    account = connect(user_client, "youtube")
    ConnectedAccount.objects.filter(pk=account.pk).update(token_expires_at=timezone.now())

    token = ps.fresh_access_token(account=account)

    assert youtube.access_ok(token)
    account.refresh_from_db()
    assert token == account.decrypt_access_token()
