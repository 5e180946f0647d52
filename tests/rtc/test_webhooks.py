"""LiveKit webhooks: real, signed events from the SFU replayed into our endpoint."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.rtc import services
from apps.rtc.models import RoomParticipant
from apps.streams.models import Guest
from apps.streams.services import guest_invite

pytestmark = [pytest.mark.livekit, pytest.mark.django_db]


def post(client, hook, *, authorization: str | None = None):
    return client.post(
        "/rtc/webhook",
        data=hook.body,
        content_type="application/webhook+json",
        HTTP_AUTHORIZATION=hook.authorization if authorization is None else authorization,
    )


def group_listener(stream_id: int):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"stream-{stream_id}", channel)

    async def next_message(timeout: float = 5.0) -> dict:
        return await asyncio.wait_for(layer.receive(channel), timeout)

    return lambda: async_to_sync(next_message)()


def test_join_and_leave_update_presence_and_tell_the_studio(
    livekit, stream, user, client, synthetic_participants, django_capture_on_commit_callbacks
):
    services.rtc_open_room(stream=stream, by=user)
    _g, invite = guest_invite(stream=stream, by=user, display_name="Ada")
    guest, token = services.rtc_guest_token(invite_token=invite)
    receive = group_listener(stream.pk)

    ada = synthetic_participants(livekit.url, token).connect()
    joined = livekit.wait_webhook(
        lambda h: h.event == "participant_joined" and h.data["participant"]["identity"] == guest.identity
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, joined).status_code == 204
    row = RoomParticipant.objects.get(stream=stream, identity=guest.identity)
    assert row.present and row.guest_id == guest.pk and row.kind == "guest" and row.name == "Ada"
    assert Guest.objects.get(pk=guest.pk).joined_at is not None
    message = receive()
    assert message == {
        "type": "participant.joined",
        "participant": {"id": guest.identity, "guest_id": guest.pk, "name": "Ada", "in_room": True},
    }

    ada.disconnect()
    left = livekit.wait_webhook(
        lambda h: h.event == "participant_left" and h.data["participant"]["identity"] == guest.identity
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, left).status_code == 204
    row.refresh_from_db()
    assert not row.present and row.left_at is not None
    assert receive() == {
        "type": "participant.left",
        "participant": {"id": guest.identity, "guest_id": guest.pk, "in_room": False},
    }


def test_webhook_with_a_bad_signature_is_refused(livekit, stream, user, client, synthetic_participants):
    services.rtc_open_room(stream=stream, by=user)
    synthetic_participants(livekit.url, services.rtc_host_token(stream=stream, by=user)).connect()
    hook = livekit.wait_webhook(
        lambda h: h.event == "participant_joined" and h.data["room"]["name"] == f"stream-{stream.pk}"
    )
    assert post(client, hook, authorization="").status_code == 401
    assert post(client, hook, authorization="Bearer not-a-jwt").status_code == 401
    # A signature over another body (tampered payload) fails the sha256 claim.
    tampered = type(hook)(authorization=hook.authorization, body=hook.body.replace("host-", "hostx-"))
    assert post(client, tampered).status_code == 401
    # Signed with another secret.
    from livekit import api

    forged = api.AccessToken(livekit.api_key, "another-secret-another-secret-xx").to_jwt()
    assert post(client, hook, authorization=f"Bearer {forged}").status_code == 401
    assert not RoomParticipant.objects.filter(stream=stream).exists()
    assert client.get("/rtc/webhook").status_code == 405


def test_the_hosts_email_never_reaches_the_room_or_the_studio(
    livekit, stream, user, client, synthetic_participants, django_capture_on_commit_callbacks
):
    """Security finding 1: guests read the host's participant name; it is the username, never the login email."""
    services.rtc_open_room(stream=stream, by=user)
    receive = group_listener(stream.pk)
    host = synthetic_participants(livekit.url, services.rtc_host_token(stream=stream, by=user)).connect()
    _g, invite = guest_invite(stream=stream, by=user, display_name="Ada")
    _guest, token = services.rtc_guest_token(invite_token=invite)
    ada = synthetic_participants(livekit.url, token).connect()

    # What a guest's browser sees of the host, straight from the SFU.
    seen = ada.room.remote_participants.get(host.identity)
    assert seen is not None
    assert seen.name == user.username
    assert user.email not in f"{seen.name} {seen.metadata}"

    # The room listing and the webhook the studio re-broadcasts.
    listed = {p.identity: p for p in services.rtc_participants(stream=stream)}
    assert listed[host.identity].name == user.username
    joined = livekit.wait_webhook(
        lambda h: h.event == "participant_joined" and h.data["participant"]["identity"] == host.identity
    )
    assert user.email not in joined.body
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, joined).status_code == 204
    message = receive()
    assert message["participant"]["name"] == user.username
    assert RoomParticipant.objects.get(stream=stream, identity=host.identity).name == user.username
