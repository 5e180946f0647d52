"""A guest's own seat over REST (join/<token>/...): the invite link is the credential, with the socket's rules.

The effects of each call on a live studio (events on both sockets, the compositor's scene) are in
tests/matrix; here, who may call what: an unknown link 404, a revoked one 410, a seat whose guest has
not given their name 403, a guest may not delete chat lines and a moderator may.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from apps.streams import services as stream_services
from apps.streams.models import Guest
from apps.studio import chat
from apps.studio.services import guest_join, guest_revoke
from tests.factories import StreamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(user):
    made = StreamFactory(owner=user)
    redis.Redis.from_url(settings.REDIS_URL).delete(chat.chat_key(made.pk))
    return made


def seat(stream, role=Guest.Role.GUEST, joined=True):
    guest, token = stream_services.guest_invite(stream=stream, by=stream.owner, role=role, ttl=timedelta(hours=1))
    if joined:
        guest = guest_join(guest=guest, display_name="Rita Red")
    return guest, token


def test_a_guest_reads_and_writes_the_private_chat(stream):
    guest, token = seat(stream)
    api = APIClient()
    sent = api.post(f"/api/v1/join/{token}/chat/", {"text": "  Ready   in five "}, format="json")
    assert sent.status_code == 201, sent.content
    line = sent.json()
    assert (line["text"], line["author"], line["author_id"], line["role"]) == (
        "Ready in five",
        "Rita Red",
        guest.identity,
        "guest",
    )
    history = api.get(f"/api/v1/join/{token}/chat/")
    assert history.status_code == 200 and [m["id"] for m in history.json()] == [line["id"]]
    empty = api.post(f"/api/v1/join/{token}/chat/", {"text": "   "}, format="json")
    assert empty.status_code == 400
    assert [m["id"] for m in chat.chat_history(stream.pk)] == [line["id"]], "a refused line is not stored"


def test_only_the_host_and_moderators_delete_chat_lines(stream, user_api):
    _, guest_token = seat(stream)
    _, moderator_token = seat(stream, role=Guest.Role.MODERATOR)
    api = APIClient()
    first = api.post(f"/api/v1/join/{guest_token}/chat/", {"text": "one"}, format="json").json()["id"]
    second = api.post(f"/api/v1/join/{guest_token}/chat/", {"text": "two"}, format="json").json()["id"]
    refused = api.delete(f"/api/v1/join/{guest_token}/chat/{first}/")
    assert refused.status_code == 403
    assert "host and moderators" in refused.json()["detail"]
    assert api.delete(f"/api/v1/join/{moderator_token}/chat/{first}/").status_code == 204
    assert user_api.delete(f"/api/v1/streams/{stream.pk}/chat/{second}/").status_code == 204
    assert chat.chat_history(stream.pk) == []


def test_a_seat_answers_only_a_live_invite_whose_guest_gave_their_name(stream):
    api = APIClient()
    assert api.get("/api/v1/join/not-a-token/chat/").status_code == 404
    _, unnamed = seat(stream, joined=False)
    refused = api.post(f"/api/v1/join/{unnamed}/chat/", {"text": "hi"}, format="json")
    assert refused.status_code == 403 and "Give your name first" in refused.json()["detail"]
    assert api.post(f"/api/v1/join/{unnamed}/share/", {"on": True}, format="json").status_code == 403
    guest, token = seat(stream)
    guest_revoke(guest=guest, by=stream.owner)
    assert api.get(f"/api/v1/join/{token}/chat/").status_code == 410
    assert api.post(f"/api/v1/join/{token}/share/", {"on": True}, format="json").status_code == 410
    assert chat.chat_history(stream.pk) == []


def test_a_guest_shares_only_from_the_stage(stream):
    guest, token = seat(stream)
    api = APIClient()
    backstage = api.post(f"/api/v1/join/{token}/share/", {"on": True}, format="json")
    assert backstage.status_code == 400 and "on stage" in backstage.content.decode()
    assert api.post(f"/api/v1/join/{token}/share/", {}, format="json").status_code == 400, "say on or off"
    Guest.objects.filter(pk=guest.pk).update(on_stage=True)
    shared = api.post(f"/api/v1/join/{token}/share/", {"on": True}, format="json")
    assert shared.status_code == 200, shared.content
    assert shared.json()["scene"]["screen_share"] == guest.identity
    assert shared.json()["scene"]["layout"] == "screen_share"
    stopped = api.post(f"/api/v1/join/{token}/share/", {"on": False}, format="json")
    assert stopped.status_code == 200 and stopped.json()["scene"]["screen_share"] is None
