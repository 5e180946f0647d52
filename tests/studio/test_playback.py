"""playback_start / playback_stop and the API: owner checks, ready and owned clips only, the clip layer in the scene
graphs (what the compositor and the browser previews play), Redis and the studio group told, the file served to
the studio's previews only while it plays."""

from __future__ import annotations

import json
import time

import pytest
import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.library.models import MediaClip, Playlist, PlaylistItem
from apps.library.services import playlist_create
from apps.streams.models import Stream
from apps.studio import playback, scene
from tests.factories import GuestFactory, StreamFactory, UserFactory, ready_clip

pytestmark = pytest.mark.django_db


def clip_layers(state: dict) -> dict[str, dict]:
    return {
        name: next(layer for layer in graph["layers"] if layer["kind"] == "clip")
        for name, graph in state["canvases"].items()
    }


def stored(stream_id: int) -> dict:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return json.loads(client.get(scene.redis_key(stream_id)))
    finally:
        client.close()


def test_start_a_clip_full_screen_puts_a_clip_layer_on_every_canvas(user, django_capture_on_commit_callbacks):
    stream = StreamFactory(owner=user, vertical_canvas=True, resolution="720p")
    clip = ready_clip(user)
    with django_capture_on_commit_callbacks(execute=True):
        state = playback.playback_start(stream=stream, by=user, clip=clip, transition={"kind": "fade"})
    layers = clip_layers(state)
    assert set(layers) == {"landscape", "vertical"}
    wide = layers["landscape"]
    assert wide["rect"] == {"x": 0, "y": 0, "w": 1280, "h": 720} and wide["fit"] == "contain"
    info = wide["playback"]
    assert info["mode"] == "fullscreen" and info["transition"] == {"kind": "fade", "duration_ms": 500}
    assert abs(info["started_at"] - time.time()) < 5 and info["duration"] == 2.0
    (entry,) = info["items"]
    assert entry["source"] == f"clip:{clip.pk}" and entry["start"] == 0.0 and entry["title"] == "Intro"
    assert entry["url"] == reverse("library:playback_video", args=[stream.pk, clip.pk])
    # Above the tiles, under the logo / comment card / banner.
    kinds = [layer["kind"] for layer in state["canvases"]["landscape"]["layers"]]
    assert kinds.index("clip") < kinds.index("comment")
    # Stored in the scene, and published like any scene change (what the compositor follows).
    stream.refresh_from_db()
    assert stream.scene["playback"]["id"] == info["id"]
    published = stored(stream.pk)
    assert published["scene"]["playback"]["id"] == info["id"]
    assert clip_layers(published)["landscape"]["playback"]["items"][0]["name"] == clip.mezzanine.name


def test_a_playlist_plays_in_order_as_a_layer(user):
    stream = StreamFactory(owner=user)
    first, second = ready_clip(user, "One", 1.5), ready_clip(user, "Two", 2.5)
    playlist = playlist_create(owner=user, name="Show", clip_ids=[second.pk, first.pk])
    state = playback.playback_start(stream=stream, by=user, playlist=playlist, mode="layer")
    layer = clip_layers(state)["landscape"]
    items = layer["playback"]["items"]
    assert [i["title"] for i in items] == ["Two", "One"] and [i["start"] for i in items] == [0.0, 2.5]
    assert layer["playback"]["duration"] == 4.0
    width, _height = stream.size
    rect = layer["rect"]
    assert rect["x"] > width // 2 and rect["x"] + rect["w"] <= width and rect["w"] < width // 2
    assert abs(rect["w"] / rect["h"] - 16 / 9) < 0.05


def test_only_the_owner_plays_their_own_ready_clips(user, other_user):
    stream = StreamFactory(owner=user)
    with pytest.raises(PermissionDenied):
        playback.playback_start(stream=stream, by=other_user, clip=ready_clip(user))
    with pytest.raises(ValidationError, match="not in your library"):
        playback.playback_start(stream=stream, by=user, clip=ready_clip(other_user))
    with pytest.raises(ValidationError, match="not ready"):
        playback.playback_start(stream=stream, by=user, clip=ready_clip(user, status=MediaClip.Status.PROCESSING))
    with pytest.raises(ValidationError):
        playback.playback_start(stream=stream, by=user)
    with pytest.raises(ValidationError, match="full screen or as a layer"):
        playback.playback_start(stream=stream, by=user, clip=ready_clip(user), mode="corner")
    empty = Playlist.objects.create(owner=user, name="Empty")
    with pytest.raises(ValidationError, match="empty"):
        playback.playback_start(stream=stream, by=user, playlist=empty)
    theirs = Playlist.objects.create(owner=other_user, name="Theirs")
    with pytest.raises(ValidationError, match="not in your library"):
        playback.playback_start(stream=stream, by=user, playlist=theirs)
    # A playlist of mine holding a clip that is not ready (it was being re-processed).
    mine = Playlist.objects.create(owner=user, name="Mine")
    PlaylistItem.objects.create(playlist=mine, clip=ready_clip(user, status=MediaClip.Status.FAILED), position=0)
    with pytest.raises(ValidationError, match="not ready"):
        playback.playback_start(stream=stream, by=user, playlist=mine)
    ended = StreamFactory(owner=user, status=Stream.Status.ENDED)
    with pytest.raises(ValidationError, match="ended"):
        playback.playback_start(stream=ended, by=user, clip=ready_clip(user))
    stream.refresh_from_db()
    assert "playback" not in stream.scene


