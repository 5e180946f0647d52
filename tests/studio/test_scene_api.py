"""Setting the scene through the API: stored, turned into scene graphs, published to the studio and Redis."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from apps.streams.models import Guest
from apps.studio import scene
from tests.factories import GuestFactory, StreamFactory

pytestmark = pytest.mark.django_db


def url(stream) -> str:
    return f"/api/v1/streams/{stream.pk}/scene/"


def video_sources(graph: dict) -> list[str]:
    return [layer["source"] for layer in graph["layers"] if layer["kind"] == "video"]


def test_read_the_default_scene(user_api, stream, user):
    response = user_api.get(url(stream))
    assert response.status_code == 200
    data = response.json()
    assert set(data["canvases"]) == {"landscape"}
    graph = data["canvases"]["landscape"]
    assert (graph["width"], graph["height"]) == stream.size
    assert video_sources(graph) == [f"host-{user.pk}"]
    assert data["scene"]["layout"] == stream.layout


def test_set_layout_and_stage_then_read_it_back(user_api, stream, user, django_capture_on_commit_callbacks):
    ada = GuestFactory(stream=stream, display_name="Ada")
    bob = GuestFactory(stream=stream, display_name="Bob")
    backstage = GuestFactory(stream=stream, display_name="Cy")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"stream-{stream.pk}", channel)

    with django_capture_on_commit_callbacks(execute=True):
        response = user_api.put(
            url(stream),
            {"layout": "grid", "on_stage": [bob.identity, f"host-{user.pk}", ada.identity], "transition": "fade"},
            format="json",
        )
    assert response.status_code == 200, response.content
    graph = response.json()["canvases"]["landscape"]
    assert video_sources(graph) == [bob.identity, f"host-{user.pk}", ada.identity]
    assert backstage.identity not in json.dumps(graph)
    assert set(Guest.objects.filter(on_stage=True).values_list("pk", flat=True)) == {ada.pk, bob.pk}
    assert response.json()["scene"]["transition"] == {"kind": "fade", "duration_ms": 500}

    # The studio hears it ...
    async def next_scene() -> dict:
        while True:  # the line-up's participant.updated events come first
            message = await asyncio.wait_for(layer.receive(channel), 5)
            if message["type"] == "scene.changed":
                return message

    message = async_to_sync(next_scene)()
    assert video_sources(message["scene_graph"]) == video_sources(graph)
    # ... and the compositor finds it in Redis.
    client = redis.Redis.from_url(settings.REDIS_URL)
    stored = json.loads(client.get(scene.redis_key(stream.pk)))
    client.close()
    assert stored["canvases"]["landscape"] == graph and stored["version"] > 0

    assert user_api.get(url(stream)).json()["canvases"]["landscape"] == graph

    # A smaller line-up sends the others backstage; the grid reflows.
    response = user_api.patch(url(stream), {"layout": "side_by_side", "on_stage": [ada.identity]}, format="json")
    graph = response.json()["canvases"]["landscape"]
    assert graph["layout"] == "side_by_side" and video_sources(graph) == [ada.identity]
    assert list(Guest.objects.filter(on_stage=True).values_list("pk", flat=True)) == [ada.pk]


def test_vertical_canvas_holds_the_same_people(user_api, user):
    stream = StreamFactory(owner=user, vertical_canvas=True, resolution="720p")
    ada = GuestFactory(stream=stream, on_stage=True)
    response = user_api.put(url(stream), {"layout": "side_by_side"}, format="json")
    canvases = response.json()["canvases"]
    vertical = canvases["vertical"]
    assert (vertical["width"], vertical["height"]) == (720, 1280)
    assert video_sources(vertical) == video_sources(canvases["landscape"]) == [f"host-{user.pk}", ada.identity]
    top, bottom = [layer["rect"] for layer in vertical["layers"] if layer["kind"] == "video"]
    assert top["y"] + top["h"] <= bottom["y"], "stacked, not side by side, on a vertical canvas"


def test_overlays_follow_the_toggles_and_the_brand_kit(user_api, user, stream):
    from django.core.files.base import ContentFile

    from apps.branding.models import BrandAsset
    from tests.factories import BrandKitFactory

    kit = BrandKitFactory(owner=user, primary_colour="#FF0000")
    logo = BrandAsset(kit=kit, kind="logo", uid="abc", width=200, height=100, x=0.8, y=0.05, scale=0.1)
    logo.file.save("logo.png", ContentFile(b"png"), save=True)
    stream.brand_kit = kit
    stream.save()
    response = user_api.put(
        url(stream), {"overlays": {"banner": True, "logo": True}, "banner_text": "  Hello   world "}, format="json"
    )
    data = response.json()
    layers = {layer["kind"]: layer for layer in data["canvases"]["landscape"]["layers"]}
    assert layers["banner"]["label"] == "Hello world" and layers["banner"]["style"]["bg"] == "#FF0000"
    assert layers["logo"]["source"] == f"asset:{logo.pk}"
    assert data["assets"][f"asset:{logo.pk}"]["name"] == logo.file.name
    response = user_api.patch(url(stream), {"overlays": {"logo": False, "name_tags": False}}, format="json")
    kinds = {layer["kind"] for layer in response.json()["canvases"]["landscape"]["layers"]}
    assert "logo" not in kinds and "name_tag" not in kinds and "banner" in kinds


@pytest.mark.parametrize(
    "body",
    [
        {"layout": "mosaic"},
        {"on_stage": ["guest-999999"]},
        {"overlays": {"confetti": True}},
        {"positions": {"host-1": [0.9, 0.9, 0.5, 0.5]}},
        {"transition": {"kind": "wipe"}},
        {"transition": {"kind": "fade", "duration_ms": 60000}},
        {"screen_share": "guest-424242"},
    ],
)
def test_bad_scenes_are_refused(user_api, stream, body):
    before = dict(stream.scene)
    response = user_api.put(url(stream), body, format="json")
    assert response.status_code == 400, response.content
    stream.refresh_from_db()
    assert stream.scene == before


def test_other_peoples_streams_are_not_found(user_api, other_user):
    theirs = StreamFactory(owner=other_user)
    assert user_api.get(url(theirs)).status_code == 404
    assert user_api.put(url(theirs), {"layout": "solo"}, format="json").status_code == 404


def test_anonymous_is_refused(api_client, stream):
    assert api_client.get(url(stream)).status_code in (401, 403)


def test_ended_show_keeps_its_last_scene(user_api, stream, user):
    from apps.shows.services import show_end as stream_end
    from apps.shows.services import show_go_live as stream_go_live

    stream_go_live(stream=stream, by=user)
    stream_end(stream=stream, by=user)
    assert user_api.put(url(stream), {"layout": "solo"}, format="json").status_code == 400


def test_custom_positions_and_screen_share(user_api, stream, user):
    ada = GuestFactory(stream=stream, on_stage=True)
    response = user_api.put(
        url(stream),
        {"layout": "custom", "positions": {ada.identity: [0.5, 0.5, 0.5, 0.5]}},
        format="json",
    )
    graph = response.json()["canvases"]["landscape"]
    rect = next(layer["rect"] for layer in graph["layers"] if layer["source"] == ada.identity)
    assert rect == {"x": 960, "y": 540, "w": 960, "h": 540}
    response = user_api.put(url(stream), {"layout": "screen_share", "screen_share": ada.identity}, format="json")
    graph = response.json()["canvases"]["landscape"]
    assert graph["layout"] == "screen_share"
    assert [layer["source"] for layer in graph["layers"] if layer["kind"] == "screen"] == [f"{ada.identity}:screen"]
