"""Destinations and guest invites on a stream's page, through HTMX fragments."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from apps.core.crypto import hash_token
from apps.destinations.models import StreamDestination
from apps.streams.models import Guest, Stream
from tests.factories import DestinationFactory, GuestFactory, StreamFactory

pytestmark = pytest.mark.django_db

MASK = "\u2022" * 4


def key_input(html: str) -> str:
    match = re.search(r'<input[^>]*name="stream_key"[^>]*>', html)
    assert match, "no stream key field"
    return match.group(0)


def test_add_destination_re_renders_the_card_with_the_key_masked(htmx, stream, canary_key):
    response = htmx.post(
        reverse("destination_create", args=[stream.id]),
        {
            "platform": "custom",
            "name": "Studio relay",
            "rtmp_url": "rtmp://127.0.0.1:1935/live",
            "stream_key": canary_key,
            "canvas": "vertical",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    destination = StreamDestination.objects.get(stream=stream)
    assert html.startswith('<section class="card" id="destinations">')
    assert f'id="destination-{destination.id}"' in html
    assert (destination.name, destination.canvas) == ("Studio relay", "vertical")
    assert destination.decrypt_stream_key() == canary_key
    assert canary_key not in html
    assert canary_key[:-4] not in html
    assert MASK + "WXYZ" in html
    assert "value=" not in key_input(html)  # the fresh add form is empty


def test_platform_destination_uses_the_default_ingest(htmx, stream):
    htmx.post(
        reverse("destination_create", args=[stream.id]),
        {"platform": "youtube", "stream_key": "abcd-efgh-ijkl-mnop", "canvas": "landscape"},
    )
    destination = StreamDestination.objects.get(stream=stream)
    assert destination.rtmp_url.startswith("rtmps://a.rtmps.youtube.com")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"platform": "custom", "rtmp_url": "", "stream_key": "x"}, "rtmp_url", "needs its rtmp:// or rtmps://"),
        ({"platform": "custom", "rtmp_url": "http://example.com/live"}, "rtmp_url", "Use an rtmp:// or rtmps://"),
        ({"platform": "twitch", "stream_key": ""}, "stream_key", "Paste the stream key from Twitch"),
    ],
)
def test_destination_errors_are_shown_in_place_and_the_key_is_not_echoed(htmx, stream, data, field, message):
    data = {"canvas": "landscape", **data}
    if data.get("stream_key") == "x":
        data["stream_key"] = "typed_secret_key_12345"
    response = htmx.post(reverse("destination_create", args=[stream.id]), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    block = html[html.index(f'id="id_{field}"') :]
    assert message in block.split('class="field', 1)[0]  # under its own field
    assert "typed_secret_key_12345" not in html
    assert "value=" not in key_input(html)
    assert not StreamDestination.objects.filter(stream=stream).exists()


def test_destination_tier_limit_message(htmx, user):
    stream = StreamFactory(owner=user)
    DestinationFactory.create_batch(user.limits.destinations_per_stream, stream=stream)
    response = htmx.post(
        reverse("destination_create", args=[stream.id]),
        {"platform": "custom", "rtmp_url": "rtmp://127.0.0.1/live", "canvas": "landscape"},
    )
    assert response.status_code == 422
    assert "The Free plan allows 3 destinations per stream" in response.content.decode()


def test_edit_destination_inline_keeps_the_key_unless_a_new_one_is_typed(htmx, stream, canary_key):
    destination = DestinationFactory(stream=stream, stream_key=canary_key, name="Relay")
    form = htmx.get(reverse("destination_edit", args=[destination.id]))
    html = form.content.decode()
    assert form.status_code == 200
    assert f'<li class="list-row is-editing" id="destination-{destination.id}">' in html
    assert canary_key not in html
    assert "value=" not in key_input(html)
    assert f"Current key {MASK}WXYZ" in html

    data = {
        "platform": "custom",
        "name": "Relay 2",
        "rtmp_url": "rtmp://127.0.0.1:1935/app",  # the same server: the key stays
        "canvas": "landscape",
        "enabled": "on",
        "stream_key": "",
    }
    response = htmx.post(reverse("destination_edit", args=[destination.id]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<li class="list-row" id="destination-{destination.id}">' in html
    destination.refresh_from_db()
    assert (destination.name, destination.rtmp_url) == ("Relay 2", "rtmp://127.0.0.1:1935/app")
    assert destination.decrypt_stream_key() == canary_key

    # Another server without the key: refused under the key field, nothing changes.
    moved = htmx.post(
        reverse("destination_edit", args=[destination.id]), {**data, "rtmp_url": "rtmp://127.0.0.1:1936/app"}
    )
    assert moved.status_code == 422
    assert "paste the stream key again" in moved.content.decode()
    destination.refresh_from_db()
    assert destination.rtmp_url == "rtmp://127.0.0.1:1935/app"

    data["rtmp_url"] = "rtmp://127.0.0.1:1936/app"
    htmx.post(reverse("destination_edit", args=[destination.id]), {**data, "stream_key": "new_key_0000_QRST"})
    destination.refresh_from_db()
    assert destination.decrypt_stream_key() == "new_key_0000_QRST"
    assert destination.enabled is True

    cancel = htmx.get(reverse("destination_row", args=[destination.id]))
    assert MASK + "QRST" in cancel.content.decode()


def test_delete_destination_re_renders_the_card(htmx, stream):
    destination = DestinationFactory(stream=stream)
    response = htmx.post(reverse("destination_delete", args=[destination.id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="destinations"' in html
    assert "Nowhere to go live yet" in html
    assert not StreamDestination.objects.filter(pk=destination.pk).exists()


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "destination_row"),
        ("get", "destination_edit"),
        ("post", "destination_edit"),
        ("post", "destination_delete"),
    ],
)
def test_other_users_destination_is_404(user_client, other_user, method, name):
    theirs = DestinationFactory(stream=StreamFactory(owner=other_user), name="Theirs")
    response = getattr(user_client, method)(reverse(name, args=[theirs.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_invite_shows_the_link_once_and_stores_only_its_hash(htmx, user_client, stream):
    response = htmx.post(
        reverse("guest_invite", args=[stream.id]), {"display_name": "Ada", "role": "moderator", "expires_in": "1h"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section class="card" id="guests">')
    guest = Guest.objects.get(stream=stream)
    assert (guest.display_name, guest.role) == ("Ada", "moderator")
    # The link is on SITE_URL, whatever Host the request came with.
    token = re.search(rf'id="invite-url" value="{re.escape(settings.SITE_URL)}/join/([^"/]+)/"', html).group(1)
    assert guest.token_hash == hash_token(token)
    assert f'id="guest-{guest.id}"' in html

    # Reloading the page never shows the token again.
    page = user_client.get(reverse("stream_detail", args=[stream.id])).content.decode()
    assert token not in page
    assert f'id="guest-{guest.id}"' in page


def test_invite_on_an_ended_stream_is_refused_in_place(htmx, stream):
    stream.transition(Stream.Status.LIVE)
    stream.transition(Stream.Status.ENDED)
    stream.save()
    response = htmx.post(reverse("guest_invite", args=[stream.id]), {"role": "guest", "expires_in": "24h"})
    assert response.status_code == 422
    assert "guests can no longer be invited" in response.content.decode()
    assert not Guest.objects.exists()


def test_revoke_swaps_the_guest_row(htmx, stream):
    guest = GuestFactory(stream=stream, display_name="Grace")
    response = htmx.post(reverse("guest_revoke", args=[guest.id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<li class="list-row" id="guest-{guest.id}">')
    assert "Revoked" in html
    guest.refresh_from_db()
    assert guest.is_revoked


def test_other_users_guest_cannot_be_revoked(user_client, other_user):
    guest = GuestFactory(stream=StreamFactory(owner=other_user))
    assert user_client.post(reverse("guest_revoke", args=[guest.id])).status_code == 404
    guest.refresh_from_db()
    assert not guest.is_revoked
