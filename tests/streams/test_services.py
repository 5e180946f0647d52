"""Stream and guest services: state machine, refusals, tier limits, invite tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.accounts.tiers import Tier
from apps.core.crypto import hash_token
from apps.shows import services as shows
from apps.streams import services
from apps.streams.models import Guest, Stream
from apps.studio import services as studio_services
from tests.factories import BrandKitFactory, GuestFactory, StreamFactory, UserFactory

pytestmark = pytest.mark.django_db


def messages(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- create / update / delete ---------------------------------------------------------


def test_create_validates_and_saves(user):
    stream = services.stream_create(owner=user, title="Launch", resolution="720p", fps=30, video_bitrate_kbps=3000)
    stream.refresh_from_db()
    assert (stream.owner, stream.title, stream.resolution, stream.status) == (user, "Launch", "720p", "scheduled")


def test_create_refuses_bad_settings_with_field_messages(user):
    with pytest.raises(ValidationError) as exc:
        services.stream_create(owner=user, title="", resolution="1080p", video_bitrate_kbps=1000)
    assert "title" in messages(exc)
    assert not Stream.objects.exists()
    with pytest.raises(ValidationError) as exc:
        services.stream_create(owner=user, title="Low", resolution="1080p", video_bitrate_kbps=1000)
    assert messages(exc)["video_bitrate_kbps"] == ["1080p needs at least 2500 kbps of video bitrate."]


def test_create_rejects_unknown_fields(user):
    with pytest.raises(TypeError):
        services.stream_create(owner=user, title="x", status="live")


@pytest.mark.parametrize(
    ("tier", "resolution", "fps", "bitrate", "field"),
    [
        (Tier.FREE, "2160p", 30, 20000, "resolution"),
        (Tier.FREE, "1440p", 30, 8000, "resolution"),
        (Tier.FREE, "1080p", 60, 6000, "fps"),
    ],
)
def test_free_tier_ceiling_is_1080p30(tier, resolution, fps, bitrate, field):
    owner = UserFactory(tier=tier)
    with pytest.raises(ValidationError) as exc:
        services.stream_create(owner=owner, title="x", resolution=resolution, fps=fps, video_bitrate_kbps=bitrate)
    (message,) = messages(exc)[field]
    assert "Free plan" in message and "1080p30" in message


def test_pro_tier_allows_4k60():
    owner = UserFactory(tier=Tier.PRO)
    stream = services.stream_create(owner=owner, title="4K", resolution="2160p", fps=60, video_bitrate_kbps=20000)
    assert stream.height == 2160


def test_update_checks_the_tier_too(stream):
    with pytest.raises(ValidationError) as exc:
        services.stream_update(stream=stream, by=stream.owner, fps=60)
    assert "Free plan" in messages(exc)["fps"][0]


def test_update_output_settings_only_while_scheduled(stream):
    services.stream_update(stream=stream, by=stream.owner, resolution="720p", video_bitrate_kbps=3000)
    stream = shows.show_go_live(stream=stream, by=stream.owner)
    with pytest.raises(ValidationError) as exc:
        services.stream_update(stream=stream, by=stream.owner, resolution="480p")
    assert messages(exc)["resolution"] == ["Output settings cannot change while the stream is live."]
    # The title can still change on air.
    assert services.stream_update(stream=stream, by=stream.owner, title="Renamed live").title == "Renamed live"
    shows.show_end(stream=stream, by=stream.owner)
    with pytest.raises(ValidationError):
        services.stream_update(stream=stream, by=stream.owner, title="After")


def test_brand_kit_must_be_the_owners(stream, other_user):
    theirs = BrandKitFactory(owner=other_user)
    with pytest.raises(ValidationError) as exc:
        services.stream_update(stream=stream, by=stream.owner, brand_kit=theirs)
    assert "brand_kit" in messages(exc)
    mine = BrandKitFactory(owner=stream.owner)
    assert services.stream_update(stream=stream, by=stream.owner, brand_kit=mine).brand_kit == mine


def test_delete_refused_while_live(stream):
    shows.show_go_live(stream=stream, by=stream.owner)
    with pytest.raises(ValidationError) as exc:
        services.stream_delete(stream=stream, by=stream.owner)
    assert messages(exc)["status"] == ["End the stream before deleting it."]
    shows.show_end(stream=stream, by=stream.owner)
    services.stream_delete(stream=stream, by=stream.owner)
    assert not Stream.objects.filter(pk=stream.pk).exists()


def test_services_refuse_someone_elses_stream(stream, other_user):
    for call in (
        lambda: services.stream_update(stream=stream, by=other_user, title="mine now"),
        lambda: services.stream_delete(stream=stream, by=other_user),
        lambda: shows.show_go_live(stream=stream, by=other_user),
        lambda: services.guest_invite(stream=stream, by=other_user),
    ):
        with pytest.raises(PermissionDenied):
            call()
    stream.refresh_from_db()
    assert stream.status == "scheduled" and stream.title != "mine now"


# --- state machine ---------------------------------------------------------------------


def test_scheduled_live_ended_stamps_times(stream):
    before = timezone.now()
    live = shows.show_go_live(stream=stream, by=stream.owner)
    assert live.status == "live" and live.started_at >= before
    ended = shows.show_end(stream=live, by=stream.owner)
    assert ended.status == "ended" and ended.ended_at >= ended.started_at
    stream.refresh_from_db()
    assert (stream.status, stream.started_at, stream.ended_at) == ("ended", live.started_at, ended.ended_at)


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ([], "end"),  # scheduled → ended is not a move
        (["go_live"], "go_live"),  # live → live
        (["go_live", "end"], "go_live"),  # ended → live
        (["go_live", "end"], "end"),  # ended → ended
    ],
)
def test_refused_transitions(stream, path, action):
    funcs = {"go_live": shows.show_go_live, "end": shows.show_end}
    for step in path:
        funcs[step](stream=stream, by=stream.owner)
    stream.refresh_from_db()
    status_before = stream.status
    with pytest.raises(ValidationError) as exc:
        funcs[action](stream=stream, by=stream.owner)
    assert "cannot become" in messages(exc)["status"][0]
    stream.refresh_from_db()
    assert stream.status == status_before


def test_go_live_uses_the_row_not_a_stale_copy(stream):
    stale = Stream.objects.get(pk=stream.pk)
    shows.show_go_live(stream=stream, by=stream.owner)
    with pytest.raises(ValidationError):
        shows.show_go_live(stream=stale, by=stream.owner)  # the stale object still says "scheduled"


def test_end_sends_everyone_backstage(stream):
    guest = GuestFactory(stream=stream, on_stage=True)
    shows.show_go_live(stream=stream, by=stream.owner)
    shows.show_end(stream=stream, by=None)  # the system may end a show (worker, time limit)
    guest.refresh_from_db()
    assert guest.on_stage is False


# --- guests ----------------------------------------------------------------------------


def test_invite_stores_only_the_hash(stream):
    guest, token = services.guest_invite(stream=stream, by=stream.owner, display_name="  Ada ", role="moderator")
    guest.refresh_from_db()
    assert len(token) >= 40
    assert guest.token_hash == hash_token(token) and token not in guest.token_hash
    assert (guest.display_name, guest.role) == ("Ada", "moderator")
    assert services.guest_from_token(token) == guest


def test_invite_ttl_and_role_are_validated(stream):
    with pytest.raises(ValidationError) as exc:
        services.guest_invite(stream=stream, by=stream.owner, role="admin")
    assert "role" in messages(exc)
    with pytest.raises(ValidationError) as exc:
        services.guest_invite(stream=stream, by=stream.owner, ttl=timedelta(days=90))
    assert "ttl" in messages(exc)


def token_error(token: str) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        services.guest_from_token(token)
    return exc.value.messages


def test_token_messages(stream):
    assert token_error("nope") == ["This invite link is not valid."]
    assert token_error("") == ["This invite link is not valid."]

    guest, token = services.guest_invite(stream=stream, by=stream.owner)
    studio_services.guest_revoke(guest=guest, by=stream.owner)
    assert token_error(token) == ["This invite link has been revoked."]

    guest, token = services.guest_invite(stream=stream, by=stream.owner, ttl=timedelta(hours=1))
    Guest.objects.filter(pk=guest.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token_error(token) == ["This invite link has expired."]


def test_no_invites_for_an_ended_stream():
    stream = StreamFactory(status=Stream.Status.ENDED)
    with pytest.raises(ValidationError):
        services.guest_invite(stream=stream, by=stream.owner)


def test_revoke_takes_the_guest_off_stage(stream):
    guest, _ = services.guest_invite(stream=stream, by=stream.owner)
    studio_services.guest_bring_on_stage(guest=guest, by=stream.owner)
    revoked = studio_services.guest_revoke(guest=guest, by=stream.owner)
    assert revoked.revoked_at is not None and revoked.on_stage is False
    with pytest.raises(ValidationError):
        studio_services.guest_bring_on_stage(guest=revoked, by=stream.owner)


def test_at_most_ten_guests_on_stage(stream):
    guests = [services.guest_invite(stream=stream, by=stream.owner)[0] for _ in range(11)]
    for guest in guests[:10]:
        studio_services.guest_bring_on_stage(guest=guest, by=stream.owner)
    with pytest.raises(ValidationError) as exc:
        studio_services.guest_bring_on_stage(guest=guests[10], by=stream.owner)
    assert messages(exc)["on_stage"] == ["At most 10 guests can be on stage at once; send someone backstage first."]
    assert Guest.objects.filter(stream=stream, on_stage=True).count() == 10
    # Bringing an on-stage guest again is a no-op, and sending one back frees a seat.
    studio_services.guest_bring_on_stage(guest=guests[0], by=stream.owner)
    studio_services.guest_send_backstage(guest=guests[0], by=stream.owner)
    assert studio_services.guest_bring_on_stage(guest=guests[10], by=stream.owner).on_stage is True
