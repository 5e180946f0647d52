"""Key rotation: encrypt with key1, rotate under [key2, key1], then [key2] alone still decrypts."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.core import crypto
from apps.destinations.management.commands.rotate_secrets import encrypted_fields
from apps.destinations.models import StreamDestination
from tests.factories import DestinationFactory

pytestmark = pytest.mark.django_db

KEY1 = Fernet.generate_key().decode()
KEY2 = Fernet.generate_key().decode()


def test_round_trip(settings):
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY1]
    token = crypto.encrypt("sk_round_trip_1234")
    assert "sk_round_trip" not in token
    assert crypto.decrypt(token) == "sk_round_trip_1234"


def test_finds_every_encrypted_column():
    found = {f"{model._meta.label}.{field}" for model, field in encrypted_fields()}
    assert "destinations.StreamDestination.stream_key_encrypted" in found


def test_rotation(settings):
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY1]
    keys = [f"live_sk_rotation_{i:04d}_abcd" for i in range(3)]
    destinations = [DestinationFactory(stream_key=k) for k in keys]
    DestinationFactory(stream_key="")  # no key: nothing to rotate
    before = {d.pk: d.stream_key_encrypted for d in destinations}

    # Without key1 nothing decrypts yet: the check below is meaningful.
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY2]
    with pytest.raises(ImproperlyConfigured):
        StreamDestination.objects.get(pk=destinations[0].pk).decrypt_stream_key()

    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY2, KEY1]
    out = StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "destinations.StreamDestination.stream_key_encrypted: 3 rotated" in out.getvalue()

    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY2]
    for destination, key in zip(destinations, keys, strict=True):
        fresh = StreamDestination.objects.get(pk=destination.pk)
        assert fresh.stream_key_encrypted != before[destination.pk]
        assert fresh.decrypt_stream_key() == key
        assert fresh.updated_at == destination.updated_at  # rotation is not an edit


def test_dry_run_writes_nothing(settings):
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY1]
    destination = DestinationFactory(stream_key="live_sk_dry_run_0000")
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY2, KEY1]
    call_command("rotate_secrets", "--dry-run", stdout=StringIO())
    destination.refresh_from_db()
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY1]
    assert destination.decrypt_stream_key() == "live_sk_dry_run_0000"


def test_refuses_when_a_secret_cannot_be_decrypted(settings):
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY1]
    DestinationFactory(stream_key="live_sk_lost_key_0000")
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY2]  # key1 dropped too early
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_secrets", stdout=StringIO())


def test_rotation_covers_every_encrypted_column(settings, user):
    """Platform OAuth tokens and webhook secrets are rotated with the stream keys."""
    from apps.destinations.models import ConnectedAccount
    from apps.engagement.models import EngagementSettings

    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY1]
    account = ConnectedAccount(owner=user, platform="youtube", external_id="UC123", display_name="Channel")
    account.set_tokens(access_token="ya29.access-canary", refresh_token="1//refresh-canary", expires_at=None)
    account.save()
    destination = DestinationFactory(stream__owner=user, stream_key="live_sk_with_account_0001")
    engagement = EngagementSettings.objects.create(
        stream=destination.stream, webhook_secret_encrypted=crypto.encrypt("whsec_canary_0001")
    )
    found = {f"{model._meta.label}.{field}" for model, field in encrypted_fields()}
    assert {
        "destinations.ConnectedAccount.access_token_encrypted",
        "destinations.ConnectedAccount.refresh_token_encrypted",
        "engagement.EngagementSettings.webhook_secret_encrypted",
    } <= found

    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY2, KEY1]
    call_command("rotate_secrets", stdout=StringIO())
    settings.STREAM_KEY_ENCRYPTION_KEYS = [KEY2]
    account.refresh_from_db()
    engagement.refresh_from_db()
    destination.refresh_from_db()
    assert account.decrypt_access_token() == "ya29.access-canary"
    assert account.decrypt_refresh_token() == "1//refresh-canary"
    assert crypto.decrypt(engagement.webhook_secret_encrypted) == "whsec_canary_0001"
    assert destination.decrypt_stream_key() == "live_sk_with_account_0001"
