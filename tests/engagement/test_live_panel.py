"""The moderation panel inside the studio: who gets it (page and socket), its JSON reload, its live events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from apps.engagement import realtime, services
from apps.engagement.models import Comment
from apps.streams import services as stream_services
from apps.streams.models import Guest
from apps.streams.seats import SESSION_GUESTS_KEY
from streamus.routing import websocket_urlpatterns
from tests.factories import GuestFactory, StreamFactory, UserFactory


def add(stream, message_id, text="nice show", author_id="viewer-1", platform="youtube"):
    return services.comment_ingest(
        stream=stream, platform=platform, message_id=message_id, author_name="Viewer", author_id=author_id, text=text
    )


def join_by_link(stream, role: str) -> tuple[Client, str]:
    """A browser that opened an invite link with this role and gave its name; returns it and its page."""
    _guest, token = stream_services.guest_invite(stream=stream, by=stream.owner, ttl=timedelta(hours=1), role=role)
    browser = Client()
    url = reverse("guest_join", args=[token])
    assert browser.post(url, {"display_name": f"A {role}"}).status_code == 302
    page = browser.get(url)
    assert page.status_code == 200 and 'id="green-room"' in page.content.decode()
    return browser, page.content.decode()


@pytest.mark.django_db
def test_the_studio_page_carries_the_live_panel_without_polling(user_client, stream):
    add(stream, "1", text="<b>hello</b> from youtube")
    html = user_client.get(f"/studio/{stream.pk}/").content.decode()
    assert f'id="comments-panel-{stream.pk}"' in html and "data-comments-panel" in html
    assert f'data-ws-path="/ws/streams/{stream.pk}/comments/"' in html
    assert "hello from youtube" in html  # first paint from the server, sanitized
    assert "every 3s" not in html  # live over the socket, no polling
    assert "<script>" not in html and " style=" not in html


@pytest.mark.django_db
def test_a_moderator_guest_page_has_the_panel_and_a_plain_guest_page_has_none(stream):
    add(stream, "1", text="hello moderators")
    moderator, html = join_by_link(stream, Guest.Role.MODERATOR)
    assert "data-comments-panel" in html and "hello moderators" in html
    assert moderator.get(reverse("engagement:panel", args=[stream.pk]), {"format": "json"}).status_code == 200

    guest, html = join_by_link(stream, Guest.Role.GUEST)
    assert "data-comments-panel" not in html and "hello moderators" not in html
    assert f"/ws/streams/{stream.pk}/comments/" not in html
    assert guest.get(reverse("engagement:panel", args=[stream.pk]), {"format": "json"}).status_code == 403


@pytest.mark.django_db
def test_json_feed_is_what_the_live_panel_reloads(user_client, stream):
    shown = add(stream, "1", text="approved one")
    held = add(stream, "2", text="look at example.com", platform="twitch")
    assert held.status == Comment.Status.PENDING
    shown = services.comment_show_on_screen(comment=shown)
    realtime.write_card(stream.pk, {"comment_id": shown.pk, "shown_at": 1.0, "auto_hide_seconds": 0}, None)
    url = reverse("engagement:panel", args=[stream.pk])

    data = user_client.get(url, {"format": "json"}).json()
    assert [c["id"] for c in data["comments"]] == [held.pk, shown.pk]  # newest first
    assert data["pending_count"] == 1
    assert data["card"]["comment_id"] == shown.pk
    by_id = {c["id"]: c for c in data["comments"]}
    assert by_id[shown.pk]["on_screen"] is True and by_id[held.pk]["on_screen"] is False
    assert set(by_id[held.pk]) >= {"platform", "author_name", "author_initial", "text", "status", "pinned"}

    only_twitch = user_client.get(url, {"format": "json", "platform": "twitch"}).json()
    assert [c["id"] for c in only_twitch["comments"]] == [held.pk]
    only_pending = user_client.get(url, {"format": "json", "status": "pending"}).json()
    assert [c["id"] for c in only_pending["comments"]] == [held.pk]

    # Once the card has hidden itself on air, the reload no longer calls the comment on screen.
    Comment.objects.filter(pk=shown.pk).update(shown_on_screen_at=shown.shown_on_screen_at - timedelta(minutes=5))
    data = user_client.get(url, {"format": "json"}).json()
    assert {c["id"]: c["on_screen"] for c in data["comments"]}[shown.pk] is False


async def _socket(stream_id: int, *, user=None, seats: dict[str, int] | None = None):
    def make_session() -> str:
        if user is not None:
            browser = Client()
            browser.force_login(user)
            return browser.cookies[settings.SESSION_COOKIE_NAME].value
        store = SessionStore()
        store[SESSION_GUESTS_KEY] = seats or {}
        store.save()
        return str(store.session_key)

    key = await sync_to_async(make_session)()
    ws = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns),
        f"/ws/streams/{stream_id}/comments/",
        headers=[(b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode())],
    )
    connected, _ = await ws.connect()
    assert connected
    return ws


async def _next(ws, event_type: str) -> dict:
    """The next event of this type (others on the way are skipped), within a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        event = await ws.receive_json_from(timeout=max(0.1, deadline - loop.time()))
        if event["type"] == event_type:
            return event


