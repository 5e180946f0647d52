from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.models import User
from apps.branding.models import BrandKit
from apps.destinations.models import StreamDestination
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
