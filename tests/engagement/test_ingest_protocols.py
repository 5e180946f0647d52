"""Each chat source against a local server speaking the platform's protocol.

These tests use a collecting sink (no database): they check the protocol side —
paging, intervals, quota and rate hints, reconnects, PING/PONG, parsing.
tests/engagement/test_ingest_pipeline.py checks the same sources end to end into Comment rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json

from apps.engagement.ingest.base import Backoff, IncomingComment, run_source
from apps.engagement.ingest.facebook import FacebookCommentsSource
from apps.engagement.ingest.twitch import TwitchChatClient, parse_line
from apps.engagement.ingest.youtube import YouTubeChatPoller, YouTubeChatStream
from tests.support.chat_fakes import FakeHttpServer, FakeTwitchIrc, Reply, payload, payload_json

CHAT_PATH = "/youtube/v3/liveChat/messages"
FAST = {"base": 0.05, "cap": 0.2}


class Collector:
    def __init__(self, stop_after: int | None = None) -> None:
        self.items: list[IncomingComment] = []
        self.stop = asyncio.Event()
        self.stop_after = stop_after

    async def __call__(self, comment: IncomingComment) -> None:
        self.items.append(comment)
        if self.stop_after is not None and len(self.items) >= self.stop_after:
            self.stop.set()

    @property
    def ids(self) -> list[str]:
        return [c.message_id for c in self.items]


async def run_until(source, collector: Collector, timeout: float = 20.0) -> str:
    return await asyncio.wait_for(run_source(source, stop=collector.stop, backoff=Backoff(**FAST)), timeout)


# --- YouTube --------------------------------------------------------------------------


async def test_youtube_polls_pages_honouring_interval_and_quota_errors():
    page1, page2 = payload_json("youtube_page1.json"), payload_json("youtube_page2.json")
    with FakeHttpServer() as server:
        server.add(
            CHAT_PATH,
            Reply(200, page1),
            Reply(403, payload_json("youtube_quota.json")),
            Reply(503, {"error": {"code": 503, "message": "backendError"}}),
            Reply(200, page2),
            Reply(403, payload_json("youtube_ended.json")),
        )
        collector = Collector()
        poller = YouTubeChatPoller(
            sink=collector,
            live_chat_id="Cg0KC1JNcWR0eVpMZzUw",
            access_token="ya29.test-token",
            base_url=server.url + "/youtube/v3",
            quota_backoff=0.5,
        )
        assert await run_until(poller, collector) == "finished"

    requests = server.on(CHAT_PATH)
    assert len(requests) == 5
    assert all(r.headers["authorization"] == "Bearer ya29.test-token" for r in requests)
    assert all(r.query["liveChatId"] == "Cg0KC1JNcWR0eVpMZzUw" for r in requests)
    tokens = [r.query.get("pageToken") for r in requests]
    # Page 1 had no token; after it every call continues from its nextPageToken, also across errors.
    assert tokens == [
        None,
        page1["nextPageToken"],
        page1["nextPageToken"],
        page1["nextPageToken"],
        page2["nextPageToken"],
    ]
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert gaps[0] >= 1.5  # pollingIntervalMillis of page 1
    assert gaps[1] >= 0.5  # quota backoff, not a hot retry
    assert gaps[3] >= 2.0  # pollingIntervalMillis of page 2
    # Text and Super Chat messages are delivered; membership events are not; the repeat is left to dedupe.
    assert collector.ids == [
        "LCC." + page1["items"][0]["id"][4:],
        "LCC.superchat-0001",
        "LCC.superchat-0001",
        "LCC.text-0004",
    ]
    first = collector.items[0]
    assert (first.author_name, first.author_id, first.text) == (
        "Ana Sousa",
        "UCq9VfYrVpYE3NwGD3bcL0xQ",
        "Hello from Lisbon! 👋",
    )
    assert first.avatar_url.startswith("https://yt4.ggpht.com/")
    assert first.sent_at is not None and first.sent_at.microsecond == 123456
    assert collector.items[1].text == "<b>Love</b> the show"  # raw: sanitizing is comment_ingest's job


async def test_youtube_state_survives_a_restart_without_polling_early():
    page1 = payload_json("youtube_page1.json")
    with FakeHttpServer() as server:
        server.add(CHAT_PATH, Reply(200, page1))
        collector = Collector()
        first = YouTubeChatPoller(
            sink=collector, live_chat_id="c", access_token="t", base_url=server.url + "/youtube/v3"
        )
        assert await first.step() is True
        state = first.state()
        await first.close()
        second = YouTubeChatPoller(
            sink=collector, live_chat_id="c", access_token="t", base_url=server.url + "/youtube/v3"
        )
        second.restore(state)
        assert await second.step() is False  # not due yet: the restart did not reset the wait
        assert 1.0 < second.idle_seconds() <= 1.5
        assert second.page_token == page1["nextPageToken"]
        await second.close()
    assert len(server.on(CHAT_PATH)) == 1


async def test_youtube_refused_token_ends_the_source():
    with FakeHttpServer() as server:
        server.add(CHAT_PATH, Reply(401, {"error": {"code": 401, "errors": [{"reason": "authError"}]}}))
        collector = Collector()
        poller = YouTubeChatPoller(
            sink=collector, live_chat_id="c", access_token="t", base_url=server.url + "/youtube/v3"
        )
        assert await run_until(poller, collector) == "auth"


# --- Twitch -------------------------------------------------------------------------------


def test_irc_line_parsing_with_escaped_tags():
    msg = parse_line(
        "@display-name=Semi\\scolon\\:Fan;id=abc;user-id=42;emotes= :semi!semi@semi.tmi.twitch.tv PRIVMSG #chan :hi :) there"
    )
    assert msg is not None
    assert (msg.command, msg.params, msg.nick) == ("PRIVMSG", ["#chan", "hi :) there"], "semi")
    assert msg.tags == {"display-name": "Semi colon;Fan", "id": "abc", "user-id": "42", "emotes": ""}
    assert parse_line("PING :tmi.twitch.tv").trailing == "tmi.twitch.tv"
    assert parse_line("") is None


async def test_twitch_irc_handshake_messages_ping_reconnect_and_drop():
    recorded = payload("twitch_lines.txt")
    late = (
        "@display-name=Late;id=late-1;tmi-sent-ts=1764000009000;user-id=555 "
        ":late!late@late.tmi.twitch.tv PRIVMSG #streamus_show :after reconnect\r\n"
    )
    scripts = [
        # 1: the recorded burst in one frame, a PING we must answer, then Twitch's RECONNECT.
        [("send", recorded), ("ping",), ("wait_pong",), ("reconnect",), ("sleep", 5)],
        # 2: one message, then the connection drops without a close handshake reason.
        [("send", late), ("close",)],
        # 3: the same message again (platforms re-deliver) and a new one.
        [("send", late + late.replace("late-1", "late-2").replace("after reconnect", "still here")), ("sleep", 30)],
    ]
    async with FakeTwitchIrc(scripts) as server:
        collector = Collector(stop_after=6)
        client = TwitchChatClient(
            sink=collector, channel="#Streamus_Show", url=server.url, access_token="tw-token", nick="streamus_bot"
        )
        assert await run_until(client, collector) == "stopped"

    assert client.connections == 3
    assert server.pongs == 1 and client.pongs_sent == 1
    handshake = server.received[0][:4]
    assert handshake == [
        "CAP REQ :twitch.tv/tags twitch.tv/commands",
        "PASS oauth:tw-token",
        "NICK streamus_bot",
        "JOIN #streamus_show",
    ]
    assert collector.ids == [
        "b34ccfc7-4977-403a-8a94-33c6bac34fb8",
        "885196de-cb67-427a-baa8-82f9b0fcd05f",
        "3c2a0f7e-7c3a-4c2b-9a3a-8a1b2c3d4e5f",
        "late-1",
        "late-1",
        "late-2",
    ]
    ronni, semi, action = collector.items[:3]
    assert (ronni.author_name, ronni.author_id, ronni.text) == ("Ronni", "713936733", "Kappa Keepo Kappa")
    assert ronni.sent_at is not None and int(ronni.sent_at.timestamp() * 1000) == 1764000000751
    assert semi.author_name == "Semi colon;Fan"
    assert action.text == "waves"
    assert client.deleted_ids == ["3c2a0f7e-7c3a-4c2b-9a3a-8a1b2c3d4e5f"]


async def test_twitch_anonymous_login_and_refused_token():
    async with FakeTwitchIrc([[("sleep", 30)]], reject_token="bad") as server:
        collector = Collector()
        client = TwitchChatClient(sink=collector, channel="x", url=server.url, access_token="bad", nick="bot")
        assert await run_until(client, collector) == "auth"
    async with FakeTwitchIrc([[("send", "PING :tmi.twitch.tv\r\n"), ("wait_pong",), ("sleep", 30)]]) as server:
        collector = Collector()
        client = TwitchChatClient(sink=collector, channel="x", url=server.url)
        task = asyncio.create_task(run_source(client, stop=collector.stop, backoff=Backoff(**FAST)))
        for _ in range(200):
            if server.pongs:
                break
            await asyncio.sleep(0.02)
        collector.stop.set()
        assert await asyncio.wait_for(task, 5) == "stopped"
    lines = server.received[0]
    assert "PASS SCHMOOPIIE" in lines and any(line.startswith("NICK justinfan") for line in lines)


# --- Facebook -----------------------------------------------------------------------------

VIDEO = "1234567890"
SSE_PATH = f"/{VIDEO}/live_comments"
COMMENTS_PATH = f"/v24.0/{VIDEO}/comments"


def facebook(server: FakeHttpServer, collector: Collector, **kwargs) -> FacebookCommentsSource:
    return FacebookCommentsSource(
        sink=collector,
        live_video_id=VIDEO,
        access_token="EAAB-page-token",
        streaming_base_url=server.url,
        graph_base_url=server.url + "/v24.0",
        **kwargs,
    )


async def test_facebook_event_stream_reconnects_with_last_event_id():
    events = payload("facebook_sse.txt").split("\n\n")
    more = (
        'id: 3\ndata: {"id":"1234567890_113","message":"Great interview","created_time":"2026-11-24T06:31:10+0000",'
        '"from":{"id":"10158000000000003","name":"Jo Lee"}}\n\n'
    )
    with FakeHttpServer() as server:
        server.add(
            SSE_PATH,
            Reply(chunks=[e + "\n\n" for e in events if e], delay=0.02),  # then the server drops the stream
            Reply(chunks=[more], hold_open=10),
        )
        collector = Collector(stop_after=3)
        source = facebook(server, collector)
        assert await run_until(source, collector) == "stopped"

    first, second = server.on(SSE_PATH)
    assert first.query["access_token"] == "EAAB-page-token"
    assert first.query["comment_rate"] and "message" in first.query["fields"]
    assert first.headers["accept"] == "text/event-stream"
    assert "last-event-id" not in first.headers and second.headers["last-event-id"] == "2"
    assert second.at - first.at >= 0.2  # the stream's `retry: 200`
    assert collector.ids == ["1234567890_111", "1234567890_112", "1234567890_113"]
    rita = collector.items[0]
    assert (rita.author_name, rita.author_id) == ("Rita Alves", "10158000000000001")
    assert rita.avatar_url.startswith("https://scontent.xx.fbcdn.net/")
    assert rita.sent_at is not None and rita.sent_at.utcoffset().total_seconds() == 0


async def test_facebook_falls_back_to_polling_with_cursor_and_rate_limit():
    page = payload_json("facebook_comments.json")
    with FakeHttpServer() as server:
        server.add(SSE_PATH, Reply(400, {"error": {"message": "(#100) Unsupported get request", "code": 100}}))
        server.add(
            COMMENTS_PATH,
            Reply(400, payload_json("facebook_rate_limit.json")),
            Reply(200, page, headers={"X-App-Usage": '{"call_count":95,"total_cputime":10,"total_time":12}'}),
            Reply(200, {"data": [], "paging": {"cursors": {}}}),
        )
        collector = Collector()
        source = facebook(server, collector, poll_interval=0.2, rate_limit_backoff=0.5, app_secret="app-secret")
        task = asyncio.create_task(run_source(source, stop=collector.stop, backoff=Backoff(**FAST)))
        for _ in range(500):
            if len(server.on(COMMENTS_PATH)) >= 3:
                break
            await asyncio.sleep(0.02)
        collector.stop.set()
        await asyncio.wait_for(task, 5)

    assert source.mode == "poll"
    polls = server.on(COMMENTS_PATH)
    assert len(polls) >= 3
    assert polls[0].query["order"] == "chronological" and "after" not in polls[0].query
    expected_proof = hmac.new(b"app-secret", b"EAAB-page-token", hashlib.sha256).hexdigest()
    assert all(p.query["appsecret_proof"] == expected_proof for p in polls)
    assert polls[1].at - polls[0].at >= 0.5  # rate limited (#4): backed off
    assert polls[2].query["after"] == "QVFIUkJ6dHd"
    assert polls[2].at - polls[1].at >= 0.4  # X-App-Usage at 95 %: interval doubled
    assert collector.ids == ["1234567890_112", "1234567890_113"]


STREAM_PATH = CHAT_PATH + "/stream"


async def test_youtube_stream_list_resumes_with_the_last_page_token():
    page1, page2 = payload_json("youtube_page1.json"), payload_json("youtube_page2.json")
    ended = {"kind": "youtube#liveChatMessageListResponse", "offlineAt": "2026-11-24T08:00:00Z", "items": []}
    # The first connection streams two pages (split mid-element, as chunks arrive), then drops
    # without closing the array; the second resumes from page 2's token and reports the chat offline.
    text = "[" + json.dumps(page1) + ",\n" + json.dumps(page2)
    with FakeHttpServer() as server:
        server.add(
            STREAM_PATH,
            Reply(chunks=[text[:100], text[100:700], text[700:]], delay=0.02),
            Reply(chunks=["[" + json.dumps(ended) + "]"]),
        )
        collector = Collector()
        source = YouTubeChatStream(
            sink=collector, live_chat_id="chat-1", access_token="ya29.t", base_url=server.url + "/youtube/v3"
        )
        assert await run_until(source, collector) == "finished"

    first, second = server.on(STREAM_PATH)
    assert "pageToken" not in first.query and second.query["pageToken"] == page2["nextPageToken"]
    assert first.headers["authorization"] == "Bearer ya29.t"
    assert server.on(CHAT_PATH) == []  # streaming: no polling calls spent
    assert collector.ids == [page1["items"][0]["id"], "LCC.superchat-0001", "LCC.superchat-0001", "LCC.text-0004"]
    assert source.stream_connections == 2


async def test_youtube_stream_list_falls_back_to_polling_where_unavailable():
    page1 = payload_json("youtube_page1.json")
    with FakeHttpServer() as server:
        server.add(STREAM_PATH, Reply(404, {"error": {"code": 404, "message": "Not Found"}}))
        server.add(CHAT_PATH, Reply(200, page1), Reply(403, payload_json("youtube_ended.json")))
        collector = Collector()
        source = YouTubeChatStream(
            sink=collector, live_chat_id="chat-1", access_token="t", base_url=server.url + "/youtube/v3"
        )
        assert await run_until(source, collector) == "finished"
    assert source.mode == "poll"
    polls = server.on(CHAT_PATH)
    assert len(polls) == 2 and polls[1].query["pageToken"] == page1["nextPageToken"]
    assert polls[1].at - polls[0].at >= 1.5  # pollingIntervalMillis still honoured after the fallback
    assert len(collector.ids) == 2


async def test_platform_tokens_stay_out_of_the_logs():
    # Facebook wants the token in the query string, and httpx logs every request URL at INFO.
    # The project's log handlers carry RedactSecretsFilter; read the log through one of them.
    import io
    import logging

    from apps.core.logging import RedactSecretsFilter

    token = "EAAB-secret-page-token-1234567890"
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecretsFilter())
    logging.getLogger().addHandler(handler)
    try:
        with FakeHttpServer() as server:
            server.add(COMMENTS_PATH, Reply(200, payload_json("facebook_comments.json")))
            collector = Collector()
            source = FacebookCommentsSource(
                sink=collector,
                live_video_id=VIDEO,
                access_token=token,
                streaming_base_url=server.url,
                graph_base_url=server.url + "/v24.0",
                use_stream=False,
            )
            assert await source.step() is True
            await source.close()
    finally:
        logging.getLogger().removeHandler(handler)
    assert server.on(COMMENTS_PATH)[0].query["access_token"] == token
    logged = out.getvalue()
    assert "HTTP Request: GET" in logged  # the request was logged...
    assert token not in logged and token[-12:] not in logged  # ...without the token
