from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from apps.accounts.models import User
from apps.branding.models import BrandAsset, BrandKit
from apps.destinations.models import ConnectedAccount, StreamDestination
from apps.library.models import MediaClip, UploadSession
from apps.recordings.models import Recording
from apps.streams.models import Guest, Stream

DEFAULT_PASSWORD = "correct horse battery staple 42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"creator{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stream

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Show {n}")


class DestinationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StreamDestination
        skip_postgeneration_save = True  # the stream_key hook saves

    stream = factory.SubFactory(StreamFactory)
    platform = "custom"
    name = factory.Sequence(lambda n: f"Destination {n}")
    rtmp_url = "rtmp://127.0.0.1:1935/live"

    @factory.post_generation
    def stream_key(obj, create, extracted, **kwargs):
        obj.set_stream_key(extracted if extracted is not None else "live_sk_test_0000_abcd1234")
        if create:
            obj.save()


class GuestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guest

    stream = factory.SubFactory(StreamFactory)
    display_name = factory.Sequence(lambda n: f"Guest {n}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    token_hash = factory.Sequence(lambda n: f"{n:064d}")


class BrandKitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrandKit

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Kit {n}")


class RecordingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recording

    stream = factory.SubFactory(StreamFactory)
    file = factory.django.FileField(filename="show.mp4", data=b"\x00" * 16)
    size_bytes = 16
    duration_seconds = 1.0
    width = 1280
    height = 720


def ready_clip(owner, title="Intro", seconds=2.0, status=MediaClip.Status.READY) -> MediaClip:
    clip = MediaClip(
        owner=owner,
        uid=uuid.uuid4().hex,
        title=title,
        status=status,
        duration_seconds=seconds,
        width=1280,
        height=720,
        fps=30,
        has_audio=True,
    )
    clip.mezzanine.save("mezzanine.mp4", ContentFile(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64), save=False)
    clip.save()
    return clip


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_asset(owner: Any, kit: BrandKit | None = None) -> BrandAsset:
    """A logo in one of `owner`'s brand kits (a new kit unless one is given), with its PNG stored."""
    asset = BrandAsset(kit=kit or BrandKitFactory(owner=owner), kind="logo", uid="matrix", content_type="image/png")
    asset.file.save("logo.png", ContentFile(png_bytes()), save=False)
    asset.save()
    return asset


def make_account(owner: Any, platform: str = "youtube") -> ConnectedAccount:
    """A connected platform account with (fake, encrypted) OAuth tokens."""
    account = ConnectedAccount(owner=owner, platform=platform, external_id=uuid.uuid4().hex, display_name="Channel")
    account.set_tokens(access_token="ya29.matrix-token", refresh_token="1//matrix-refresh", expires_at=None)
    account.save()
    return account


def make_upload(owner: Any) -> UploadSession:
    """An open clip upload of one chunk and a bit: the first PATCH is accepted and the upload stays open."""
    from apps.library import services as library_services

    size = library_services.chunk_size() + 1000
    return library_services.upload_create(owner=owner, purpose="clip", size=size, title="Clip", filename="clip.mp4")
