"""Rooms, tokens and moderation against a real LiveKit server."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from livekit import api

from apps.rtc import services
from apps.streams.models import Guest
from apps.streams.services import guest_invite
from apps.studio import services as studio_services
from tests.factories import StreamFactory

pytestmark = [pytest.mark.livekit, pytest.mark.django_db]


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout}s")


def claims(token: str, livekit) -> api.Claims:
    return api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)


def identities(stream) -> set[str]:
    return {p.identity for p in services.rtc_participants(stream=stream)}


def test_room_opens_once_and_closes(livekit, stream, user):
    room = services.rtc_open_room(stream=stream, by=user)
    assert room.name == f"stream-{stream.pk}"
    again = services.rtc_open_room(stream=stream, by=user)
    assert again.sid == room.sid
    assert services.rtc_room_exists(stream=stream)

    assert services.rtc_close_room(stream=stream, by=user) is True
    assert not services.rtc_room_exists(stream=stream)
    assert services.rtc_close_room(stream=stream, by=user) is False


def test_only_the_owner_opens_a_room(livekit, stream, other_user):
    with pytest.raises(PermissionDenied):
        services.rtc_open_room(stream=stream, by=other_user)
    assert not services.rtc_room_exists(stream=stream)


def test_tokens_carry_only_the_grants_needed(livekit, stream, user):
    host = claims(services.rtc_host_token(stream=stream, by=user), livekit)
    assert host.identity == f"host-{user.pk}"
    assert host.video.room == f"stream-{stream.pk}"
    assert host.video.room_join and host.video.room_admin and host.video.can_publish and host.video.can_subscribe
    assert not host.video.room_create and not host.video.room_list

    _guest, invite = guest_invite(stream=stream, by=user, display_name="Ada")
    guest, token = services.rtc_guest_token(invite_token=invite)
    guest_claims = claims(token, livekit)
    assert guest_claims.identity == guest.identity
    assert guest_claims.video.room == f"stream-{stream.pk}"
    assert guest_claims.video.can_publish and guest_claims.video.can_subscribe
    assert not guest_claims.video.room_admin and not guest_claims.video.room_create

    comp = claims(services.rtc_compositor_token(stream=stream), livekit)
    assert comp.video.hidden and comp.video.can_subscribe
    assert not comp.video.can_publish and not comp.video.room_admin

    # Short-lived: minutes, not days.
    import jwt

    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert exp - time.time() <= services.TOKEN_TTL.total_seconds() + 5


def test_guest_token_needs_a_working_invite(livekit, stream, user):
    with pytest.raises(ValidationError):
        services.rtc_guest_token(invite_token="not-a-real-invite")
    guest, invite = guest_invite(stream=stream, by=user)
    from apps.studio.services import guest_revoke

    guest_revoke(guest=guest, by=user)
    with pytest.raises(ValidationError):
        services.rtc_guest_token(invite_token=invite)


def test_other_users_cannot_get_a_host_token(livekit, stream, other_user):
    with pytest.raises(PermissionDenied):
        services.rtc_host_token(stream=stream, by=other_user)


def test_tokens_do_not_open_a_closed_studio(livekit, stream, user, synthetic_participants):
    # No room yet: the server does not auto-create rooms from a token.
    host = synthetic_participants(livekit.url, services.rtc_host_token(stream=stream, by=user))
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its ConnectError
        host.connect()
    assert not services.rtc_room_exists(stream=stream)


def test_a_guest_who_arrives_before_the_host_gets_into_the_room(livekit, stream, user, synthetic_participants):
    # The invite is opened before the host opens the studio (or before a show started from the API):
    # the guest's room access opens the room, so their camera reaches the studio and the program.
    _g, invite = guest_invite(stream=stream, by=user, display_name="Ada")
    studio_services.guest_join(guest=_g, display_name="Ada")
    assert not services.rtc_room_exists(stream=stream)
    guest, access = studio_services.guest_room_access(invite_token=invite)
    assert services.rtc_room_exists(stream=stream)
    synthetic_participants(livekit.url, access.token).connect()
    wait_for(lambda: guest.identity in identities(stream), what="the early guest in the room")


def test_guest_joins_and_compositor_stays_hidden(livekit, stream, user, synthetic_participants):
    services.rtc_open_room(stream=stream, by=user)
    _g, invite = guest_invite(stream=stream, by=user, display_name="Ada")
    guest, token = services.rtc_guest_token(invite_token=invite)
    ada = synthetic_participants(livekit.url, token).connect()
    compositor = synthetic_participants(livekit.url, services.rtc_compositor_token(stream=stream)).connect()

    wait_for(lambda: guest.identity in identities(stream), what="guest in the room")
    # The compositor is in the room, but the other participants never see it.
    wait_for(lambda: guest.identity in compositor.room.remote_participants, what="compositor sees the guest")
    time.sleep(0.5)  # give a (wrong) participant update the time to arrive
    assert f"compositor-{stream.pk}" not in ada.room.remote_participants
    assert ada.identity == guest.identity


def test_mute_and_unpublish(livekit, stream, user, synthetic_participants):
    services.rtc_open_room(stream=stream, by=user)
    _g, invite = guest_invite(stream=stream, by=user, display_name="Ada")
    guest, token = services.rtc_guest_token(invite_token=invite)
    ada = synthetic_participants(livekit.url, token).connect()
    ada.publish(colour=(255, 0, 0), tone_hz=440)

    def tracks() -> dict[int, api.TrackInfo]:
        found = [p for p in services.rtc_participants(stream=stream) if p.identity == guest.identity]
        return {t.type: t for t in found[0].tracks} if found else {}

    wait_for(lambda: len(tracks()) == 2, what="camera and microphone published")
    changed = services.rtc_mute(stream=stream, by=user, identity=guest.identity, kind="audio")
    assert changed == [tracks()[api.TrackType.AUDIO].sid]
    wait_for(lambda: tracks()[api.TrackType.AUDIO].muted, what="microphone muted on the server")
    assert not tracks()[api.TrackType.VIDEO].muted

    services.rtc_set_can_publish(stream=stream, by=user, identity=guest.identity, can_publish=False)
    wait_for(lambda: tracks() == {}, what="tracks unpublished")
    assert guest.identity in identities(stream)  # still there, only silenced

    with pytest.raises(ValidationError):
        services.rtc_mute(stream=stream, by=user, identity="guest-999999", kind="audio")
    with pytest.raises(PermissionDenied):
        services.rtc_mute(stream=stream, by=StreamFactory().owner, identity=guest.identity, kind="audio")


def test_removed_guest_cannot_come_back_with_old_token(
    livekit, stream, user, client, synthetic_participants, django_capture_on_commit_callbacks
):
    services.rtc_open_room(stream=stream, by=user)
    _g, invite = guest_invite(stream=stream, by=user, display_name="Ada")
    guest, token = services.rtc_guest_token(invite_token=invite)
    ada = synthetic_participants(livekit.url, token).connect()
    wait_for(lambda: guest.identity in identities(stream), what="guest in the room")

    with django_capture_on_commit_callbacks(execute=True):  # the kick happens once the revoke commits
        studio_services.guest_remove(guest=guest, by=user)
    assert ada.disconnected.wait(10), "the SFU did not disconnect the removed guest"
    assert Guest.objects.get(pk=guest.pk).is_revoked
    with pytest.raises(ValidationError):
        services.rtc_guest_token(invite_token=invite)

    # The old LiveKit token is still signed and unexpired: the SFU lets it in,
    # reports the join, and our webhook throws the guest out again.
    seen = len(livekit.webhooks)
    again = synthetic_participants(livekit.url, token).connect()
    hook = livekit.wait_webhook(
        lambda h: h.event == "participant_joined"
        and h.data["participant"]["identity"] == guest.identity
        and livekit.webhooks.index(h) >= seen
    )
    response = client.post(
        "/rtc/webhook", data=hook.body, content_type="application/webhook+json", HTTP_AUTHORIZATION=hook.authorization
    )
    assert response.status_code == 204
    assert again.disconnected.wait(10), "the rejoin with an old token was not undone"
    wait_for(lambda: guest.identity not in identities(stream), what="guest gone from the room")


def test_show_end_closes_the_room_for_everyone(livekit, stream, user, synthetic_participants):
    services.rtc_open_room(stream=stream, by=user)
    host = synthetic_participants(livekit.url, services.rtc_host_token(stream=stream, by=user)).connect()
    services.rtc_close_room(stream=stream, by=user)
    assert host.disconnected.wait(10)


def test_guests_cannot_publish_data_even_after_a_stage_change(livekit, stream, user, synthetic_participants):
    """Security finding 11: guests never use the data channel, so their token does not allow it, nor does the SFU."""
    services.rtc_open_room(stream=stream, by=user)
    _g, invite = guest_invite(stream=stream, by=user, display_name="Ada")
    guest, token = services.rtc_guest_token(invite_token=invite)
    assert claims(token, livekit).video.can_publish_data is False
    synthetic_participants(livekit.url, token).connect()

    def permission():
        found = [p for p in services.rtc_participants(stream=stream) if p.identity == guest.identity]
        return found[0].permission if found else None

    assert wait_for(permission, what="guest in the room").can_publish_data is False
    services.rtc_set_can_publish(stream=stream, by=user, identity=guest.identity, can_publish=False)
    wait_for(lambda: permission().can_publish is False, what="publishing revoked")
    assert permission().can_publish_data is False
    services.rtc_set_can_publish(stream=stream, by=user, identity=guest.identity, can_publish=True)
    wait_for(lambda: permission().can_publish is True, what="publishing allowed again")
    assert permission().can_publish_data is False