@pytest.mark.django_db(transaction=True)
async def test_host_and_moderator_follow_every_moderation_step_live_and_a_guest_is_refused():
    owner = await sync_to_async(UserFactory)()
    stream = await sync_to_async(StreamFactory)(owner=owner)
    mod_seat = await sync_to_async(GuestFactory)(stream=stream, role=Guest.Role.MODERATOR, joined_at=stream.created_at)
    guest_seat = await sync_to_async(GuestFactory)(stream=stream, role=Guest.Role.GUEST, joined_at=stream.created_at)

    host = await _socket(stream.pk, user=owner)
    moderator = await _socket(stream.pk, seats={str(stream.pk): mod_seat.pk})
    guest = await _socket(stream.pk, seats={str(stream.pk): guest_seat.pk})
    assert (await guest.receive_output(timeout=5))["code"] == 4403
    for ws in (host, moderator):
        await ws.send_json_to({"type": "ping"})
        assert (await ws.receive_json_from(timeout=5)) == {"type": "pong"}

    comment = await sync_to_async(add)(stream, "live-1", text="hold me: example.com", author_id="troll")
    assert comment.status == Comment.Status.PENDING
    for ws in (host, moderator):
        created = await _next(ws, "comment.created")
        assert created["comment"]["id"] == comment.pk and created["comment"]["status"] == "pending"

    # Each step arrives at both, with the row as it now is.
    await sync_to_async(services.comment_approve)(comment=comment)
    for ws in (host, moderator):
        assert (await _next(ws, "comment.updated"))["comment"]["status"] == "approved"
    await sync_to_async(services.comment_pin)(comment=comment, pinned=True)
    for ws in (host, moderator):
        assert (await _next(ws, "comment.updated"))["comment"]["pinned"] is True
    await sync_to_async(services.comment_show_on_screen)(comment=comment)
    for ws in (host, moderator):
        event = await _next(ws, "comment.on_screen")
        assert event["comment"]["id"] == comment.pk and event["card"]["comment_id"] == comment.pk
    assert (await sync_to_async(realtime.read_card)(stream.pk))["comment_id"] == comment.pk
    await sync_to_async(services.comment_take_off_screen)(stream=stream)
    for ws in (host, moderator):
        assert (await _next(ws, "comment.off_screen"))["stream"] == stream.pk
    assert await sync_to_async(realtime.read_card)(stream.pk) is None
    await sync_to_async(services.author_ban)(stream=stream, platform="youtube", author_id="troll")
    for ws in (host, moderator):
        hidden = await _next(ws, "comment.updated")
        assert hidden["comment"]["status"] == "hidden" and hidden["comment"]["pinned"] is False
        assert (await _next(ws, "comment.author_banned"))["author_id"] == "troll"

    # The guest's socket was closed at the door and got none of it.
    assert await guest.receive_nothing(timeout=0.2)
    for ws in (host, moderator, guest):
        await ws.disconnect()


def test_a_batch_frame_is_the_events_in_order_as_json():
    import json

    from apps.engagement.consumers import batch_payload

    one = json.dumps({"type": "comment.updated", "comment": {"id": 1}}).encode()
    assert batch_payload([one]) == one
    texts = [json.dumps({"type": "comment.created", "comment": {"id": n, "text": 'say "hi" ✨'}}) for n in range(3)]
    frame = json.loads(batch_payload([t.encode() for t in texts]))
    assert frame["type"] == "comment.batch"
    assert [e["comment"]["id"] for e in frame["events"]] == [0, 1, 2]
    assert frame["events"][0]["comment"]["text"] == 'say "hi" ✨'


@pytest.mark.django_db(transaction=True)
async def test_a_burst_reaches_the_panel_complete_and_in_order_batched_or_not():
    owner = await sync_to_async(UserFactory)()
    stream = await sync_to_async(StreamFactory)(owner=owner)
    host = await _socket(stream.pk, user=owner)
    await host.send_json_to({"type": "ping"})
    assert (await host.receive_json_from(timeout=5)) == {"type": "pong"}

    # 300 events published back to back, as a flooded chat would: the consumer finds many waiting.
    def publish_burst() -> None:
        for n in range(300):
            realtime.publish(stream.pk, "comment.updated", {"comment": {"id": n}})

    await sync_to_async(publish_burst)()
    got: list[int] = []
    frames = 0
    while len(got) < 300:
        event = await host.receive_json_from(timeout=5)
        frames += 1
        events = event["events"] if event["type"] == "comment.batch" else [event]
        assert len(events) <= 200
        got += [e["comment"]["id"] for e in events if e["type"] == "comment.updated"]
    assert got == list(range(300))
    assert frames <= 300
    await host.disconnect()
