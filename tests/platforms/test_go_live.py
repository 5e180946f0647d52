"""Connect -> create destination -> go live -> end -> disconnect, against the fake platforms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.destinations import platform_services as ps
from apps.destinations.models import ConnectedAccount, PlatformState, StreamDestination
from apps.shows.watcher import PlatformGoLiveWatcher
from tests.factories import DestinationFactory
from tests.support.platform_fakes import connect


def add(stream, account, **kwargs) -> StreamDestination:
    return ps.platform_destination_create(stream=stream, account=account, by=stream.owner, **kwargs)


def test_youtube_full_show(youtube, user_client, stream):
    stream.description = "Weekly show"
    stream.save()
    account = connect(user_client, "youtube")
    destination = add(stream, account, title="Episode 12 on YouTube", privacy="unlisted")

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.ok, result.message
    destination.refresh_from_db()
    (broadcast_id,) = youtube.broadcasts
    broadcast = youtube.broadcasts[broadcast_id]
    stream_id = broadcast["stream"]
    # The broadcast carries the per-destination title, the stream's description, the privacy.
    assert broadcast["body"]["snippet"]["title"] == "Episode 12 on YouTube"
    assert broadcast["body"]["snippet"]["description"] == "Weekly show"
    assert broadcast["body"]["status"]["privacyStatus"] == "unlisted"
    assert broadcast["life"] == "ready"  # bound to our stream
    # The ingest and key are what YouTube gave for the stream; the key is stored encrypted.
    assert destination.rtmp_url == "rtmps://a.rtmps.youtube.com/live2"
    assert destination.decrypt_stream_key() == youtube.streams[stream_id]["name"]
    assert destination.platform_broadcast_id == broadcast_id
    assert destination.platform_stream_id == stream_id
    assert destination.chat_id == f"Chat{broadcast_id}"
    assert destination.platform_state == PlatformState.CREATED
    # Every API call carried the bearer token of this account.
    assert all(r.bearer() == account.decrypt_access_token() for r in youtube.requests if r.path.startswith("/youtube"))

    # No video yet: the broadcast stays waiting.
    assert ps.advance_platform_destinations(stream=stream) == []
    assert youtube.broadcasts[broadcast_id]["life"] == "ready"
    assert ps.pending_platform_destinations(stream=stream) == 1

    youtube.activate(stream_id)  # video reaches YouTube's ingest
    (live,) = ps.advance_platform_destinations(stream=stream)

    assert live.ok
    assert youtube.broadcasts[broadcast_id]["life"] == "live"
    destination.refresh_from_db()
    assert destination.platform_state == PlatformState.LIVE
    assert ps.pending_platform_destinations(stream=stream) == 0

    (ended,) = ps.finish_platform_destinations(stream=stream)

    assert ended.ok
    assert youtube.broadcasts[broadcast_id]["life"] == "complete"
    destination.refresh_from_db()
    assert destination.platform_state == PlatformState.COMPLETE
    assert not destination.has_stream_key

    user_client.post(f"/connections/{account.pk}/disconnect/")
    destination.refresh_from_db()
    assert destination.account is None
    assert destination.status == StreamDestination.Status.ERROR
    assert "was disconnected" in destination.last_error


def test_twitch_sets_title_and_category_and_fetches_key(twitch, user_client, stream):
    account = connect(user_client, "twitch")
    destination = add(stream, account, category="Just Chatting")

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.ok, result.message
    destination.refresh_from_db()
    assert twitch.channel == {"title": stream.title, "game_id": "509658"}
    assert destination.rtmp_url == "rtmps://ingest.global-contribute.live-video.net/app"
    assert destination.decrypt_stream_key() == twitch.stream_key
    assert destination.chat_id == "streamustest"
    (patch,) = twitch.calls("PATCH", "/helix/channels")
    assert patch.query == {"broadcaster_id": "141981764"}
    assert patch.headers["client-id"] == twitch.client_id

    assert [r.ok for r in ps.advance_platform_destinations(stream=stream)] == [True]
    assert [r.ok for r in ps.finish_platform_destinations(stream=stream)] == [True]


def test_twitch_unknown_category_is_explained(twitch, user_client, stream):
    account = connect(user_client, "twitch")
    destination = add(stream, account, category="Not A Real Game")

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert not result.ok
    destination.refresh_from_db()
    assert "no category called" in destination.last_error


def test_facebook_page_live_video(facebook, user_client, stream):
    account = connect(user_client, "facebook")
    assert [t["id"] for t in account.targets] == ["me", facebook.page_id]
    destination = add(stream, account, target_id=facebook.page_id, description="On the page")

    (result,) = ps.prepare_platform_destinations(stream=stream)

    assert result.ok, result.message
    destination.refresh_from_db()
    (video_id,) = facebook.videos
    video = facebook.videos[video_id]
    assert video == {
        "status": "LIVE_NOW",
        "target": facebook.page_id,
        "title": stream.title,
        "description": "On the page",
        "ended": False,
    }
    # The page's own token was used, fetched on the fly and never stored.
    (create,) = facebook.calls("POST", "/live_videos")
    assert create.bearer() == facebook.page_tokens[facebook.page_id]
    assert create.bearer() not in (account.decrypt_access_token(), account.decrypt_refresh_token())
    # secure_stream_url split into ingest and key (the key keeps its query string).
    assert destination.rtmp_url == "rtmps://live-api-s.facebook.com:443/rtmp"
    assert destination.decrypt_stream_key().startswith(f"FB-{video_id}-0-")
    assert "s_vt=api-s" in destination.decrypt_stream_key()
    assert destination.chat_id == video_id
    assert destination.name == "StreamUs Test Page"

    ps.finish_platform_destinations(stream=stream)

    assert facebook.videos[video_id]["ended"] is True


def test_scheduling_creates_the_platform_side_ahead_and_go_live_reuses_it(youtube, facebook, user_client, stream):
    stream.scheduled_start = timezone.now() + timedelta(days=2)
    stream.save()
    # Adding a connected destination to a scheduled show creates the platform side at once.
    yt = add(stream, connect(user_client, "youtube"))
    fb = add(stream, connect(user_client, "facebook"))

    assert (yt.platform_state, fb.platform_state) == (PlatformState.SCHEDULED, PlatformState.SCHEDULED)
    assert ps.schedule_platform_destinations(stream=stream) == []  # nothing to do twice
    (broadcast_id,) = youtube.broadcasts
    assert youtube.broadcasts[broadcast_id]["body"]["snippet"]["scheduledStartTime"] == stream.scheduled_start.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    (video_id,) = facebook.videos
    assert facebook.videos[video_id]["status"] == "SCHEDULED_UNPUBLISHED"
    yt.refresh_from_db()
    key_before = yt.decrypt_stream_key()

    results = ps.prepare_platform_destinations(stream=stream)

    assert [r.ok for r in results] == [True, True]
    assert len(youtube.broadcasts) == 1 and len(facebook.videos) == 1  # nothing created twice
    assert facebook.videos[video_id]["status"] == "LIVE_NOW"
    yt.refresh_from_db()
    fb.refresh_from_db()
    assert yt.decrypt_stream_key() == key_before
    assert fb.platform_state == PlatformState.CREATED


def test_go_live_api_flow_end_to_end(youtube, twitch, user_client, user_api, stream):
    """The API adds connected destinations; the services do go-live; no token is ever in an answer."""
    yt = connect(user_client, "youtube")
    tw = connect(user_client, "twitch")

    for account in (yt, tw):
        response = user_api.post(
            f"/api/v1/connections/{account.pk}/destinations/",
            {"stream": stream.pk, "title": "API title"},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["platform"] == account.platform

    results = ps.prepare_platform_destinations(stream=stream)

    assert [r.ok for r in results] == [True, True]
    listing = user_api.get("/api/v1/connections/").content.decode()
    assert "youtube" in listing and "twitch" in listing
    for account in (yt, tw):
        account.refresh_from_db()
        assert account.decrypt_access_token() not in listing
        assert account.decrypt_refresh_token() not in listing
        assert account.access_token_encrypted not in listing


def test_api_refuses_other_peoples_streams_and_accounts(youtube, user_client, user_api, other_user):
    account = connect(user_client, "youtube")
    from tests.factories import StreamFactory

    theirs = StreamFactory(owner=other_user)
    response = user_api.post(f"/api/v1/connections/{account.pk}/destinations/", {"stream": theirs.pk}, format="json")
    assert response.status_code == 404


def test_facebook_target_must_be_the_profile_or_a_managed_page(facebook, user_client, stream):
    account = connect(user_client, "facebook")
    with pytest.raises(Exception, match="Pages you manage"):
        add(stream, account, target_id="999999")


def test_custom_destinations_are_left_alone(youtube, user_client, stream):
    custom = DestinationFactory(stream=stream)
    add(stream, connect(user_client, "youtube"))

    results = ps.prepare_platform_destinations(stream=stream)

    assert len(results) == 1
    custom.refresh_from_db()
    assert custom.rtmp_url == "rtmp://127.0.0.1:1935/live"
    assert custom.decrypt_stream_key() == "live_sk_test_0000_abcd1234"


def test_account_row_is_deleted_not_the_destinations(twitch, user_client, stream):
    account = connect(user_client, "twitch")
    destination = add(stream, account)
    ps.account_disconnect(account=account, by=stream.owner)
    assert StreamDestination.objects.filter(pk=destination.pk).exists()
    assert not ConnectedAccount.objects.exists()


def test_add_from_the_connections_page(twitch, user_client, stream):
    account = connect(user_client, "twitch")
    page = user_client.get("/connections/").content.decode()
    assert f'action="/connections/{account.pk}/destinations/"' in page

    response = user_client.post(
        f"/connections/{account.pk}/destinations/",
        {"stream": stream.pk, "category": "Just Chatting", "title": "Tonight"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/streams/{stream.pk}/"
    destination = StreamDestination.objects.get(account=account)
    assert (destination.platform, destination.category, destination.title_override) == (
        "twitch",
        "Just Chatting",
        "Tonight",
    )
    assert destination.display_name in user_client.get(f"/streams/{stream.pk}/").content.decode()


def test_add_to_someone_elses_stream_is_not_found(twitch, user_client, other_user):
    from tests.factories import StreamFactory

    account = connect(user_client, "twitch")
    theirs = StreamFactory(owner=other_user)
    response = user_client.post(f"/connections/{account.pk}/destinations/", {"stream": theirs.pk})
    assert response.status_code == 404
    assert not StreamDestination.objects.exists()


def test_go_live_watcher_advances_and_gives_up_on_a_silent_ingest(youtube, user_client, stream):
    account = connect(user_client, "youtube")
    fed, silent = add(stream, account, title="fed"), add(stream, account, title="silent")
    ps.prepare_platform_destinations(stream=stream)
    fed.refresh_from_db()
    youtube.activate(fed.platform_stream_id)  # video reaches only the first ingest
    watcher = PlatformGoLiveWatcher(stream.pk, give_up_seconds=0)

    assert watcher.step()  # the fed one goes live; the silent one starts its clock

    fed.refresh_from_db()
    assert fed.platform_state == PlatformState.LIVE
    assert watcher.step()  # past the (zero) patience: the silent one is given up on
    silent.refresh_from_db()
    assert silent.platform_state == PlatformState.FAILED
    assert "did not receive the video" in silent.last_error
    assert not watcher.step()  # nothing left to do
