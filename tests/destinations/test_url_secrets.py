"""Security finding 9 (second half): a stream key pasted into the ingest URL is refused, pointing at the key field.

The reproduction: `rtmp://host/app/KEY` was stored in plain text (the key unencrypted, in rtmp_url) and
returned by the API to anyone reading the destination.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.destinations import services
from apps.destinations.models import StreamDestination

pytestmark = pytest.mark.django_db

KEY_FIELD_HINT = "Stream key field"


@pytest.mark.parametrize(
    ("platform", "url", "secret"),
    [
        ("youtube", "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop-qrst", "abcd-efgh-ijkl-mnop-qrst"),
        ("twitch", "rtmps://ingest.global-contribute.live-video.net:443/app/live_123456789_AbCdEfGh", "live_123456789"),
        ("facebook", "rtmps://live-api-s.facebook.com:443/rtmp/FB-1234567890-0-AbCdEfGh", "FB-1234567890"),
        ("custom", "rtmp://127.0.0.1:1935/live/9f8e7d6c5b4a", "9f8e7d6c5b4a"),
        ("custom", "rtmp://127.0.0.1:1935/live/StreamKey2026", "StreamKey2026"),
        ("custom", "rtmp://127.0.0.1:1935/live?key=sekrit-value", "sekrit-value"),
        ("custom", "rtmp://127.0.0.1:1935/live?streamkey=abc&x=1", "streamkey=abc"),
    ],
)
def test_a_key_in_the_url_is_refused_and_never_stored_or_echoed(user_api, stream, platform, url, secret):
    response = user_api.post(
        f"/api/v1/streams/{stream.pk}/destinations/", {"platform": platform, "rtmp_url": url}, format="json"
    )
    assert response.status_code == 400, response.content
    errors = response.json()
    assert set(errors) == {"rtmp_url"}
    assert KEY_FIELD_HINT in errors["rtmp_url"][0]
    assert secret not in response.content.decode()
    assert not StreamDestination.objects.filter(stream=stream).exists()


def test_the_key_typed_into_both_fields_is_refused(stream):
    with pytest.raises(ValidationError) as exc:
        services.destination_create(
            stream=stream,
            by=stream.owner,
            platform="custom",
            rtmp_url="rtmp://127.0.0.1/live/show",
            stream_key="show",
        )
    assert KEY_FIELD_HINT in str(exc.value)


@pytest.mark.parametrize(
    "url",
    [
        "rtmp://127.0.0.1:1935/live",
        "rtmp://127.0.0.1:1935/live/",
        "rtmps://127.0.0.1:443/app",
        "rtmp://127.0.0.1/live/show",  # a multi-level application name, not a secret
        "rtmp://127.0.0.1:1935/app/_definst_",  # Wowza's default instance
        "rtmp://127.0.0.1/live?backup=1",
    ],
)
def test_ordinary_ingest_urls_are_accepted(stream, url):
    destination = services.destination_create(
        stream=stream, by=stream.owner, platform="custom", rtmp_url=url, stream_key="k-0123456789"
    )
    assert destination.rtmp_url == url


def test_the_dashboard_form_says_where_the_key_goes(client, stream):
    client.force_login(stream.owner)
    response = client.post(
        reverse("destination_create", args=[stream.id]),
        {"platform": "custom", "rtmp_url": "rtmp://127.0.0.1/live/9f8e7d6c5b4a", "canvas": "landscape"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert KEY_FIELD_HINT in html
    assert "9f8e7d6c5b4a" not in html  # not even back in the URL input
