"""A brand kit edit redraws every open studio and live program that uses the kit, whatever changed it."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.branding import services as branding
from apps.core import realtime
from apps.streams import services as streams
from apps.streams.models import Stream
from tests.factories import BrandKitFactory, StreamFactory, png_bytes

pytestmark = pytest.mark.django_db


def listen(stream_id: int):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.stream_group(stream_id), channel)

    def next_scene() -> dict:
        async def go() -> dict:
            while True:
                message = await asyncio.wait_for(layer.receive(channel), 5)
                if message["type"] == "scene.changed":
                    return message

        return async_to_sync(go)()

    return next_scene


def test_uploading_a_logo_redraws_the_streams_using_the_kit(user, django_capture_on_commit_callbacks):
    kit = BrandKitFactory(owner=user)
    using = StreamFactory(owner=user, brand_kit=kit)
    StreamFactory(owner=user, brand_kit=kit, status=Stream.Status.ENDED)  # an ended show is left alone
    next_scene = listen(using.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        asset = branding.brand_asset_upload(
            kit=kit, by=user, kind="logo", upload=SimpleUploadedFile("logo.png", png_bytes()), filename="logo.png"
        )
    assert len(callbacks) >= 1
    message = next_scene()
    assert f"asset:{asset.pk}" in message["assets"]
    assert any(layer["kind"] == "logo" for layer in message["scene_graph"]["layers"])


def test_a_kit_may_be_applied_on_air_but_output_settings_may_not(user, django_capture_on_commit_callbacks):
    kit = BrandKitFactory(owner=user)
    stream = StreamFactory(owner=user, status=Stream.Status.LIVE)
    with django_capture_on_commit_callbacks(execute=True):
        branding.brand_kit_apply(kit=kit, stream=stream, by=user)
    assert Stream.objects.get(pk=stream.pk).brand_kit_id == kit.pk
    with pytest.raises(ValidationError, match="cannot change while the stream is live"):
        streams.stream_update(stream=stream, by=user, resolution="720p")
