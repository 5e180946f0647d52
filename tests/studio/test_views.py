"""The studio and guest pages over HTTP: who may open what, and what a refused link says."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.streams import services
from apps.streams.models import Guest, Stream
from apps.streams.seats import SESSION_GUESTS_KEY
from apps.studio import services as studio_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(user, stream):
    return services.guest_invite(stream=stream, by=user, ttl=timedelta(hours=1))


def test_studio_is_for_the_owner_only(client, user_client, other_user, stream):
    page = user_client.get(f"/studio/{stream.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="studio-app"' in html and 'data-layout="side_by_side"' in html
    assert "<script>" not in html and " style=" not in html  # CSP: no inline code or styles
    assert "default-src 'self'" in page["Content-Security-Policy"]

    client.force_login(other_user)
    assert client.get(f"/studio/{stream.pk}/").status_code == 404
    client.logout()
    assert client.get(f"/studio/{stream.pk}/").status_code == 302  # to the login page


def test_invite_from_the_studio_shows_the_link_once(user_client, stream):
    response = user_client.post(
        f"/studio/{stream.pk}/invites/", {"role": "moderator", "expires_in": "1h", "display_name": "Mo"}
    )
    assert response.status_code == 200
    guest = Guest.objects.get(stream=stream)
    assert guest.role == "moderator" and guest.display_name == "Mo"
    assert timedelta(minutes=59) < guest.expires_at - timezone.now() <= timedelta(hours=1)
    html = response.content.decode()
    field = re.search(r'<input[^>]*id="invite-url"[^>]*>', html).group(0)
    link = re.search(r'value="([^"]+)"', field).group(1)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert services.guest_from_token(token) == guest
    assert guest.token_hash not in html


def test_invite_with_a_bad_role_is_refused(user_client, stream):
    response = user_client.post(f"/studio/{stream.pk}/invites/", {"role": "host", "expires_in": "1h"})
    assert response.status_code == 422
    assert not Guest.objects.filter(stream=stream).exists()


def test_someone_elses_studio_cannot_invite(client, other_user, stream):
    client.force_login(other_user)
    assert client.post(f"/studio/{stream.pk}/invites/", {"role": "guest", "expires_in": "1h"}).status_code == 404
    assert not Guest.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, 410, "expired"),
        ({"revoked_at": timezone.now()}, 410, "withdrawn"),
    ],
)
def test_dead_links_get_a_clear_page(client, invite, change, status, words):
    guest, token = invite
    Guest.objects.filter(pk=guest.pk).update(**change)
    response = client.get(f"/join/{token}/")
    assert response.status_code == status
    assert words in response.content.decode()
    assert client.post(f"/join/{token}/", {"display_name": "Sneaky"}).status_code == status
    guest.refresh_from_db()
    assert guest.display_name == ""


def test_unknown_link(client):
    response = client.get("/join/nope/")
    assert response.status_code == 403
    assert "does not work" in response.content.decode()


def test_ended_show_link(client, invite, stream):
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.ENDED)
    response = client.get(f"/join/{invite[1]}/")
    assert response.status_code == 410
    assert "ended" in response.content.decode()


def test_guest_names_themself_then_reaches_the_green_room(client, invite, stream):
    guest, token = invite
    page = client.get(f"/join/{token}/")
    assert page.status_code == 200 and 'name="display_name"' in page.content.decode()

    assert client.post(f"/join/{token}/", {"display_name": "   "}).status_code == 422
    response = client.post(f"/join/{token}/", {"display_name": "  Grace   Hopper "})
    assert response.status_code == 302 and response["Location"] == f"/join/{token}/"
    guest.refresh_from_db()
    assert guest.display_name == "Grace Hopper" and guest.joined_at is not None
    assert client.session[SESSION_GUESTS_KEY] == {str(stream.pk): guest.pk}

    green = client.get(f"/join/{token}/")
    html = green.content.decode()
    assert 'id="green-room"' in html and 'id="level-meter"' in html and 'id="camera-select"' in html
    assert token not in html  # the page reads it from its own address, the template never prints it
    assert "go-live" not in html and "data-layout" not in html


def test_guest_rtc_token_needs_the_invite_and_the_session(client, invite, settings):
    guest, token = invite
    body = json.dumps({"token": token})
    # The link alone (no name given in this browser yet) is not enough.
    assert client.post("/join/rtc/", body, content_type="application/json").status_code == 403
    client.post(f"/join/{token}/", {"display_name": "Grace"})
    response = client.post("/join/rtc/", body, content_type="application/json")
    assert response.status_code == 200
    data = response.json()
    assert data["identity"] == guest.identity and data["url"] == settings.LIVEKIT_URL and data["token"]
    studio_services.guest_revoke(guest=guest, by=guest.stream.owner)
    assert client.post("/join/rtc/", body, content_type="application/json").status_code == 410
    assert client.post("/join/rtc/", json.dumps({"token": "x"}), content_type="application/json").status_code == 403


def test_host_rtc_token_answers_503_when_livekit_is_down(user_client, stream, settings):
    settings.LIVEKIT_URL = "ws://127.0.0.1:9"  # nothing listens on the discard port
    response = user_client.post(f"/studio/{stream.pk}/rtc/")
    assert response.status_code == 503
    assert "media server" in response.json()["error"]