def test_stop_and_the_end_take_the_clip_off(user, django_capture_on_commit_callbacks):
    stream = StreamFactory(owner=user)
    state = playback.playback_start(stream=stream, by=user, clip=ready_clip(user))
    with django_capture_on_commit_callbacks(execute=True):
        state = playback.playback_stop(stream=stream, by=user)
    assert not any(layer["kind"] == "clip" for layer in state["canvases"]["landscape"]["layers"])
    assert "playback" not in state["scene"] and "playback" not in stored(stream.pk)["scene"]
    # The compositor reports the end: the stored playback goes (only if it is still the same one).
    state = playback.playback_start(stream=stream, by=user, clip=ready_clip(user))
    pid = state["scene"]["playback"]["id"]
    assert not playback.playback_finished(stream_id=stream.pk, playback_id="another")
    assert playback.playback_finished(stream_id=stream.pk, playback_id=pid)
    stream.refresh_from_db()
    assert "playback" not in stream.scene


def test_a_playback_past_its_end_is_not_drawn(user):
    stream = StreamFactory(owner=user)
    playback.playback_start(stream=stream, by=user, clip=ready_clip(user, seconds=1.0))
    stream.refresh_from_db()
    stream.scene["playback"]["started_at"] -= 1.0 + playback.END_GRACE_SECONDS + 1
    stream.save()
    state = scene.scene_state(stream)
    assert "playback" not in state["scene"]
    assert not any(layer["kind"] == "clip" for layer in state["canvases"]["landscape"]["layers"])


def test_progress_report_is_kept_for_the_studio_and_the_end_clears_the_scene(user):
    stream = StreamFactory(owner=user)
    state = playback.playback_start(stream=stream, by=user, clip=ready_clip(user))
    pid = state["scene"]["playback"]["id"]
    report = {"id": pid, "clip": "clip:1", "position": 1.0, "remaining": 1.0}
    playback.playback_report(stream_id=stream.pk, report={"event": "progress", **report})
    assert playback.playback_progress(stream.pk) == report
    playback.playback_report(stream_id=stream.pk, report={"event": "ended", **report, "remaining": 0})
    assert playback.playback_progress(stream.pk) is None
    stream.refresh_from_db()
    assert "playback" not in stream.scene


def test_api_post_and_delete(user_api, user):
    stream = StreamFactory(owner=user)
    clip = ready_clip(user)
    url = reverse("api-stream-playback", args=[stream.pk])
    response = user_api.post(url, {"clip": clip.pk, "mode": "layer", "transition": "fade", "transition_ms": 300})
    assert response.status_code == 201, response.content
    info = clip_layers(response.json())["landscape"]["playback"]
    assert info["mode"] == "layer" and info["transition"] == {"kind": "fade", "duration_ms": 300}
    theirs = ready_clip(UserFactory())
    response = user_api.post(url, {"clip": theirs.pk}, format="json")
    assert response.status_code == 400 and "clip" in response.json()
    assert user_api.post(url, {"mode": "fullscreen"}, format="json").status_code == 400
    response = user_api.delete(url)
    assert response.status_code == 200 and "playback" not in response.json()["scene"]


def test_the_playing_file_is_served_to_the_studio_only(client, user):
    stream = StreamFactory(owner=user)
    clip, other = ready_clip(user), ready_clip(user, "Not playing")
    playback.playback_start(stream=stream, by=user, clip=clip)
    url = reverse("library:playback_video", args=[stream.pk, clip.pk])
    assert client.get(url).status_code == 404, "a stranger"
    guest = GuestFactory(stream=stream)
    guest.joined_at = guest.created_at
    guest.save()
    session = client.session
    session["studio_guests"] = {str(stream.pk): guest.pk}
    session.save()
    response = client.get(url)
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    assert client.get(reverse("library:playback_video", args=[stream.pk, other.pk])).status_code == 404
    playback.playback_stop(stream=stream, by=user)
    assert client.get(url).status_code == 404, "not after it stopped"


def test_progress_goes_to_the_studio_group(user):
    """The studio socket forwards every playback event the compositor reports, to every role."""
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from apps.core import events

    assert {"playback.progress", "playback.ended", "playback.stopped"} <= events.EVERYONE_RECEIVES
    stream = StreamFactory(owner=user)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"stream-{stream.pk}", channel)
    report = {"id": "pb", "clip": "clip:7", "position": 0.5, "remaining": 3.5}
    playback.playback_report(stream_id=stream.pk, report={"event": "progress", **report})

    async def receive():
        return await asyncio.wait_for(layer.receive(channel), 5)

    message = async_to_sync(receive)()
    assert message == {"type": "playback.progress", "playback": report}
