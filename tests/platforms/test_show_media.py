"""A real show to connected channels: run_show prepares the platforms, pushes real video to the
ingests they handed out (local nginx-rtmp standing in for YouTube's and Twitch's), YouTube goes
live once its ingest sees video, a failing Facebook page does not stop the others, and the end
of the show ends the broadcasts."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.core import redis as redis_client
from apps.destinations import platform_services as ps
from apps.destinations.models import PlatformState, StreamDestination
from apps.shows import runner as broadcast
from apps.shows import services as shows
from apps.shows.watcher import PlatformGoLiveWatcher
from apps.streams.models import Stream
from tests.support.platform_fakes import connect
from tests.support.rtmp import ffprobe, rtmp_servers, video_stream, wait_for  # noqa: F401  (fixture)

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _show_settings(settings, tmp_path, monkeypatch):
    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    settings.BROADCAST_X264_PRESET = "ultrafast"
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    monkeypatch.setattr(PlatformGoLiveWatcher, "POLL_SECONDS", 0.3)


def test_show_goes_out_to_connected_channels(youtube, twitch, facebook, rtmp_servers, user_client, user):  # noqa: F811
    yt_ingest, tw_ingest = rtmp_servers(2)
    youtube.ingest_url = yt_ingest.url
    twitch.ingest_url = tw_ingest.url
    stream = Stream.objects.create(
        owner=user, title="Connected show", resolution="480p", fps=30, video_bitrate_kbps=400, recording_enabled=False
    )
    yt = ps.platform_destination_create(stream=stream, account=connect(user_client, "youtube"), by=user)
    tw = ps.platform_destination_create(stream=stream, account=connect(user_client, "twitch"), by=user)
    fb = ps.platform_destination_create(
        stream=stream, account=connect(user_client, "facebook"), by=user, target_id=facebook.page_id
    )
    facebook.fail_next("POST", "/live_videos", "facebook/error_permissions_200")
    stream.transition(Stream.Status.LIVE)
    stream.save()

    outcome: list[str] = []

    def run() -> None:
        try:
            outcome.append(broadcast.run_show(stream_id=stream.pk))
        finally:
            connection.close()  # this thread's connection, so the test database can be dropped

    show = threading.Thread(target=run, daemon=True)
    show.start()

    # The keys the platforms handed out are the ones video arrives under.
    yt_key = wait_for(lambda: StreamDestination.objects.get(pk=yt.pk).decrypt_stream_key(), 30)
    (stream_id,) = youtube.streams
    assert yt_key == youtube.streams[stream_id]["name"]
    yt_flv = yt_ingest.wait_for_publish(yt_key, timeout=30)
    tw_flv = tw_ingest.wait_for_publish(twitch.stream_key, timeout=30)
    assert video_stream(ffprobe(tw_flv))["codec_name"] == "h264"
    assert video_stream(ffprobe(yt_flv))["codec_name"] == "h264"

    # YouTube sees the video on its ingest; the watcher moves the broadcast to live.
    (broadcast_id,) = youtube.broadcasts
    assert youtube.broadcasts[broadcast_id]["life"] == "ready"
    youtube.activate(stream_id)
    wait_for(lambda: youtube.broadcasts[broadcast_id]["life"] == "live", 20)
    wait_for(lambda: StreamDestination.objects.get(pk=yt.pk).platform_state == PlatformState.LIVE, 10)

    # Facebook refused (missing permission): explained on its row, and nothing was pushed for it.
    fb.refresh_from_db()
    assert fb.status == StreamDestination.Status.ERROR
    assert "missing a permission" in fb.last_error
    assert not fb.has_stream_key

    shows.show_end(stream=stream, by=user)
    show.join(30)
    assert outcome == ["ended"]
    assert youtube.broadcasts[broadcast_id]["life"] == "complete"
    for destination in (yt, tw):
        destination.refresh_from_db()
        assert destination.platform_state == PlatformState.COMPLETE
        assert not destination.has_stream_key


def test_connected_channel_added_while_live_is_prepared_then_pushed(youtube, rtmp_servers, user_client, user):  # noqa: F811
    """A connected YouTube channel added during the show: the runner creates its broadcast and fetches the
    ingest and key before its pusher starts; a second one the platform refuses is explained on its row."""
    (ingest,) = rtmp_servers(1)
    youtube.ingest_url = ingest.url
    stream = Stream.objects.create(
        owner=user, title="Added live", resolution="480p", fps=30, video_bitrate_kbps=400, recording_enabled=False
    )
    stream.transition(Stream.Status.LIVE)
    stream.save()
    account = connect(user_client, "youtube")
    outcome: list[str] = []

    def run() -> None:
        try:
            outcome.append(broadcast.run_show(stream_id=stream.pk))
        finally:
            connection.close()

    show = threading.Thread(target=run, daemon=True)
    show.start()
    wait_for(lambda: redis_client.client().exists(broadcast.lock_key(stream.pk)), 20)

    added = ps.platform_destination_create(stream=stream, account=account, by=user)  # wakes the show
    key = wait_for(lambda: StreamDestination.objects.get(pk=added.pk).decrypt_stream_key(), 30)
    added.refresh_from_db()
    assert added.platform_state == PlatformState.CREATED and added.rtmp_url == ingest.url
    assert video_stream(ffprobe(ingest.wait_for_publish(key, timeout=30)))["codec_name"] == "h264"

    youtube.fail_next("POST", "/liveBroadcasts", "youtube/error_quota_exceeded")
    refused = ps.platform_destination_create(stream=stream, account=account, by=user)
    wait_for(lambda: StreamDestination.objects.get(pk=refused.pk).status == StreamDestination.Status.ERROR, 30)
    refused.refresh_from_db()
    assert "quota" in refused.last_error and not refused.has_stream_key

    shows.show_end(stream=stream, by=user)
    show.join(30)
    assert outcome == ["ended"]
