"""Errors a creator can act on, in plain words, stored on the destination; one failing platform never blocks the others."""

from __future__ import annotations

import time

import pytest

from apps.destinations import platform_services as ps
from apps.destinations.models import ConnectedAccount, PlatformState, StreamDestination
from tests.support.platform_fakes import connect


def add(stream, account, **kwargs) -> StreamDestination:
    return ps.platform_destination_create(stream=stream, account=account, by=stream.owner, **kwargs)


@pytest.fixture
def three(youtube, twitch, facebook, user_client, stream):
    """The same show going to YouTube, Twitch and a Facebook page."""
    return {
        "youtube": add(stream, connect(user_client, "youtube")),
        "twitch": add(stream, connect(user_client, "twitch")),
        "facebook": add(stream, connect(user_client, "facebook"), target_id=facebook.page_id),
    }


def outcome(stream) -> dict[str, tuple[bool, str]]:
    return {r.platform: (r.ok, r.message) for r in ps.prepare_platform_destinations(stream=stream)}


@pytest.mark.parametrize(
    ("platform", "method", "path", "error", "kind", "words"),
    [
        (
            "youtube",
            "POST",
            "/liveBroadcasts",
            "youtube/error_live_streaming_not_enabled",
            "not_enabled",
            "youtube.com/features",
        ),
        ("youtube", "POST", "/liveBroadcasts", "youtube/error_quota_exceeded", "quota", "quota"),
        ("youtube", "POST", "/liveStreams", "youtube/error_rate_limited", "rate_limited", "Wait"),
        ("twitch", "GET", "/helix/streams/key", "twitch/error_missing_scope", "permission", "Reconnect the account"),
        ("twitch", "PATCH", "/helix/channels", "twitch/error_too_many_requests", "rate_limited", "Wait"),
        ("facebook", "POST", "/live_videos", "facebook/error_permissions_200", "permission", "missing a permission"),
        ("facebook", "POST", "/live_videos", "facebook/error_rate_limit", "rate_limited", "Wait a few minutes"),
    ],
)
def test_error_is_explained_on_that_destination_only(
    three, youtube, twitch, facebook, stream, platform, method, path, error, kind, words
):
    fake = {"youtube": youtube, "twitch": twitch, "facebook": facebook}[platform]
    fake.fail_next(method, path, error)

    results = {r.platform: r for r in ps.prepare_platform_destinations(stream=stream)}

    failed = results.pop(platform)
    assert not failed.ok and failed.kind == kind
    assert words in failed.message
    destination = three[platform]
    destination.refresh_from_db()
    assert destination.status == StreamDestination.Status.ERROR
    assert destination.last_error == failed.message
    assert destination.platform_state == PlatformState.FAILED
    assert not destination.has_stream_key
    # The other two went ahead.
    assert all(r.ok for r in results.values()), results
    for other in results:
        three[other].refresh_from_db()
        assert three[other].has_stream_key


def test_a_later_successful_go_live_clears_the_error(three, youtube, stream):
    youtube.fail_next("POST", "/liveBroadcasts", "youtube/error_quota_exceeded")
    assert not outcome(stream)["youtube"][0]

    assert outcome(stream)["youtube"][0]

    three["youtube"].refresh_from_db()
    assert three["youtube"].last_error == ""
    assert three["youtube"].status == StreamDestination.Status.DISCONNECTED


def test_rate_limit_says_how_long_to_wait(twitch, user_client, stream):
    add(stream, connect(user_client, "twitch"))
    twitch.fail_next(
        "PATCH",
        "/helix/channels",
        "twitch/error_too_many_requests",
        headers={"Ratelimit-Reset": str(int(time.time()) + 30)},
    )

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.kind == "rate_limited"
    assert "seconds" in result.message


def test_revoked_youtube_grant_asks_to_reconnect(youtube, user_client, stream):
    """The creator removed StreamUs in their Google account: the API says 401, refresh says invalid_grant."""
    account = connect(user_client, "youtube")
    destination = add(stream, account)
    youtube.refresh_tokens[account.decrypt_refresh_token()] = False
    youtube.expire_access_tokens()

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.kind == "auth"
    assert "Reconnect it on the Connected accounts page" in result.message
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    destination.refresh_from_db()
    assert destination.status == StreamDestination.Status.ERROR
    # The page tells the creator too.
    page = user_client.get("/connections/").content.decode()
    assert "Needs reconnecting" in page


def test_facebook_session_invalidated_code_190(facebook, user_client, stream):
    account = connect(user_client, "facebook")
    add(stream, account)
    facebook.expire_access_tokens()  # the user changed their password

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.kind == "auth"
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.NEEDS_RECONNECT


def test_youtube_broadcast_that_never_went_live_is_deleted_at_the_end(youtube, user_client, stream):
    destination = add(stream, connect(user_client, "youtube"))
    ps.prepare_platform_destinations(stream=stream)
    (broadcast_id,) = youtube.broadcasts

    (result,) = ps.finish_platform_destinations(stream=stream)  # ready -> complete is invalid on YouTube

    assert result.ok
    assert youtube.broadcasts == {}  # no empty "upcoming" broadcast left on the channel
    (delete,) = youtube.calls("DELETE", "/youtube/v3/liveBroadcasts")
    assert delete.query["id"] == broadcast_id
    destination.refresh_from_db()
    assert destination.platform_state == PlatformState.COMPLETE


def test_platform_down_is_unavailable_not_a_crash(youtube, user_client, stream):
    add(stream, connect(user_client, "youtube"))
    youtube.stop()

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.kind == "unavailable"
    assert "could not be reached" in result.message


def test_server_without_app_credentials_explains_and_keeps_the_tokens(twitch, user_client, stream, settings):
    account = connect(user_client, "twitch")
    add(stream, account)
    settings.TWITCH_CLIENT_ID = ""

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert not result.ok
    assert "TWITCH_CLIENT_ID" in result.message
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert twitch.calls("GET", "/helix/streams/key") == []
