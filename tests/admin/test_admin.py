"""The Django admin: every registered model's changelist and change form render; secrets never do."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.destinations.models import StreamDestination
from apps.streams.models import Guest, Stream
from tests.factories import (
    BrandKitFactory,
    DestinationFactory,
    GuestFactory,
    RecordingFactory,
    StreamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CANARY_KEY = "live_ADMIN_CANARY_77aa88bb99cc_LAST"
MASK = "\u2022" * 4


def _brand_asset() -> Model:
    from apps.branding.models import BrandAsset

    kit = BrandKitFactory()
    return BrandAsset.objects.create(kit=kit, kind="logo", uid=uuid.uuid4().hex, file="brand/x/logo.png")


def _scene_template() -> Model:
    from apps.branding.models import SceneTemplate

    return SceneTemplate.objects.create(owner=UserFactory(), name="Interview", layout="side_by_side")


def _connected_account() -> Model:
    from apps.destinations.models import ConnectedAccount

    account = ConnectedAccount(owner=UserFactory(), platform="youtube", external_id="UC123", display_name="Channel")
    account.set_tokens(access_token="ya29.admin-canary-token", refresh_token="1//refresh-canary", expires_at=None)
    account.save()
    return account


def _engagement_settings() -> Model:
    from apps.engagement.models import EngagementSettings

    return EngagementSettings.objects.create(stream=StreamFactory())


def _comment() -> Model:
    from apps.engagement.models import Comment

    return Comment.objects.create(
        stream=StreamFactory(),
        platform="twitch",
        platform_message_id="m1",
        author_name="viewer",
        text="hello",
        created_at=timezone.now(),
    )


def _author_ban() -> Model:
    from apps.engagement.models import AuthorBan

    return AuthorBan.objects.create(owner=UserFactory(), platform="twitch", author_id="troll")


def _blocked_word() -> Model:
    from apps.engagement.models import BlockedWord

    return BlockedWord.objects.create(owner=UserFactory(), word="spam")


def _media_clip() -> Model:
    from apps.library.models import MediaClip

    return MediaClip.objects.create(owner=UserFactory(), title="Intro")


def _upload_session() -> Model:
    from apps.library.models import UploadSession

    return UploadSession.objects.create(owner=UserFactory(), purpose="clip", chunk_bytes=1024, total_bytes=4096)


def _playlist_item() -> Model:
    from apps.library.models import MediaClip, Playlist, PlaylistItem

    owner = UserFactory()
    playlist = Playlist.objects.create(owner=owner, name="Opening")
    clip = MediaClip.objects.create(owner=owner, title="Intro", status="ready")
    return PlaylistItem.objects.create(playlist=playlist, clip=clip, position=0)


def _room_participant() -> Model:
    from apps.rtc.models import RoomParticipant

    return RoomParticipant.objects.create(stream=StreamFactory(), identity="host-1", kind="host")


def _outstanding_token() -> Model:
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    return OutstandingToken.objects.create(
        user=UserFactory(), jti=uuid.uuid4().hex, token="x.y.z", expires_at=timezone.now() + timedelta(days=1)
    )


def _blacklisted_token() -> Model:
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    return BlacklistedToken.objects.create(token=_outstanding_token())


# One way to make a row of each registered model ("app_label.model_name").
BUILDERS: dict[str, Callable[[], Model]] = {
    "accounts.user": UserFactory,
    "auth.group": lambda: Group.objects.create(name="Moderators"),
    "streams.stream": StreamFactory,
    "streams.guest": GuestFactory,
    "destinations.streamdestination": lambda: DestinationFactory(stream_key=CANARY_KEY),
    "destinations.connectedaccount": _connected_account,
    "branding.brandkit": BrandKitFactory,
    "branding.brandasset": _brand_asset,
    "branding.scenetemplate": _scene_template,
    "recordings.recording": RecordingFactory,
    "engagement.engagementsettings": _engagement_settings,
    "engagement.comment": _comment,
    "engagement.authorban": _author_ban,
    "engagement.blockedword": _blocked_word,
    "library.mediaclip": _media_clip,
    "library.uploadsession": _upload_session,
    "library.playlist": lambda: _playlist_item().playlist,  # type: ignore[attr-defined]
    "library.playlistitem": _playlist_item,
    "rtc.roomparticipant": _room_participant,
    "token_blacklist.outstandingtoken": _outstanding_token,
    "token_blacklist.blacklistedtoken": _blacklisted_token,
}

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label_lower)
OUR_APPS = {"accounts", "streams", "destinations", "branding", "recordings", "engagement", "library", "rtc"}


@pytest.fixture
def admin_client(client):
    superuser = User.objects.create_superuser(username="root", email="root@example.com", password="admin pass 123!")
    client.force_login(superuser)
    return client


def _build(model: type[Model]) -> Model:
    label = model._meta.label_lower
    builder = BUILDERS.get(label)
    if builder is not None:
        return builder()
    existing = model._default_manager.first()
    assert existing is not None, f"add a builder for {label} to BUILDERS"
    return existing


def test_every_model_of_ours_is_registered():
    from django.apps import apps

    ours = {m._meta.label_lower for m in apps.get_models() if m._meta.app_label in OUR_APPS}
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert ours - registered == set()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label_lower)
def test_changelist_and_change_form_render(admin_client, model):
    obj = _build(model)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200, changelist
    # Search and filters are wired to real fields (a wrong name would be a 500 here).
    model_admin = admin.site._registry[model]
    if model_admin.search_fields:
        assert admin_client.get(changelist, {"q": "x"}).status_code == 200

    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    response = admin_client.get(change)
    assert response.status_code == 200, change
    if model_admin.has_add_permission(response.wsgi_request):
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert admin_client.get(add).status_code == 200, add


def test_stream_keys_never_appear_in_admin_html(admin_client):
    destination = DestinationFactory(stream_key=CANARY_KEY)
    pages = [
        reverse("admin:destinations_streamdestination_changelist"),
        reverse("admin:destinations_streamdestination_change", args=[destination.pk]),
        reverse("admin:streams_stream_change", args=[destination.stream_id]),  # destinations inline
        reverse("admin:streams_stream_changelist"),
    ]
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert CANARY_KEY not in html, url
        assert CANARY_KEY[4:-4] not in html, url
        assert destination.stream_key_encrypted not in html, url  # not even the ciphertext
    assert MASK + "LAST" in admin_client.get(pages[1]).content.decode()
    assert MASK + "LAST" in admin_client.get(pages[2]).content.decode()


def test_oauth_tokens_never_appear_in_admin_html(admin_client):
    account = _connected_account()
    html = admin_client.get(reverse("admin:destinations_connectedaccount_change", args=[account.pk])).content.decode()
    assert "admin-canary-token" not in html
    assert "refresh-canary" not in html
    assert account.access_token_encrypted not in html


def _destination_post(destination: StreamDestination, **extra) -> dict:
    data = {
        "stream": destination.stream_id,
        "platform": destination.platform,
        "name": destination.name,
        "rtmp_url": destination.rtmp_url,
        "canvas": destination.canvas,
        "enabled": "on",
        "status": destination.status,
        "last_error": "",
        "privacy": destination.privacy,
        "platform_state": "",
    }
    data.update(extra)
    return data


def test_admin_sets_a_new_stream_key_without_showing_it(admin_client):
    destination = DestinationFactory(stream_key=CANARY_KEY)
    url = reverse("admin:destinations_streamdestination_change", args=[destination.pk])
    form = admin_client.get(url).content.decode()
    key_input = re.search(r'<input[^>]*name="new_stream_key"[^>]*>', form).group(0)
    assert 'type="password"' in key_input
    assert "value=" not in key_input

    # Saving without a new key keeps the stored one.
    response = admin_client.post(url, _destination_post(destination, name="Renamed"))
    assert response.status_code == 302, response.content.decode()[:2000]
    destination.refresh_from_db()
    assert destination.name == "Renamed"
    assert destination.decrypt_stream_key() == CANARY_KEY

    response = admin_client.post(url, _destination_post(destination, new_stream_key="rotated_key_1234_NEWK"))
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.decrypt_stream_key() == "rotated_key_1234_NEWK"
    assert destination.masked_stream_key == MASK + "NEWK"

    bad = admin_client.post(url, _destination_post(destination, new_stream_key="has a space in it"))
    assert bad.status_code == 200
    assert "spaces or control characters" in bad.content.decode()
    assert "has a space in it" not in bad.content.decode()
    destination.refresh_from_db()
    assert destination.decrypt_stream_key() == "rotated_key_1234_NEWK"

    admin_client.post(url, _destination_post(destination, clear_stream_key="on"))
    destination.refresh_from_db()
    assert not destination.has_stream_key


def test_guest_token_hash_is_neither_editable_nor_shown(admin_client):
    guest = GuestFactory()
    html = admin_client.get(reverse("admin:streams_guest_change", args=[guest.pk])).content.decode()
    assert 'name="token_hash"' not in html
    assert guest.token_hash not in html
    assert admin_client.get(reverse("admin:streams_guest_add")).status_code == 403


def test_admin_actions_go_through_the_services(admin_client):
    live = StreamFactory()
    live.transition(Stream.Status.LIVE)
    live.save()
    scheduled = StreamFactory()
    response = admin_client.post(
        reverse("admin:streams_stream_changelist"),
        {"action": "end_streams", "_selected_action": [live.pk, scheduled.pk]},
        follow=True,
    )
    assert response.status_code == 200
    live.refresh_from_db()
    scheduled.refresh_from_db()
    assert live.status == Stream.Status.ENDED
    assert scheduled.status == Stream.Status.SCHEDULED  # the state machine refused; the admin says why
    assert "cannot become ended" in response.content.decode()

    guest = GuestFactory()
    admin_client.post(reverse("admin:streams_guest_changelist"), {"action": "revoke", "_selected_action": [guest.pk]})
    assert Guest.objects.get(pk=guest.pk).is_revoked


def test_admin_creates_users_with_lowercase_email(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Staff.Member@Example.COM",
            "username": "staffer",
            "tier": "pro",
            "usable_password": "true",
            "password1": "a long admin passphrase 5",
            "password2": "a long admin passphrase 5",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="staffer")
    assert user.email == "staff.member@example.com"
    assert user.tier == "pro"


def test_admin_needs_staff(user_client):
    response = user_client.get(reverse("admin:streams_stream_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_refuses_a_private_destination_host_when_the_url_changes(admin_client, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    destination = DestinationFactory(rtmp_url="rtmp://127.0.0.1:1935/live")  # saved before the rule applied
    url = reverse("admin:destinations_streamdestination_change", args=[destination.pk])

    # Unchanged URL: other edits still save (no DNS lookup on every edit).
    response = admin_client.post(url, _destination_post(destination, name="Kept"))
    assert response.status_code == 302, response.content.decode()[:2000]

    for private in ("rtmp://169.254.169.254/live", "rtmp://10.0.0.8/live", "rtmps://[::ffff:127.0.0.1]/live"):
        response = admin_client.post(url, _destination_post(destination, rtmp_url=private))
        assert response.status_code == 200, private
        assert "private or reserved address" in response.content.decode(), private
        destination.refresh_from_db()
        assert destination.rtmp_url == "rtmp://127.0.0.1:1935/live", private

    # A public address (a literal: no DNS needed) is accepted.
    response = admin_client.post(url, _destination_post(destination, rtmp_url="rtmp://8.8.8.8/live"))
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.rtmp_url == "rtmp://8.8.8.8/live"

    # Adding a destination runs the check too.
    add = admin_client.post(
        reverse("admin:destinations_streamdestination_add"),
        _destination_post(destination, rtmp_url="rtmp://192.168.1.20/live", new_stream_key="added_key_0001"),
    )
    assert add.status_code == 200
    assert "private or reserved address" in add.content.decode()
    assert StreamDestination.objects.count() == 1
