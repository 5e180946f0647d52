"""Playing library clips into the show from the studio socket: host only, the clip layer reaches everyone's
preview through scene.changed, and the compositor's progress reports reach host and guests."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from apps.library.models import MediaClip
from apps.library.services import playlist_create
from apps.streams.models import Stream
from apps.studio import playback
from tests.factories import UserFactory, ready_clip

from .conftest import communicator, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def clip_layer(message: dict) -> dict | None:
    return next((layer for layer in message["scene_graph"]["layers"] if layer["kind"] == "clip"), None)


async def connected(stream_id: int, cookie: bytes):
    comm = communicator(stream_id, cookie)
    ok, _ = await comm.connect()
    assert ok
    assert (await comm.receive_json_from())["type"] == "state.full"
    return comm


async def test_host_plays_a_clip_as_a_layer_and_stops_it(stream, user, host_cookie, guest_cookie, channel_layer):
    clip = await sync_to_async(ready_clip)(user, title="Sponsor", seconds=4.0)
    host = await connected(stream.pk, host_cookie)
    guest = await connected(stream.pk, guest_cookie)
    await host.send_json_to({"type": "playback.start", "clip": clip.pk, "mode": "layer", "transition": "fade"})
    for comm in (host, guest):
        changed = await receive_until(comm, "scene.changed")
        layer = clip_layer(changed)
        assert layer is not None, "the preview draws the clip"
        assert layer["playback"]["mode"] == "layer" and layer["playback"]["transition"]["kind"] == "fade"
        assert layer["playback"]["items"][0]["title"] == "Sponsor"
        assert layer["playback"]["duration"] == 4.0
        assert layer["rect"]["w"] < changed["scene_graph"]["width"], "a layer, not full screen"
    # A studio that connects now gets the playback in its state.full.
    late = communicator(stream.pk, host_cookie)
    await late.connect()
    state = await late.receive_json_from()
    assert state["scene"]["playback"]["items"][0]["title"] == "Sponsor" and clip_layer(state) is not None
    await late.disconnect()

    await host.send_json_to({"type": "playback.stop"})
    for comm in (host, guest):
        assert clip_layer(await receive_until(comm, "scene.changed")) is None
    assert "playback" not in (await Stream.objects.aget(pk=stream.pk)).scene
    await host.disconnect()
    await guest.disconnect()


async def test_host_plays_a_playlist(stream, user, host_cookie, channel_layer):
    first = await sync_to_async(ready_clip)(user, title="One", seconds=2.0)
    second = await sync_to_async(ready_clip)(user, title="Two", seconds=3.0)
    playlist = await sync_to_async(playlist_create)(owner=user, name="Break", clip_ids=[first.pk, second.pk])
    host = await connected(stream.pk, host_cookie)
    await host.send_json_to({"type": "playback.start", "playlist": playlist.pk})
    changed = await receive_until(host, "scene.changed")
    layer = clip_layer(changed)
    assert layer is not None and layer["playback"]["duration"] == 5.0
    assert [item["title"] for item in layer["playback"]["items"]] == ["One", "Two"]
    assert layer["rect"]["w"] == changed["scene_graph"]["width"], "full screen by default"
    await host.disconnect()


async def test_guest_cannot_play_or_stop(stream, user, guest_cookie, channel_layer):
    clip = await sync_to_async(ready_clip)(user)
    guest = await connected(stream.pk, guest_cookie)
    for message in ({"type": "playback.start", "clip": clip.pk, "ref": 1}, {"type": "playback.stop", "ref": 2}):
        await guest.send_json_to(message)
        error = await receive_until(guest, "error")
        assert error["ref"] == message["ref"] and "not allowed" in error["message"]
    assert "playback" not in (await Stream.objects.aget(pk=stream.pk)).scene
    await guest.disconnect()


async def test_clips_not_ready_or_not_mine_are_refused(stream, user, host_cookie, channel_layer):
    other = await sync_to_async(UserFactory)()
    foreign = await sync_to_async(ready_clip)(other, title="Theirs")
    pending = await sync_to_async(ready_clip)(user, title="Raw", status=MediaClip.Status.PROCESSING)
    host = await connected(stream.pk, host_cookie)
    await host.send_json_to({"type": "playback.start", "clip": foreign.pk, "ref": "a"})
    assert "not in your library" in (await receive_until(host, "error"))["message"]
    await host.send_json_to({"type": "playback.start", "clip": pending.pk, "ref": "b"})
    assert "not ready" in (await receive_until(host, "error"))["message"]
    await host.send_json_to({"type": "playback.start", "mode": "sideways", "clip": pending.pk, "ref": "c"})
    assert (await receive_until(host, "error"))["ref"] == "c"
    assert "playback" not in (await Stream.objects.aget(pk=stream.pk)).scene
    await host.disconnect()


async def test_progress_and_end_reach_host_and_guest(stream, user, host_cookie, guest_cookie, channel_layer):
    clip = await sync_to_async(ready_clip)(user, seconds=4.0)
    host = await connected(stream.pk, host_cookie)
    guest = await connected(stream.pk, guest_cookie)
    await host.send_json_to({"type": "playback.start", "clip": clip.pk})
    layer = clip_layer(await receive_until(host, "scene.changed"))
    assert layer is not None
    playback_id = layer["playback"]["id"]
    report = {"id": playback_id, "clip": f"clip:{clip.pk}", "index": 0, "position": 1.0, "remaining": 3.0}
    await sync_to_async(playback.playback_report)(stream_id=stream.pk, report={"event": "progress", **report})
    for comm in (host, guest):
        assert (await receive_until(comm, "playback.progress"))["playback"] == report
    # A studio that (re)connects mid-clip gets the last report with its state.
    late = communicator(stream.pk, guest_cookie)
    await late.connect()
    assert (await late.receive_json_from())["playback_progress"] == report
    await late.disconnect()

    await sync_to_async(playback.playback_report)(stream_id=stream.pk, report={"event": "ended", "id": playback_id})
    for comm in (host, guest):
        assert (await receive_until(comm, "playback.ended"))["playback"] == {"id": playback_id}
    assert "playback" not in (await Stream.objects.aget(pk=stream.pk)).scene
    await host.disconnect()
    await guest.disconnect()
