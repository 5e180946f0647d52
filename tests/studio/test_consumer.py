"""The studio websocket against the real Redis channel layer and database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from apps.streams import services
from apps.streams.models import Guest, Stream
from apps.studio import services as studio_services
from tests.factories import DestinationFactory, UserFactory

from .conftest import communicator, receive_types, receive_until, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_host_gets_full_state_with_destinations(stream, host_cookie, channel_layer):
    await sync_to_async(DestinationFactory)(stream=stream, name="Twitch main")
    comm = communicator(stream.pk, host_cookie)
    connected, _ = await comm.connect()
    assert connected
    state = await comm.receive_json_from()
    assert state["type"] == "state.full"
    assert state["role"] == "host"
    assert state["stream"]["status"] == "scheduled"
    assert [d["name"] for d in state["destinations"]] == ["Twitch main"]
    assert "stream_key" not in str(state["destinations"]) and "live_sk" not in str(state)
    assert state["you"]["role"] == "host" and state["you"]["online"] is True
    await comm.disconnect()


async def test_foreign_origin_is_refused(stream, host_cookie, channel_layer):
    comm = communicator(stream.pk, host_cookie, origin=(b"origin", b"https://evil.example"))
    connected, _ = await comm.connect()
    assert not connected


async def test_unknown_stream_closes_with_4404(host_cookie, channel_layer, transactional_db):
    comm = communicator(999999, host_cookie)
    await comm.connect()
    assert (await comm.receive_output())["code"] == 4404


async def test_anonymous_must_authenticate_first(stream, channel_layer):
    comm = communicator(stream.pk)
    connected, _ = await comm.connect()
    assert connected  # accepted, but only to read the auth message
    await comm.send_json_to({"type": "chat.send", "text": "hi"})
    assert (await comm.receive_output())["code"] == 4401


async def test_another_creator_cannot_enter_someone_elses_studio(stream, channel_layer):
    intruder = await sync_to_async(UserFactory)()
    comm = communicator(stream.pk, await sync_to_async(session_cookie)(user=intruder))
    connected, _ = await comm.connect()
    assert not connected  # refused at the handshake: no open socket to send anything into
    assert (await Stream.objects.aget(pk=stream.pk)).status == "scheduled"


async def test_guest_token_in_first_message(stream, invite, channel_layer):
    guest, token = invite
    comm = communicator(stream.pk)
    await comm.connect()
    await comm.send_json_to({"type": "auth", "token": token})
    state = await comm.receive_json_from()
    assert state["type"] == "state.full"
    assert state["role"] == "guest"
    assert state["you"]["guest_id"] == guest.pk
    assert "destinations" not in state
    await comm.disconnect()


async def test_token_of_another_stream_is_refused(stream, invite, channel_layer, user):
    other = await sync_to_async(Stream.objects.create)(owner=user, title="Other show")
    comm = communicator(other.pk)
    await comm.connect()
    await comm.send_json_to({"type": "auth", "token": invite[1]})
    assert (await comm.receive_output())["code"] == 4403


async def test_expired_token_is_refused(stream, invite, channel_layer):
    guest, token = invite
    await Guest.objects.filter(pk=guest.pk).aupdate(expires_at=timezone.now() - timedelta(seconds=1))
    comm = communicator(stream.pk)
    await comm.connect()
    await comm.send_json_to({"type": "auth", "token": token})
    assert (await comm.receive_output())["code"] == 4410


async def test_guest_cannot_use_host_actions(stream, guest_cookie, channel_layer):
    comm = communicator(stream.pk, guest_cookie)
    await comm.connect()
    await receive_until(comm, "state.full")
    for action in (
        {"type": "scene.set", "layout": "solo", "ref": 1},
        {"type": "stream.go_live", "ref": 2},
        {"type": "stream.end", "ref": 3},
        {"type": "guest.stage", "guest": 1, "on_stage": True, "ref": 4},
        {"type": "guest.remove", "guest": 1, "ref": 5},
    ):
        error = await receive_until_after_send(comm, action)
        assert error["type"] == "error" and error["ref"] == action["ref"]
        assert "not allowed" in error["message"]
    refreshed = await Stream.objects.aget(pk=stream.pk)
    assert refreshed.status == "scheduled" and refreshed.scene == {}
    await comm.disconnect()


async def receive_until_after_send(comm, message):
    await comm.send_json_to(message)
    return await receive_until(comm, "error")


async def test_health_reaches_host_but_not_guest(stream, host_cookie, guest_cookie, channel_layer):
    host, guest = communicator(stream.pk, host_cookie), communicator(stream.pk, guest_cookie)
    await host.connect()
    await guest.connect()
    await receive_until(host, "state.full")
    await receive_until(guest, "state.full")
    # As the broadcast engine publishes it: to the shared stream group.
    await channel_layer.group_send(
        f"stream-{stream.pk}", {"type": "destination.health", "destination": 7, "state": "live", "bitrate_kbps": 4400}
    )
    health = await receive_until(host, "destination.health")
    assert health["bitrate_kbps"] == 4400
    # A chat line sent afterwards reaches the guest; nothing about health came before it.
    await channel_layer.group_send(
        f"stream-{stream.pk}", {"type": "chat.message", "message": {"id": "x", "text": "marker"}}
    )
    seen = []
    while True:
        message = await guest.receive_json_from()
        seen.append(message["type"])
        if message["type"] == "chat.message":
            break
    assert "destination.health" not in seen
    await host.disconnect()
    await guest.disconnect()


async def test_host_sees_guest_arrive_and_brings_them_on_stage(
    stream, invite, host_cookie, guest_cookie, channel_layer
):
    guest_row, _ = invite
    host = communicator(stream.pk, host_cookie)
    await host.connect()
    await receive_until(host, "state.full")
    guest = communicator(stream.pk, guest_cookie)
    await guest.connect()
    joined = await receive_until(host, "participant.joined")
    if joined["participant"]["role"] == "host":  # the host's own arrival, echoed to the group
        joined = await receive_until(host, "participant.joined")
    assert joined["participant"]["guest_id"] == guest_row.pk and joined["participant"]["online"] is True
    assert joined["participant"]["name"] == "Grace Guest"

    await host.send_json_to({"type": "guest.stage", "guest": guest_row.pk, "on_stage": True})
    events = await receive_types(guest, "participant.updated", "scene.changed")
    update = events["participant.updated"]
    assert update["participant"] == {**update["participant"], "guest_id": guest_row.pk, "on_stage": True}
    assert (await Guest.objects.aget(pk=guest_row.pk)).on_stage is True
    # The stage change re-lays the scene: host and guest are both in the grid now.
    tiles = [layer["source"] for layer in events["scene.changed"]["scene_graph"]["layers"] if layer["kind"] == "video"]
    assert tiles == [f"host-{stream.owner_id}", guest_row.identity]

    await host.send_json_to({"type": "scene.set", "layout": "side_by_side", "overlays": {"logo": True}})
    scene = await receive_until(guest, "scene.changed")
    assert scene["scene"]["layout"] == "side_by_side" and scene["scene"]["overlays"]["logo"] is True
    tiles = [layer for layer in scene["scene_graph"]["layers"] if layer["kind"] == "video"]
    assert [t["source"] for t in tiles] == [f"host-{stream.owner_id}", guest_row.identity]
    assert tiles[0]["rect"]["x"] < tiles[1]["rect"]["x"]
    assert (await Stream.objects.aget(pk=stream.pk)).scene["layout"] == "side_by_side"

    await guest.disconnect()
    left = await receive_until(host, "participant.updated")
    while "online" not in left["participant"]:  # skip the stage / scene updates still queued
        left = await receive_until(host, "participant.updated")
    assert left["participant"] == {"id": guest_row.identity, "online": False}
    await host.disconnect()


async def test_invalid_layout_is_explained(stream, host_cookie, channel_layer):
    host = communicator(stream.pk, host_cookie)
    await host.connect()
    await receive_until(host, "state.full")
    await host.send_json_to({"type": "scene.set", "layout": "kaleidoscope", "ref": "x"})
    error = await receive_until(host, "error")
    assert error["ref"] == "x" and "Choose one of" in error["message"]
    await host.disconnect()


async def test_removed_guest_is_disconnected_and_cannot_return(
    stream, invite, host_cookie, guest_cookie, channel_layer
):
    guest_row, token = invite
    host, guest = communicator(stream.pk, host_cookie), communicator(stream.pk, guest_cookie)
    await host.connect()
    await guest.connect()
    await receive_until(host, "state.full")
    await receive_until(guest, "state.full")
    await host.send_json_to({"type": "guest.remove", "guest": guest_row.pk})
    ended = await receive_until(guest, "session.ended")
    assert "removed" in ended["reason"]
    assert (await guest.receive_output())["code"] == 4410
    left = await receive_until(host, "participant.left")
    assert left["participant"]["guest_id"] == guest_row.pk

    again = communicator(stream.pk, guest_cookie)
    await again.connect()
    assert (await again.receive_output())["code"] == 4410
    by_token = communicator(stream.pk)
    await by_token.connect()
    await by_token.send_json_to({"type": "auth", "token": token})
    assert (await by_token.receive_output())["code"] == 4410
    await host.disconnect()


async def test_chat_is_shared_and_replayed_on_reconnect(stream, host_cookie, guest_cookie, channel_layer):
    host, guest = communicator(stream.pk, host_cookie), communicator(stream.pk, guest_cookie)
    await host.connect()
    await guest.connect()
    await receive_until(host, "state.full")
    await receive_until(guest, "state.full")
    await guest.send_json_to({"type": "chat.send", "text": "  ready   when you are "})
    line = await receive_until(host, "chat.message")
    assert line["message"]["text"] == "ready when you are"
    assert line["message"]["author"] == "Grace Guest" and line["message"]["role"] == "guest"
    await guest.disconnect()

    back = communicator(stream.pk, guest_cookie)
    await back.connect()
    state = await receive_until(back, "state.full")
    assert [m["text"] for m in state["chat"]] == ["ready when you are"]
    await back.disconnect()
    await host.disconnect()


async def test_guest_mutes_self_but_not_others(stream, user, invite, guest_cookie, channel_layer):
    other, _ = await sync_to_async(services.guest_invite)(stream=stream, by=user)
    comm = communicator(stream.pk, guest_cookie)
    await comm.connect()
    await receive_until(comm, "state.full")
    await comm.send_json_to({"type": "self.mute", "audio": False})
    update = await receive_until(comm, "participant.updated")
    assert update["participant"]["audio"] is False
    assert (await Guest.objects.aget(pk=invite[0].pk)).audio_enabled is False
    await comm.send_json_to({"type": "guest.mute", "guest": other.pk, "audio": False, "ref": 9})
    assert (await receive_until(comm, "error"))["ref"] == 9
    assert (await Guest.objects.aget(pk=other.pk)).audio_enabled is True
    await comm.disconnect()


async def test_host_goes_live_and_ends(stream, host_cookie, guest_cookie, channel_layer):
    host, guest = communicator(stream.pk, host_cookie), communicator(stream.pk, guest_cookie)
    await host.connect()
    await guest.connect()
    await receive_until(host, "state.full")
    await receive_until(guest, "state.full")
    await host.send_json_to({"type": "stream.go_live"})
    status = await receive_until(guest, "stream.status")
    assert status["stream"]["status"] == "live" and status["stream"]["started_at"]
    await host.send_json_to({"type": "stream.go_live", "ref": "twice"})
    assert (await receive_until(host, "error"))["ref"] == "twice"
    await host.send_json_to({"type": "stream.end"})
    status = await receive_until(guest, "stream.status")
    assert status["stream"]["status"] == "ended"
    assert (await Stream.objects.aget(pk=stream.pk)).status == "ended"
    await host.disconnect()
    await guest.disconnect()


async def test_screen_share_switches_the_layout_and_back(stream, user, invite, guest_cookie, channel_layer):
    guest_row, _ = invite
    comm = communicator(stream.pk, guest_cookie)
    await comm.connect()
    await receive_until(comm, "state.full")
    # Backstage people cannot put their screen in the show.
    await comm.send_json_to({"type": "share.set", "on": True, "ref": "early"})
    assert (await receive_until(comm, "error"))["ref"] == "early"

    await sync_to_async(studio_services.guest_bring_on_stage)(guest=guest_row, by=user)
    assert (await receive_until(comm, "scene.changed"))["scene"]["layout"] == "grid"  # on stage
    await comm.send_json_to({"type": "share.set", "on": True})
    changed = await receive_until(comm, "scene.changed")
    assert changed["scene"]["layout"] == "screen_share" and changed["scene"]["screen_share"] == guest_row.identity
    screens = [layer for layer in changed["scene_graph"]["layers"] if layer["kind"] == "screen"]
    assert [layer["source"] for layer in screens] == [f"{guest_row.identity}:screen"]

    await comm.send_json_to({"type": "share.set", "on": False})
    changed = await receive_until(comm, "scene.changed")
    assert changed["scene"]["layout"] == "grid" and changed["scene"]["screen_share"] is None
    await comm.disconnect()


async def test_moderator_moderates_chat_but_cannot_run_the_show(stream, user, channel_layer, guest_cookie):
    _moderator, token = await sync_to_async(services.guest_invite)(stream=stream, by=user, role="moderator")
    guest = communicator(stream.pk, guest_cookie)
    await guest.connect()
    await receive_until(guest, "state.full")
    mod = communicator(stream.pk)
    await mod.connect()
    await mod.send_json_to({"type": "auth", "token": token})
    state = await receive_until(mod, "state.full")
    assert state["role"] == "moderator" and "destinations" not in state

    await guest.send_json_to({"type": "chat.send", "text": "buy cheap followers"})
    line = (await receive_until(mod, "chat.message"))["message"]
    await guest.send_json_to({"type": "chat.delete", "id": line["id"], "ref": "g"})
    assert (await receive_until(guest, "error"))["ref"] == "g"  # guests cannot moderate
    await mod.send_json_to({"type": "chat.delete", "id": line["id"]})
    assert (await receive_until(guest, "chat.deleted"))["message"]["id"] == line["id"]
    await mod.send_json_to({"type": "scene.set", "layout": "solo", "ref": "m"})
    assert (await receive_until(mod, "error"))["ref"] == "m"

    again = communicator(stream.pk)
    await again.connect()
    await again.send_json_to({"type": "auth", "token": token})
    assert (await receive_until(again, "state.full"))["chat"] == []  # the deleted line is gone from history
    for comm in (guest, mod, again):
        await comm.disconnect()


async def test_silent_client_is_closed_after_the_auth_timeout(stream, channel_layer, monkeypatch):
    monkeypatch.setattr("apps.studio.consumers.AUTH_TIMEOUT", 0.2)
    comm = communicator(stream.pk)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_output(timeout=3))["code"] == 4401


async def test_host_hides_a_guests_video_and_the_stage_limit_is_explained(
    stream, user, invite, host_cookie, channel_layer
):
    guest_row, _ = invite
    host = communicator(stream.pk, host_cookie)
    await host.connect()
    await receive_until(host, "state.full")
    await host.send_json_to({"type": "guest.mute", "guest": guest_row.pk, "video": False})
    update = await receive_until(host, "participant.updated")
    while update["participant"].get("guest_id") != guest_row.pk:
        update = await receive_until(host, "participant.updated")
    assert update["participant"]["video"] is False and update["participant"]["audio"] is True
    assert (await Guest.objects.aget(pk=guest_row.pk)).video_enabled is False

    # Ten on stage already (the Free plan's limit): the eleventh is refused with a reason.
    def fill_stage() -> Guest:
        for _ in range(10):
            seat, _token = services.guest_invite(stream=stream, by=user)
            studio_services.guest_bring_on_stage(guest=seat, by=user)
        return Guest.objects.get(pk=guest_row.pk)

    await sync_to_async(fill_stage)()
    await host.send_json_to({"type": "guest.stage", "guest": guest_row.pk, "on_stage": True, "ref": "11th"})
    error = await receive_until(host, "error")
    assert error["ref"] == "11th" and "At most 10" in error["message"]
    assert (await Guest.objects.aget(pk=guest_row.pk)).on_stage is False
    await host.disconnect()


async def test_a_revoke_made_elsewhere_ends_the_guest_session(
    stream, user, invite, guest_cookie, channel_layer, monkeypatch
):
    monkeypatch.setattr("apps.studio.consumers.GUEST_RECHECK_SECONDS", 0.2)
    guest_row, _ = invite
    comm = communicator(stream.pk, guest_cookie)
    await comm.connect()
    await receive_until(comm, "state.full")
    # The dashboard's revoke button: no studio event, just the row.
    await sync_to_async(studio_services.guest_revoke)(guest=guest_row, by=user)
    ended = await receive_until(comm, "session.ended")
    assert "no longer valid" in ended["reason"]
    assert (await comm.receive_output(timeout=3))["code"] == 4410
    await comm.disconnect()


# --- apps: the host's JWT access token in the first message (bearer mode, no session) -------


async def test_host_access_token_in_first_message(stream, user, channel_layer):
    from apps.accounts import tokens

    pair = await sync_to_async(tokens.issue_pair)(user)
    comm = communicator(stream.pk)
    await comm.connect()
    await comm.send_json_to({"type": "auth", "access": pair.access})
    state = await receive_until(comm, "state.full")
    assert state["role"] == "host"
    assert state["you"]["role"] == "host"
    assert "destinations" in state
    # A host action works on this connection, as the owner.
    await comm.send_json_to({"type": "scene.set", "layout": "solo"})
    await receive_until(comm, "scene.changed")
    assert (await Stream.objects.aget(pk=stream.pk)).scene["layout"] == "solo"
    await comm.disconnect()


async def test_access_token_of_another_user_is_refused(stream, channel_layer):
    from apps.accounts import tokens

    intruder = await sync_to_async(UserFactory)()
    pair = await sync_to_async(tokens.issue_pair)(intruder)
    comm = communicator(stream.pk)
    await comm.connect()
    await comm.send_json_to({"type": "auth", "access": pair.access})
    assert (await comm.receive_output())["code"] == 4403


async def test_invalid_access_token_is_refused(stream, channel_layer):
    comm = communicator(stream.pk)
    await comm.connect()
    await comm.send_json_to({"type": "auth", "access": "not.a.jwt"})
    assert (await comm.receive_output())["code"] == 4401
