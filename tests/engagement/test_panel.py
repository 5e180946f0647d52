"""The moderation panel over HTTP and its websocket: host and moderators act, guests and strangers cannot."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from apps.core import realtime as core_realtime
from apps.engagement import services
from apps.engagement.models import AuthorBan, Comment
from apps.streams.models import Guest
from apps.streams.seats import SESSION_GUESTS_KEY
from streamus.routing import websocket_urlpatterns
from tests.factories import GuestFactory, StreamFactory, UserFactory


def add(stream, message_id, text="nice show", author_id="viewer-1", platform="youtube"):
    return services.comment_ingest(
        stream=stream, platform=platform, message_id=message_id, author_name="Viewer", author_id=author_id, text=text
    )


def action_url(comment, action):
    return reverse("engagement:comment_action", args=[comment.stream_id, comment.pk, action])


def test_host_sees_the_panel_with_escaped_text_and_filters(user_client, stream):
    add(stream, "1", text="<script>alert(1)</script>hello & welcome")
    add(stream, "2", text="from twitch", platform="twitch")
    response = user_client.get(reverse("engagement:panel", args=[stream.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="comments-panel-{stream.pk}"' in html
    assert "hello &amp; welcome" in html and "<script>alert" not in html
    assert "Moderation panel for the studio" not in html  # template comments stay out of the page
    assert "from twitch" in html
    only_twitch = user_client.get(reverse("engagement:panel", args=[stream.pk]), {"platform": "twitch", "feed": "1"})
    body = only_twitch.content.decode()
    assert "from twitch" in body and "hello" not in body
    assert f'id="comments-feed-{stream.pk}"' in body


def test_host_actions_change_rows_and_card(user_client, stream):
    comment = add(stream, "1", text="see example.com")
    assert comment.status == Comment.Status.PENDING
    response = user_client.post(action_url(comment, "approve"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and f'id="comment-{comment.pk}"' in response.content.decode()
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED
    assert user_client.post(action_url(comment, "pin")).status_code == 200
    comment.refresh_from_db()
    assert comment.pinned
    with_card = user_client.post(action_url(comment, "show"))
    assert with_card.status_code == 200 and "On screen" in with_card.content.decode()
    # on_commit runs for real in the test client only outside the test transaction: check the row instead.
    comment.refresh_from_db()
    assert comment.shown_on_screen_at is not None
    # Once the card has auto-hidden on air (10 s by default), the panel stops calling it on screen.
    panel_url = reverse("engagement:panel", args=[stream.pk])
    assert "On screen</span>" in user_client.get(panel_url).content.decode()
    Comment.objects.filter(pk=comment.pk).update(shown_on_screen_at=comment.shown_on_screen_at - timedelta(seconds=11))
    assert "On screen</span>" not in user_client.get(panel_url).content.decode()
    assert user_client.post(reverse("engagement:take_off_screen", args=[stream.pk])).status_code == 200
    comment.refresh_from_db()
    assert comment.shown_on_screen_at is None
    assert user_client.post(action_url(comment, "ban")).status_code == 200
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HIDDEN
    assert AuthorBan.objects.filter(owner=stream.owner, author_id="viewer-1").exists()
    refused = user_client.post(action_url(comment, "show"))
    assert refused.status_code == 422 and "approve it first" in refused.content.decode()
    assert user_client.post(action_url(comment, "explode")).status_code == 404


def test_moderator_by_session_seat_can_moderate(client, stream):
    guest = GuestFactory(stream=stream, role=Guest.Role.MODERATOR, joined_at=stream.created_at)
    session = client.session
    session[SESSION_GUESTS_KEY] = {str(stream.pk): guest.pk}
    session.save()
    comment = add(stream, "1")
    assert client.get(reverse("engagement:panel", args=[stream.pk])).status_code == 200
    assert client.post(action_url(comment, "hide")).status_code == 200
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HIDDEN


def test_guest_cannot_moderate_and_strangers_see_nothing(client, stream, guest_user):
    comment = add(stream, "1")
    client.force_login(guest_user)
    assert client.get(reverse("engagement:panel", args=[stream.pk])).status_code == 403
    for action in ["approve", "hide", "pin", "show", "ban"]:
        assert client.post(action_url(comment, action)).status_code == 403
    assert client.post(reverse("engagement:take_off_screen", args=[stream.pk])).status_code == 403
    # A guest seat by invite session is a guest too.
    seat_client = Client()
    seat = GuestFactory(stream=stream, role=Guest.Role.GUEST, joined_at=stream.created_at)
    session = seat_client.session
    session[SESSION_GUESTS_KEY] = {str(stream.pk): seat.pk}
    session.save()
    assert seat_client.post(action_url(comment, "hide")).status_code == 403
    # Someone with no seat gets 404, as for a stream that does not exist.
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get(reverse("engagement:panel", args=[stream.pk])).status_code == 404
    assert stranger.post(action_url(comment, "hide")).status_code == 404
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED
    # A comment of another stream cannot be reached through this one.
    other = add(StreamFactory(owner=stream.owner), "x")
    owner = Client()
    owner.force_login(stream.owner)
    url = reverse("engagement:comment_action", args=[stream.pk, other.pk, "hide"])
    assert owner.post(url).status_code == 404


def test_studio_chat_from_host_and_guest(user_client, client, stream, guest_user):
    response = user_client.post(reverse("engagement:studio_chat", args=[stream.pk]), {"text": "<b>Welcome</b> all"})
    assert response.status_code == 201
    assert response.json()["comment"]["text"] == "Welcome all"
    client.force_login(guest_user)
    assert client.post(reverse("engagement:studio_chat", args=[stream.pk]), {"text": "hi!"}).status_code == 201
    assert Comment.objects.filter(stream=stream, platform="studio").count() == 2
    assert user_client.post(reverse("engagement:studio_chat", args=[stream.pk]), {"text": " "}).status_code == 422


def _signed(secret, body, ts=None):
    ts = str(int(time.time()) if ts is None else ts)
    sig = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"HTTP_X_STREAMUS_TIMESTAMP": ts, "HTTP_X_STREAMUS_SIGNATURE": sig}


def test_custom_source_webhook(client, stream):
    secret = services.webhook_secret_rotate(stream=stream)
    url = reverse("engagement-webhook", args=[stream.pk])
    body = json.dumps(
        {
            "comments": [
                {"id": "c1", "author_name": "Kiosk", "text": "hello <i>there</i>", "sent_at": "2026-11-24T06:00:00Z"},
                {"id": "c1", "author_name": "Kiosk", "text": "again"},
                {"id": "c2", "author_name": "Kiosk", "text": "\u202eabc", "avatar_url": "https://k.example/a.png"},
            ]
        }
    ).encode()
    response = client.post(url, body, content_type="application/json", **_signed(secret, body))
    assert response.status_code == 202, response.content
    assert response.json() == {"received": 3, "stored": 2}
    texts = set(Comment.objects.filter(stream=stream, platform="custom").values_list("text", flat=True))
    assert texts == {"hello there", "abc"}
    # Unsigned, wrongly signed, replayed and foreign-stream calls are refused alike.
    assert client.post(url, body, content_type="application/json").status_code == 401
    assert client.post(url, body, content_type="application/json", **_signed("whsec_wrong", body)).status_code == 401
    old = _signed(secret, body, ts=int(time.time()) - 3600)
    assert client.post(url, body, content_type="application/json", **old).status_code == 401
    other = StreamFactory(owner=stream.owner)
    other_url = reverse("engagement-webhook", args=[other.pk])
    assert client.post(other_url, body, content_type="application/json", **_signed(secret, body)).status_code == 401
    bad = b'{"comments": "nope"}'
    assert client.post(url, bad, content_type="application/json", **_signed(secret, bad)).status_code == 400


def test_webhook_secret_is_for_the_owner_only(user_client, client, stream, moderator_user):
    response = user_client.post(reverse("engagement:webhook_secret", args=[stream.pk]))
    assert response.status_code == 200 and "whsec_" in response.content.decode()
    client.force_login(moderator_user)
    assert client.post(reverse("engagement:webhook_secret", args=[stream.pk])).status_code == 403


# --- websocket -----------------------------------------------------------------------


async def _connect(stream_id: int, user=None, session_data=None):
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore()

    def make_session():
        if user is not None:
            c = Client()
            c.force_login(user)
            return c.cookies[settings.SESSION_COOKIE_NAME].value
        for key, value in (session_data or {}).items():
            store[key] = value
        store.save()
        return store.session_key

    key = await sync_to_async(make_session)()
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns),
        f"/ws/streams/{stream_id}/comments/",
        headers=[(b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode())],
    )
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.mark.django_db(transaction=True)
async def test_websocket_feed_for_host_and_moderator_only():
    owner = await sync_to_async(UserFactory)()
    stream = await sync_to_async(StreamFactory)(owner=owner)
    guest_user = await sync_to_async(UserFactory)()
    await sync_to_async(GuestFactory)(stream=stream, user=guest_user, role=Guest.Role.GUEST)
    mod_seat = await sync_to_async(GuestFactory)(stream=stream, role=Guest.Role.MODERATOR, joined_at=stream.created_at)

    host_ws, ok = await _connect(stream.pk, user=owner)
    assert ok
    mod_ws, ok = await _connect(stream.pk, session_data={SESSION_GUESTS_KEY: {str(stream.pk): mod_seat.pk}})
    assert ok
    # Make sure both are subscribed before the event goes out.
    for ws in (host_ws, mod_ws):
        await ws.send_json_to({"type": "ping"})
        assert (await ws.receive_json_from(timeout=5)) == {"type": "pong"}

    guest_ws, _ = await _connect(stream.pk, user=guest_user)
    assert (await guest_ws.receive_output(timeout=5))["code"] == 4403
    stranger_ws, _ = await _connect(stream.pk, user=await sync_to_async(UserFactory)())
    assert (await stranger_ws.receive_output(timeout=5))["code"] == 4403
    missing_ws, _ = await _connect(999999, user=owner)
    assert (await missing_ws.receive_output(timeout=5))["code"] == 4404

    await sync_to_async(add)(stream, "ws-1", text="<img src=x onerror=alert(1)>hi from chat")
    for ws in (host_ws, mod_ws):
        event = await ws.receive_json_from(timeout=5)
        assert event["type"] == "comment.created"
        assert event["comment"]["text"] == "hi from chat"
    assert core_realtime.comments_group(stream.pk) == f"stream-{stream.pk}-comments"
    await host_ws.disconnect()
    await mod_ws.disconnect()
    await asyncio.sleep(0)


def test_api_lists_and_moderates_for_owner_only(user_api, stream, guest_user, other_user):
    from rest_framework.test import APIClient

    comment = add(stream, "api-1", text="see example.com")
    add(stream, "api-2", text="on twitch", platform="twitch")
    listing = user_api.get(f"/api/v1/streams/{stream.pk}/comments/", {"status": "pending"})
    assert listing.status_code == 200
    assert [c["id"] for c in listing.json()] == [comment.pk]
    approved = user_api.post(f"/api/v1/comments/{comment.pk}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert user_api.post(f"/api/v1/comments/{comment.pk}/hide/").json()["status"] == "hidden"
    refused = user_api.post(f"/api/v1/comments/{comment.pk}/show/")
    assert refused.status_code == 400  # a hidden comment cannot go on screen
    assert user_api.post(f"/api/v1/comments/{comment.pk}/explode/").status_code == 404
    shown = add(stream, "api-3", text="on air")
    assert user_api.post(f"/api/v1/comments/{shown.pk}/approve/").status_code == 200
    assert user_api.post(f"/api/v1/comments/{shown.pk}/show/").json()["on_screen"] is True
    taken_off = user_api.post(f"/api/v1/comments/{shown.pk}/take-off/")  # the mobile app's "Take off screen"
    assert taken_off.status_code == 200 and taken_off.json()["on_screen"] is False
    guest_api, stranger_api = APIClient(), APIClient()
    guest_api.force_authenticate(guest_user)
    stranger_api.force_authenticate(other_user)
    assert guest_api.get(f"/api/v1/streams/{stream.pk}/comments/").status_code == 403
    assert guest_api.post(f"/api/v1/comments/{comment.pk}/approve/").status_code == 403
    assert stranger_api.get(f"/api/v1/streams/{stream.pk}/comments/").status_code == 404
    assert stranger_api.post(f"/api/v1/comments/{comment.pk}/approve/").status_code == 404
    # Taking the card off screen: the same rule (the owner and moderators; a guest 403, a stranger 404).
    assert guest_api.post(f"/api/v1/streams/{stream.pk}/comments/off-screen/").status_code == 403
    assert stranger_api.post(f"/api/v1/streams/{stream.pk}/comments/off-screen/").status_code == 404
    assert user_api.post(f"/api/v1/streams/{stream.pk}/comments/off-screen/").status_code == 204
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HIDDEN


@pytest.mark.django_db(transaction=True)
async def test_the_comment_socket_closes_a_flooding_client():
    """Security finding 3: the panel only pings; a client sending far more is closed with 4429."""
    from apps.engagement.consumers import PING_BURST, PING_FLOOD_LIMIT

    owner = await sync_to_async(UserFactory)()
    stream = await sync_to_async(StreamFactory)(owner=owner)
    ws, ok = await _connect(stream.pk, user=owner)
    assert ok
    for _ in range(int(PING_BURST) + PING_FLOOD_LIMIT + 5):
        await ws.send_json_to({"type": "ping"})
    pongs = 0
    while True:
        output = await ws.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            assert output["code"] == 4429
            break
        pongs += 1
    assert pongs <= PING_BURST + 2
