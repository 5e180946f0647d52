"""Streams, guests, brand kits and recordings through the REST API."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from apps.accounts.tiers import Tier
from apps.core.crypto import hash_token
from apps.streams.models import Guest, Stream
from tests.factories import BrandKitFactory, GuestFactory, RecordingFactory, StreamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_list_update_delete(user_api, user, other_user):
    response = user_api.post(
        "/api/v1/streams/", {"title": "Launch", "resolution": "720p", "video_bitrate_kbps": 3000}, format="json"
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "scheduled" and created["resolution"] == "720p"
    StreamFactory(owner=other_user, title="Not mine")

    listing = user_api.get("/api/v1/streams/").json()
    assert listing["count"] == 1 and [s["title"] for s in listing["results"]] == ["Launch"]

    response = user_api.patch(f"/api/v1/streams/{created['id']}/", {"description": "Big day"}, format="json")
    assert response.status_code == 200 and response.json()["description"] == "Big day"
    assert user_api.delete(f"/api/v1/streams/{created['id']}/").status_code == 204
    assert not Stream.objects.filter(owner=user).exists()


def test_validation_errors_are_400_with_field_messages(user_api):
    response = user_api.post("/api/v1/streams/", {"resolution": "8K", "fps": 7}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == ["This field is required."]
    assert body["resolution"] == ['"8K" is not a valid choice.']
    assert "fps" in body

    # Model rules come back the same way, through the service.
    response = user_api.post(
        "/api/v1/streams/", {"title": "Low", "resolution": "1080p", "video_bitrate_kbps": 1000}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"video_bitrate_kbps": ["1080p needs at least 2500 kbps of video bitrate."]}


def test_tier_ceiling_through_the_api(user_api, user):
    response = user_api.post(
        "/api/v1/streams/",
        {"title": "4K", "resolution": "2160p", "fps": 60, "video_bitrate_kbps": 20000},
        format="json",
    )
    assert response.status_code == 400
    assert "Free plan" in response.json()["resolution"][0]
    user.tier = Tier.PRO
    user.save()
    response = user_api.post(
        "/api/v1/streams/",
        {"title": "4K", "resolution": "2160p", "fps": 60, "video_bitrate_kbps": 20000},
        format="json",
    )
    assert response.status_code == 201


def test_brand_kit_of_someone_else_reads_as_missing(user_api, other_user):
    theirs = BrandKitFactory(owner=other_user)
    response = user_api.post("/api/v1/streams/", {"title": "x", "brand_kit": theirs.pk}, format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["brand_kit"][0]


def test_transitions(user_api, stream):
    response = user_api.post(f"/api/v1/streams/{stream.pk}/end/")
    assert response.status_code == 400
    assert response.json() == {"status": ["A scheduled stream cannot become ended."]}
    live = user_api.post(f"/api/v1/streams/{stream.pk}/go-live/").json()
    assert live["status"] == "live" and live["started_at"]
    assert user_api.delete(f"/api/v1/streams/{stream.pk}/").json() == {"status": ["End the stream before deleting it."]}
    patch = user_api.patch(f"/api/v1/streams/{stream.pk}/", {"fps": 25}, format="json")
    assert patch.status_code == 400 and "fps" in patch.json()
    ended = user_api.post(f"/api/v1/streams/{stream.pk}/end/").json()
    assert ended["status"] == "ended" and ended["ended_at"]
    assert user_api.post(f"/api/v1/streams/{stream.pk}/go-live/").status_code == 400


def test_invite_returns_the_link_once(user_api, stream, settings):
    settings.SITE_URL = "https://studio.example.com"
    response = user_api.post(
        f"/api/v1/streams/{stream.pk}/guests/", {"display_name": "Ada", "ttl_hours": 2}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    token = body["token"]
    assert body["join_url"].startswith("https://studio.example.com/") and body["join_url"].endswith(f"{token}/")
    assert response["Cache-Control"] == "no-store"
    guest = Guest.objects.get(pk=body["id"])
    assert guest.token_hash == hash_token(token)
    assert 1.9 * 3600 < (guest.expires_at - timezone.now()).total_seconds() <= 2 * 3600
    # Afterwards, nothing shows the token again.
    for url in (f"/api/v1/guests/{guest.pk}/", f"/api/v1/streams/{stream.pk}/guests/"):
        text = user_api.get(url).content.decode()
        assert token not in text and "token" not in text


def test_invite_input_errors(user_api, stream):
    response = user_api.post(f"/api/v1/streams/{stream.pk}/guests/", {"role": "owner", "ttl_hours": 0}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"role", "ttl_hours"}


def test_revoke_and_stage(user_api, stream):
    guests = [GuestFactory(stream=stream) for _ in range(11)]
    for guest in guests[:10]:
        assert user_api.post(f"/api/v1/guests/{guest.pk}/stage/").json()["on_stage"] is True
    response = user_api.post(f"/api/v1/guests/{guests[10].pk}/stage/")
    assert response.status_code == 400
    assert "At most 10 guests" in response.json()["on_stage"][0]
    assert user_api.post(f"/api/v1/guests/{guests[0].pk}/backstage/").json()["on_stage"] is False
    revoked = user_api.post(f"/api/v1/guests/{guests[1].pk}/revoke/").json()
    assert revoked["state"] == "revoked" and revoked["on_stage"] is False and revoked["revoked_at"]


def test_brand_kits_and_recordings(user_api, user, stream, django_capture_on_commit_callbacks):
    response = user_api.post("/api/v1/brand-kits/", {"name": "Main", "primary_colour": "blue"}, format="json")
    assert response.status_code == 400 and response.json()["primary_colour"] == ["Use a colour like #1A2B3C."]
    kit = user_api.post("/api/v1/brand-kits/", {"name": "Main", "primary_colour": "#112233"}, format="json").json()
    assert kit["assets"] == []
    duplicate = user_api.post("/api/v1/brand-kits/", {"name": "main"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()

    recording = RecordingFactory(stream=stream)
    RecordingFactory(stream=StreamFactory(owner=UserFactory()))
    listing = user_api.get("/api/v1/recordings/").json()
    assert [r["id"] for r in listing["results"]] == [recording.pk]
    assert user_api.get(f"/api/v1/recordings/?stream={stream.pk + 1000}").json()["count"] == 0
    renamed = user_api.patch(f"/api/v1/recordings/{recording.pk}/", {"title": "  Best of  "}, format="json").json()
    assert renamed["title"] == "Best of"
    blank = user_api.patch(f"/api/v1/recordings/{recording.pk}/", {"title": "   "}, format="json")
    assert blank.status_code == 400 and "title" in blank.json()
    download = user_api.get(f"/api/v1/recordings/{recording.pk}/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\x00" * 16
    path = Path(recording.file.path)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert user_api.delete(f"/api/v1/recordings/{recording.pk}/").status_code == 204
    assert not path.exists()  # the file goes with the row, once the delete is committed


def test_invites_are_rate_limited(user_api, stream, monkeypatch):
    from apps.streams import services

    monkeypatch.setattr(services, "INVITES_PER_HOUR", 2)
    url = f"/api/v1/streams/{stream.pk}/guests/"
    assert [user_api.post(url, {}, format="json").status_code for _ in range(2)] == [201, 201]
    refused = user_api.post(url, {}, format="json")
    assert refused.status_code == 429
    assert refused.json() == {"detail": "You have created 2 invites in the last hour; try again later."}
    assert stream.guests.count() == 2


def test_brand_asset_placement_is_validated(user_api, user):
    from tests.factories import make_asset

    asset = make_asset(user)
    response = user_api.patch(f"/api/v1/brand-assets/{asset.pk}/", {"x": 1.5, "opacity": -1}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"x", "opacity"}
    placed = user_api.patch(f"/api/v1/brand-assets/{asset.pk}/", {"x": 0.8, "scale": 0.2}, format="json").json()
    assert (placed["x"], placed["y"], placed["scale"]) == (0.8, 0.02, 0.2)
    kit = user_api.get(f"/api/v1/brand-kits/{asset.kit_id}/").json()
    assert [a["id"] for a in kit["assets"]] == [asset.pk]
