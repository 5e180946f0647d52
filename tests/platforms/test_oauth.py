"""Connecting and disconnecting accounts: authorization code + PKCE, `state`, exact redirect URI, revocation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from apps.core import crypto
from apps.destinations.models import ConnectedAccount
from tests.factories import UserFactory
from tests.support.platform_fakes import connect, consent, s256

PLATFORMS = ["youtube", "twitch", "facebook"]


@pytest.fixture
def fakes(youtube, twitch, facebook):
    return {"youtube": youtube, "twitch": twitch, "facebook": facebook}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_connect_stores_encrypted_tokens_and_identity(platform, fakes, user_client, user):
    fake = fakes[platform]

    account = connect(user_client, platform)

    assert account.owner == user
    assert account.status == ConnectedAccount.Status.ACTIVE
    # The fake issued these; we hold them only as ciphertext.
    access = account.decrypt_access_token()
    assert fake.access_ok(access)
    assert access not in account.access_token_encrypted
    assert account.access_token_encrypted.startswith("gAAAAA")
    if platform != "facebook":  # Facebook has no refresh tokens
        assert fake.refresh_tokens.get(account.decrypt_refresh_token()) is True
    assert account.token_expires_at is not None
    expected = {
        "youtube": ("UCfakeChannel0000000000001", "StreamUs Test Channel"),
        "twitch": ("141981764", "StreamUsTest"),
        "facebook": ("10158812345678901", "Sam Streamer"),
    }[platform]
    assert (account.external_id, account.display_name) == expected


def test_authorize_request_has_pkce_state_exact_redirect_and_minimal_scopes(youtube, user_client):
    response = user_client.post("/connections/youtube/connect/")
    query = parse_qs(urlsplit(response["Location"]).query)

    assert query["redirect_uri"] == ["http://testserver/connections/youtube/callback/"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["https://www.googleapis.com/auth/youtube"]
    pending = user_client.session["platform_oauth:youtube"]
    assert query["state"] == [pending["state"]]
    assert query["code_challenge"] == [s256(pending["verifier"])]


def test_token_exchange_sends_the_verifier_the_fake_checks(twitch, user_client):
    connect(user_client, "twitch")

    (exchange,) = [r for r in twitch.calls("POST", "/oauth2/token") if r.form.get("grant_type") == "authorization_code"]
    assert exchange.form["redirect_uri"] == "http://testserver/connections/twitch/callback/"
    assert len(exchange.form["code_verifier"]) >= 43
    assert exchange.form["client_secret"] == twitch.client_secret


def test_wrong_pkce_verifier_is_refused_by_the_platform(youtube, user_client):
    callback = consent(user_client, "youtube")
    session = user_client.session
    session["platform_oauth:youtube"]["verifier"] = "x" * 64  # not the one the challenge was made from
    session.save()

    response = user_client.get(callback)

    assert response.status_code == 400
    assert "did not accept the authorization" in response.content.decode()
    assert not ConnectedAccount.objects.exists()
    (exchange,) = youtube.calls("POST", "/token")
    assert exchange.form["code_verifier"] == "x" * 64


def test_state_mismatch_is_refused_before_any_token_call(youtube, user_client):
    callback = consent(user_client, "youtube")
    forged = callback.replace("state=", "state=forged")

    response = user_client.get(forged)

    assert response.status_code == 400
    assert "did not start in this browser" in response.content.decode()
    assert not ConnectedAccount.objects.exists()
    assert youtube.calls("POST", "/token") == []


def test_callback_from_another_browser_session_is_refused(youtube, user_client, client, other_user):
    callback = consent(user_client, "youtube")  # started by `user`
    client.force_login(other_user)  # a different session receives the code

    response = client.get(callback)

    assert response.status_code == 400
    assert not ConnectedAccount.objects.exists()


def test_state_is_single_use(facebook, user_client):
    callback = consent(user_client, "facebook")
    assert user_client.get(callback).status_code == 302

    replay = user_client.get(callback)

    assert replay.status_code == 400
    assert ConnectedAccount.objects.count() == 1


def test_consent_denied_connects_nothing(twitch, user_client):
    callback = consent(user_client, "twitch")
    state = parse_qs(urlsplit(callback).query)["state"][0]

    response = user_client.get(f"/connections/twitch/callback/?error=access_denied&state={state}")

    assert response.status_code == 400
    assert "did not grant access" in response.content.decode()
    assert not ConnectedAccount.objects.exists()


def test_platform_without_client_id_is_hidden_with_an_explanation(youtube, settings, user_client, client):
    settings.TWITCH_CLIENT_ID = ""

    page = user_client.get("/connections/").content.decode()

    assert 'action="/connections/youtube/connect/"' in page
    assert 'action="/connections/twitch/connect/"' not in page
    assert "cannot be connected on this server yet" in page
    assert "TWITCH_CLIENT_ID" not in page  # the technical reason is for whoever runs the server
    client.force_login(UserFactory(is_staff=True))
    assert "TWITCH_CLIENT_ID" in client.get("/connections/").content.decode()
    refused = user_client.post("/connections/twitch/connect/")
    assert refused.status_code == 400


def test_connections_page_needs_login(client):
    assert client.get("/connections/").status_code == 302


@pytest.mark.parametrize("platform", PLATFORMS)
def test_disconnect_revokes_the_grant(platform, fakes, user_client):
    fake = fakes[platform]
    account = connect(user_client, platform)
    access = account.decrypt_access_token()

    response = user_client.post(f"/connections/{account.pk}/disconnect/")

    assert response.status_code == 302
    assert not ConnectedAccount.objects.exists()
    assert not fake.access_ok(access)  # the platform no longer accepts it
    assert fake.revoked


def test_disconnect_works_even_when_the_platform_already_forgot_us(youtube, user_client):
    account = connect(user_client, "youtube")
    youtube.refresh_tokens[account.decrypt_refresh_token()] = False
    youtube.expire_access_tokens()

    response = user_client.post(f"/connections/{account.pk}/disconnect/")

    assert response.status_code == 302
    assert not ConnectedAccount.objects.exists()


def test_cannot_disconnect_someone_elses_account(youtube, user_client, client, other_user):
    account = connect(user_client, "youtube")
    client.force_login(other_user)

    assert client.post(f"/connections/{account.pk}/disconnect/").status_code == 404
    assert ConnectedAccount.objects.filter(pk=account.pk).exists()


def test_reconnecting_updates_the_same_account(twitch, user_client):
    first = connect(user_client, "twitch")
    old_access = first.decrypt_access_token()

    again = connect(user_client, "twitch")

    assert again.pk == first.pk
    assert again.decrypt_access_token() != old_access
    assert ConnectedAccount.objects.count() == 1


def test_tokens_are_stored_with_the_configured_keys(youtube, user_client):
    account = connect(user_client, "youtube")
    assert crypto.decrypt(account.access_token_encrypted) == account.decrypt_access_token()
    assert crypto.decrypt(account.refresh_token_encrypted) in youtube.refresh_tokens


def test_disconnect_from_htmx_swaps_the_row_out(twitch, user_client):
    account = connect(user_client, "twitch")

    response = user_client.post(f"/connections/{account.pk}/disconnect/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.content == b""
    assert not ConnectedAccount.objects.exists()
