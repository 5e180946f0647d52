"""The runner end to end: fake YouTube and Twitch servers → sources → comment_ingest → Comment rows."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from apps.destinations.models import ConnectedAccount
from apps.engagement import realtime
from apps.engagement.ingest import runner
from apps.engagement.models import Comment
from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory, UserFactory
from tests.support.chat_fakes import FakeHttpServer, FakeTwitchIrc, Reply, payload, payload_json

CHAT_PATH = "/youtube/v3/liveChat/messages"


def live_stream_with_chats() -> Stream:
    owner = UserFactory()
    stream = StreamFactory(owner=owner, status=Stream.Status.LIVE)
    for platform, chat_id, token in (("youtube", "yt-chat-1", "ya29.yt-token"), ("twitch", "streamus_show", "tw-tok")):
        account = ConnectedAccount(owner=owner, platform=platform, external_id=f"{platform}-1", handle="streamus_bot")
        account.set_tokens(access_token=token, refresh_token="r", expires_at=None)
        account.save()
        DestinationFactory(stream=stream, platform=platform, chat_id=chat_id, account=account)
    return stream


@pytest.mark.django_db(transaction=True)
def test_runner_stores_each_comment_once_from_youtube_and_twitch(settings):
    stream = live_stream_with_chats()
    page1, page2 = payload_json("youtube_page1.json"), payload_json("youtube_page2.json")
    page1["pollingIntervalMillis"] = 200  # keep the test short; the interval itself is tested elsewhere

    async def scenario() -> dict[str, str]:
        with FakeHttpServer() as yt:
            yt.add(CHAT_PATH, Reply(200, page1), Reply(200, page2))
            yt.default[CHAT_PATH] = Reply(200, {"pollingIntervalMillis": 200, "nextPageToken": "END", "items": []})
            recorded = payload("twitch_lines.txt")
            # The second connection replays the same burst: a reconnect must not duplicate anything.
            scripts = [[("send", recorded), ("reconnect",), ("sleep", 5)], [("send", recorded), ("sleep", 30)]]
            async with FakeTwitchIrc(scripts) as tw:
                settings.YOUTUBE_API_BASE_URL = yt.url + "/youtube/v3"
                settings.TWITCH_CHAT_URL = tw.url
                stop = asyncio.Event()
                task = asyncio.create_task(runner.ingest_stream(stream.pk, stop=stop, backoff_base=0.05))
                for _ in range(500):
                    count = await Comment.objects.filter(stream=stream).acount()
                    if count >= 6 and len(tw.received) >= 2 and len(yt.on(CHAT_PATH)) >= 3:
                        break
                    await asyncio.sleep(0.02)
                # A second runner for the same stream finds the lease taken and does nothing.
                assert await runner.ingest_stream(stream.pk, stop=asyncio.Event()) == {}
                stop.set()
                outcome = await asyncio.wait_for(task, 10)
                assert yt.on(CHAT_PATH)[0].headers["authorization"] == "Bearer ya29.yt-token"
                assert tw.received[0][1] == "PASS oauth:tw-tok"
                return outcome

    outcome = asyncio.run(scenario())
    assert outcome == {"youtube": "stopped", "twitch": "stopped"}
    comments = {(c.platform, c.platform_message_id): c for c in Comment.objects.filter(stream=stream)}
    assert sorted(comments) == sorted(
        [
            ("youtube", page1["items"][0]["id"]),
            ("youtube", "LCC.superchat-0001"),
            ("youtube", "LCC.text-0004"),
            ("twitch", "b34ccfc7-4977-403a-8a94-33c6bac34fb8"),
            ("twitch", "885196de-cb67-427a-baa8-82f9b0fcd05f"),
            ("twitch", "3c2a0f7e-7c3a-4c2b-9a3a-8a1b2c3d4e5f"),
        ]
    )
    superchat = comments[("youtube", "LCC.superchat-0001")]
    assert (superchat.author_name, superchat.text, superchat.avatar_url) == ("Ben evil", "Love the show", "")
    assert comments[("youtube", "LCC.text-0004")].text == "second message"
    assert comments[("twitch", "885196de-cb67-427a-baa8-82f9b0fcd05f")].text == "first time here hi"
    # The recorded CLEARMSG (a Twitch moderator deleted "/me waves") hid our copy too.
    deleted = comments[("twitch", "3c2a0f7e-7c3a-4c2b-9a3a-8a1b2c3d4e5f")]
    assert (deleted.text, deleted.status) == ("waves", Comment.Status.HIDDEN)
    # Cursors are saved for the next slice, and the lease is released.
    saved = json.loads(realtime.redis_client_str().get(runner.state_key(stream.pk, "youtube")))
    assert saved["page_token"] == "END"
    assert not realtime.redis_client_str().exists(runner.lease_key(stream.pk))


@pytest.mark.django_db(transaction=True)
def test_runner_stops_when_the_show_ends(settings):
    stream = live_stream_with_chats()

    async def scenario() -> dict[str, str]:
        with FakeHttpServer() as yt:
            yt.default[CHAT_PATH] = Reply(200, {"pollingIntervalMillis": 100, "nextPageToken": "A", "items": []})
            async with FakeTwitchIrc([[("sleep", 30)]]) as tw:
                settings.YOUTUBE_API_BASE_URL = yt.url + "/youtube/v3"
                settings.TWITCH_CHAT_URL = tw.url
                monkey = runner.LIVENESS_CHECK_SECONDS
                runner.LIVENESS_CHECK_SECONDS = 0.1
                try:
                    task = asyncio.create_task(runner.ingest_stream(stream.pk, backoff_base=0.05))
                    await asyncio.sleep(0.3)
                    await sync_to_async(Stream.objects.filter(pk=stream.pk).update)(status=Stream.Status.ENDED)
                    return await asyncio.wait_for(task, 10)
                finally:
                    runner.LIVENESS_CHECK_SECONDS = monkey

    assert asyncio.run(scenario()) == {"youtube": "stopped", "twitch": "stopped"}
