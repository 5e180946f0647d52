"""Destination services: default ingests, URL and SSRF checks, tier limits, the stream key."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.accounts.tiers import Tier
from apps.destinations import services
from apps.destinations.models import DEFAULT_INGEST_URLS, StreamDestination
from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory, UserFactory

pytestmark = pytest.mark.django_db

KEY = "live_sk_abcdefgh_9876"


def test_blank_url_uses_the_platform_ingest(stream):
    destination = services.destination_create(stream=stream, by=stream.owner, platform="youtube", stream_key=KEY)
    destination.refresh_from_db()
    assert destination.rtmp_url == DEFAULT_INGEST_URLS["youtube"]
    assert destination.decrypt_stream_key() == KEY
    assert KEY not in destination.stream_key_encrypted
    assert destination.masked_stream_key == "••••9876"
    assert destination.display_name == "YouTube"


def test_custom_needs_a_url(stream):
    with pytest.raises(ValidationError) as exc:
        services.destination_create(stream=stream, by=stream.owner, platform="custom")
    assert exc.value.message_dict["rtmp_url"] == ["A custom destination needs its rtmp:// or rtmps:// ingest URL."]


def test_platforms_need_a_key(stream):
    with pytest.raises(ValidationError) as exc:
        services.destination_create(stream=stream, by=stream.owner, platform="twitch")
    assert exc.value.message_dict["stream_key"] == ["Paste the stream key from Twitch."]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://8.8.8.8/live", "Use an rtmp:// or rtmps:// ingest URL."),
        ("rtmp://user:pw@8.8.8.8/live", "Put credentials in the stream key field, not in the URL."),
        ("rtmp://8.8.8.8/live\nkey", "The URL contains spaces or control characters."),
        ("rtmp:///live", "The URL has no host."),
    ],
)
def test_url_validation(stream, url, message):
    with pytest.raises(ValidationError) as exc:
        services.destination_create(stream=stream, by=stream.owner, platform="custom", rtmp_url=url)
    assert message in exc.value.message_dict["rtmp_url"]


@pytest.mark.parametrize(
    "url",
    [
        "rtmp://127.0.0.1/live",
        "rtmp://localhost:1935/live",
        "rtmps://[::1]/live",
        "rtmp://169.254.169.254/latest",
        "rtmp://10.0.0.5/live",
        "rtmp://2130706433/live",  # 127.0.0.1 written as an integer
    ],
)
def test_private_hosts_are_refused(settings, stream, url):
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    with pytest.raises(ValidationError) as exc:
        services.destination_create(stream=stream, by=stream.owner, platform="custom", rtmp_url=url, stream_key=KEY)
    (message,) = exc.value.message_dict["rtmp_url"]
    assert "private or reserved address" in message
    assert not StreamDestination.objects.exists()


def test_private_hosts_refused_on_update_too(settings, stream):
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    destination = services.destination_create(
        stream=stream, by=stream.owner, platform="custom", rtmp_url="rtmp://8.8.8.8/live", stream_key=KEY
    )
    with pytest.raises(ValidationError) as exc:
        services.destination_update(destination=destination, by=stream.owner, rtmp_url="rtmp://127.0.0.1/live")
    assert "rtmp_url" in exc.value.message_dict
    destination.refresh_from_db()
    assert destination.rtmp_url == "rtmp://8.8.8.8/live"


def test_private_hosts_allowed_for_local_testing(settings, stream):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    destination = services.destination_create(
        stream=stream, by=stream.owner, platform="custom", rtmp_url="rtmp://127.0.0.1:1935/live"
    )
    assert destination.pk


def test_tier_limit_on_destinations_per_stream():
    stream = StreamFactory(owner=UserFactory(tier=Tier.FREE))
    for _ in range(3):
        services.destination_create(stream=stream, by=stream.owner, platform="youtube", stream_key=KEY)
    with pytest.raises(ValidationError) as exc:
        services.destination_create(stream=stream, by=stream.owner, platform="youtube", stream_key=KEY)
    (message,) = exc.value.message_dict["platform"]
    assert message.startswith("The Free plan allows 3 destinations per stream")
    assert stream.destinations.count() == 3

    pro = StreamFactory(owner=UserFactory(tier=Tier.PRO))
    for _ in range(4):
        services.destination_create(stream=pro, by=pro.owner, platform="youtube", stream_key=KEY)
    assert pro.destinations.count() == 4


def test_update_keeps_the_key_when_blank(stream):
    destination = DestinationFactory(stream=stream, stream_key=KEY)
    services.destination_update(destination=destination, by=stream.owner, name="Main", stream_key="")
    services.destination_update(destination=destination, by=stream.owner, canvas="vertical")
    destination.refresh_from_db()
    assert (destination.name, destination.canvas, destination.decrypt_stream_key()) == ("Main", "vertical", KEY)
    services.destination_update(destination=destination, by=stream.owner, stream_key="new_key_000011112222")
    destination.refresh_from_db()
    assert destination.decrypt_stream_key() == "new_key_000011112222"
    assert destination.masked_stream_key == "••••2222"


def test_key_with_whitespace_refused(stream):
    with pytest.raises(ValidationError) as exc:
        services.destination_create(stream=stream, by=stream.owner, platform="youtube", stream_key="abc def ghij klm")
    assert "stream_key" in exc.value.message_dict


def test_ended_stream_takes_no_destinations():
    stream = StreamFactory(status=Stream.Status.ENDED)
    with pytest.raises(ValidationError):
        services.destination_create(stream=stream, by=stream.owner, platform="youtube", stream_key=KEY)


def test_other_users_cannot_touch_a_destination(stream, other_user):
    destination = DestinationFactory(stream=stream)
    with pytest.raises(PermissionDenied):
        services.destination_update(destination=destination, by=other_user, name="x")
    with pytest.raises(PermissionDenied):
        services.destination_delete(destination=destination, by=other_user)
    with pytest.raises(PermissionDenied):
        services.destination_create(stream=stream, by=other_user, platform="youtube", stream_key=KEY)
    services.destination_delete(destination=destination, by=stream.owner)
    assert not StreamDestination.objects.exists()


def test_connected_channel_destinations_count_against_the_limit_too():
    from apps.destinations.models import ConnectedAccount
    from apps.destinations.platform_services import platform_destination_create

    stream = StreamFactory(owner=UserFactory(tier=Tier.FREE))
    account = ConnectedAccount(owner=stream.owner, platform="youtube", external_id="UCx", display_name="Channel")
    account.set_tokens(access_token="ya29.limit", refresh_token="1//limit", expires_at=None)
    account.save()
    for _ in range(2):
        services.destination_create(stream=stream, by=stream.owner, platform="twitch", stream_key=KEY)
    platform_destination_create(stream=stream, account=account, by=stream.owner)
    with pytest.raises(ValidationError) as exc:
        platform_destination_create(stream=stream, account=account, by=stream.owner)
    assert exc.value.message_dict["platform"][0].startswith("The Free plan allows 3 destinations per stream")
    assert stream.destinations.count() == 3


def test_moving_a_destination_to_another_host_needs_the_key_again(stream):
    """Security finding 11: a stolen session (a 5-minute token) must not redirect a long-lived key elsewhere."""
    destination = services.destination_create(
        stream=stream, by=stream.owner, platform="custom", rtmp_url="rtmp://127.0.0.1:1935/live", stream_key=KEY
    )
    for url in ("rtmp://127.0.0.2:1935/live", "rtmp://127.0.0.1:1936/live", "rtmps://127.0.0.1:1935/live"):
        with pytest.raises(ValidationError) as exc:
            services.destination_update(destination=destination, by=stream.owner, rtmp_url=url)
        assert "stream key" in exc.value.message_dict["stream_key"][0].lower()
    with pytest.raises(ValidationError):
        services.destination_update(destination=destination, by=stream.owner, platform="youtube", rtmp_url="")
    destination.refresh_from_db()
    assert destination.rtmp_url == "rtmp://127.0.0.1:1935/live" and destination.decrypt_stream_key() == KEY

    # The same host, another application: the key stays.
    services.destination_update(destination=destination, by=stream.owner, rtmp_url="rtmp://127.0.0.1:1935/app")
    # Another host with the key typed again: fine.
    moved = services.destination_update(
        destination=destination, by=stream.owner, rtmp_url="rtmp://127.0.0.2/live", stream_key="new-key-0000"
    )
    assert moved.decrypt_stream_key() == "new-key-0000"


def test_moving_a_destination_through_the_api_says_why(user_api, stream):
    destination = DestinationFactory(stream=stream, rtmp_url="rtmp://127.0.0.1:1935/live", stream_key=KEY)
    response = user_api.patch(
        f"/api/v1/destinations/{destination.pk}/", {"rtmp_url": "rtmp://127.0.0.2:1935/live"}, format="json"
    )
    assert response.status_code == 400
    assert "stream_key" in response.json()
    destination.refresh_from_db()
    assert destination.rtmp_url == "rtmp://127.0.0.1:1935/live"
