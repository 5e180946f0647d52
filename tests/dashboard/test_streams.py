"""Dashboard flows for streams with the test client: full pages and the HTMX fragments."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory

pytestmark = pytest.mark.django_db


def is_fragment(response) -> bool:
    html = response.content.decode()
    return "<html" not in html and "<body" not in html


def toast_text(response) -> str:
    return json.loads(response["HX-Trigger"])["streamus:toast"]["text"]


def test_dashboard_needs_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_empty_state_has_a_call_to_action(user_client):
    response = user_client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No streams yet" in html
    assert "Create your first stream" in html
    assert f'hx-get="{reverse("stream_create")}"' in html


def test_dashboard_lists_only_my_streams_with_status_schedule_and_destinations(user_client, user, other_user):
    mine = StreamFactory(owner=user, title="My Friday show", scheduled_start=datetime(2031, 3, 7, 19, 30, tzinfo=UTC))
    DestinationFactory.create_batch(2, stream=mine)
    live = StreamFactory(owner=user, title="On air now")
    live.transition(Stream.Status.LIVE)
    live.save()
    StreamFactory(owner=other_user, title="Somebody else's show")

    response = user_client.get(reverse("dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="stream-{mine.id}"' in html
    assert f'id="stream-{live.id}"' in html
    assert "Somebody else" not in html
    assert "2 destinations" in html
    assert 'datetime="2031-03-07T19:30:00+00:00"' in html
    assert 'class="badge badge-live"' in html
    assert 'class="badge badge-scheduled"' in html
    assert f'href="{reverse("stream_detail", args=[mine.id])}"' in html
    # A live show cannot be deleted from the list: its row offers no delete button.
    live_row = html[html.index(f'id="stream-{live.id}"') :].split("</li>", 1)[0]
    assert reverse("stream_delete", args=[live.id]) not in live_row


def test_htmx_dashboard_request_gets_only_the_list(htmx, user):
    StreamFactory(owner=user, title="Fragment show")
    response = htmx.get(reverse("dashboard"))
    assert response.status_code == 200
    assert is_fragment(response)
    assert 'id="stream-list"' in response.content.decode()


def test_create_form_fragment_then_create(htmx, user):
    form = htmx.get(reverse("stream_create"))
    assert form.status_code == 200
    assert is_fragment(form)
    assert 'hx-post="/streams/new/"' in form.content.decode()

    response = htmx.post(
        reverse("stream_create"),
        {
            "title": "Launch day",
            "description": "We ship!",
            "resolution": "720p",
            "fps": "30",
            "video_bitrate_kbps": "3000",
            "audio_bitrate_kbps": "128",
            "layout": "side_by_side",
            "recording_enabled": "on",
            "recording_format": "mp4",
        },
    )
    assert response.status_code == 200
    assert is_fragment(response)
    stream = Stream.objects.get(owner=user, title="Launch day")
    assert (stream.resolution, stream.fps, stream.layout, stream.recording_enabled) == (
        "720p",
        30,
        "side_by_side",
        True,
    )
    assert stream.vertical_canvas is False
    html = response.content.decode()
    # The list and the counters are swapped out of band; the create panel gets the (empty) rest.
    assert 'id="stream-list" hx-swap-oob="true"' in html
    assert 'id="dashboard-stats" hx-swap-oob="true"' in html
    assert f'id="stream-{stream.id}"' in html
    assert "Launch day" in toast_text(response)


def test_create_errors_are_shown_in_place(htmx, user):
    response = htmx.post(
        reverse("stream_create"),
        {
            "title": "",
            "resolution": "1080p",
            "fps": "30",
            "video_bitrate_kbps": "100",
            "audio_bitrate_kbps": "160",
            "layout": "grid",
            "recording_format": "mp4",
        },
    )
    assert response.status_code == 422
    assert is_fragment(response)
    html = response.content.decode()
    assert "This field is required." in html
    assert "has-error" in html
    assert not Stream.objects.filter(owner=user).exists()


def test_service_errors_land_on_their_field(htmx, user):
    # A stream made at 2160p before the owner's plan became Free: the form still offers the current
    # resolution, the service refuses it, and the form shows why under the resolution field.
    stream = StreamFactory(owner=user, title="Made on Pro", resolution="2160p", fps=30)
    response = htmx.post(
        reverse("stream_edit", args=[stream.id]),
        {
            "title": "Still 4K",
            "resolution": "2160p",
            "fps": "30",
            "video_bitrate_kbps": "20000",
            "audio_bitrate_kbps": "160",
            "layout": "grid",
            "recording_format": "mp4",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "The Free plan streams and records up to 1080p30" in html
    field = html[html.index('id="id_resolution"') :]
    assert field.index("The Free plan") < field.index('id="id_fps"')  # the message sits under its own field
    stream.refresh_from_db()
    assert stream.title == "Made on Pro"  # nothing half-saved


def test_one_submit_shows_every_problem(htmx, user):
    # A missing title (the form's), bitrates out of range (the model's) and a bitrate too low for the
    # picture (the model's own rule) are all reported after one submit, each under its field.
    response = htmx.post(
        reverse("stream_create"),
        {
            "title": "",
            "resolution": "720p",
            "fps": "30",
            "video_bitrate_kbps": "900",
            "audio_bitrate_kbps": "1",
            "layout": "grid",
            "recording_format": "mp4",
        },
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) == {"title", "video_bitrate_kbps", "audio_bitrate_kbps"}
    assert "720p needs at least 1000 kbps" in errors["video_bitrate_kbps"][0]
    assert errors["title"] == ["This field is required."]  # once, not again from the model
    assert not Stream.objects.filter(owner=user).exists()


def test_schedule_is_read_in_the_creators_time_zone(user_client, user):
    user_client.cookies["streamus_tz"] = "Europe/Paris"
    response = user_client.post(
        reverse("stream_create"),
        {
            "title": "Evening in Paris",
            "scheduled_start": "2031-01-15T20:00",
            "resolution": "1080p",
            "fps": "30",
            "video_bitrate_kbps": "4500",
            "audio_bitrate_kbps": "160",
            "layout": "grid",
            "recording_format": "mp4",
        },
    )
    stream = Stream.objects.get(title="Evening in Paris")
    assert response.status_code == 302
    assert response["Location"] == reverse("stream_detail", args=[stream.id])
    assert stream.scheduled_start == datetime(2031, 1, 15, 19, 0, tzinfo=UTC)  # 20:00 CET
    # And it comes back in the same zone in the edit form.
    form = user_client.get(reverse("stream_edit", args=[stream.id]))
    assert 'value="2031-01-15T20:00"' in form.content.decode()


def test_scheduling_in_the_past_is_refused(htmx, user):
    response = htmx.post(
        reverse("stream_create"),
        {
            "title": "Yesterday",
            "scheduled_start": "2001-01-01T10:00",
            "resolution": "1080p",
            "fps": "30",
            "video_bitrate_kbps": "4500",
            "audio_bitrate_kbps": "160",
            "layout": "grid",
            "recording_format": "mp4",
        },
    )
    assert response.status_code == 422
    assert "Pick a time in the future." in response.content.decode()


def test_full_page_create_form(user_client):
    response = user_client.get(reverse("stream_create"))
    assert response.status_code == 200
    assert "<html" in response.content.decode()


def _settings(stream: Stream, **changes) -> dict:
    data = {
        "title": stream.title,
        "description": stream.description,
        "resolution": stream.resolution,
        "fps": str(stream.fps),
        "video_bitrate_kbps": str(stream.video_bitrate_kbps),
        "audio_bitrate_kbps": str(stream.audio_bitrate_kbps),
        "layout": stream.layout,
        "recording_format": stream.recording_format,
    }
    if stream.recording_enabled:
        data["recording_enabled"] = "on"
    data.update(changes)
    return data


def test_inline_edit_swaps_the_row(htmx, stream):
    form = htmx.get(reverse("stream_edit", args=[stream.id]))
    assert form.status_code == 200
    assert is_fragment(form)
    html = form.content.decode()
    assert f'<li class="list-row is-editing" id="stream-{stream.id}">' in html
    assert f'value="{stream.title}"' in html

    cancel = htmx.get(reverse("stream_row", args=[stream.id]))
    assert f'<li class="list-row" id="stream-{stream.id}">' in cancel.content.decode()

    response = htmx.post(reverse("stream_edit", args=[stream.id]), _settings(stream, title="Renamed show", fps="25"))
    assert response.status_code == 200
    assert is_fragment(response)
    html = response.content.decode()
    assert f'<li class="list-row" id="stream-{stream.id}">' in html
    assert "Renamed show" in html
    stream.refresh_from_db()
    assert (stream.title, stream.fps) == ("Renamed show", 25)
    assert toast_text(response) == "Stream saved."


def test_inline_edit_errors_stay_in_the_row(htmx, stream):
    response = htmx.post(reverse("stream_edit", args=[stream.id]), _settings(stream, video_bitrate_kbps="100"))
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="stream-{stream.id}"' in html
    assert "1080p needs at least 2500 kbps" in html
    stream.refresh_from_db()
    assert stream.video_bitrate_kbps == 4500


def test_live_stream_settings_are_locked_but_title_can_change(htmx, stream):
    stream.transition(Stream.Status.LIVE)
    stream.save()
    response = htmx.post(
        reverse("stream_edit", args=[stream.id]), _settings(stream, title="Still live", resolution="720p")
    )
    assert response.status_code == 200
    stream.refresh_from_db()
    assert stream.title == "Still live"
    assert stream.resolution == "1080p"  # disabled field: the posted value is ignored


def test_delete_removes_the_row_and_shows_the_empty_state(htmx, user):
    first, second = StreamFactory(owner=user), StreamFactory(owner=user)
    response = htmx.post(reverse("stream_delete", args=[first.id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="dashboard-stats" hx-swap-oob="true"' in html
    assert "No streams yet" not in html  # one is left
    assert not Stream.objects.filter(pk=first.pk).exists()

    response = htmx.post(reverse("stream_delete", args=[second.id]))
    html = response.content.decode()
    assert 'id="stream-list" hx-swap-oob="true"' in html
    assert "No streams yet" in html
    assert not Stream.objects.filter(owner=user).exists()


def test_delete_of_a_live_stream_is_refused_with_a_message(htmx, user_client, stream):
    stream.transition(Stream.Status.LIVE)
    stream.save()
    response = htmx.post(reverse("stream_delete", args=[stream.id]))
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert toast_text(response) == "End the stream before deleting it."
    assert Stream.objects.filter(pk=stream.pk).exists()

    page = user_client.post(reverse("stream_delete", args=[stream.id]), follow=True)
    assert "End the stream before deleting it." in page.content.decode()


def test_delete_without_htmx_redirects(user_client, stream):
    response = user_client.post(reverse("stream_delete", args=[stream.id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert not Stream.objects.filter(pk=stream.pk).exists()
    assert user_client.get(reverse("stream_delete", args=[stream.id])).status_code == 405


def test_detail_page_shows_settings_destinations_guests_and_recordings(user_client, stream):
    response = user_client.get(reverse("stream_detail", args=[stream.id]))
    assert response.status_code == 200
    html = response.content.decode()
    for section in ['id="destinations"', 'id="guests"', 'id="stream-recordings"', 'id="stream-settings"']:
        assert section in html
    assert "Nowhere to go live yet" in html
    assert "No guests invited" in html
    assert "1080p at 30 fps" in html


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "stream_detail"),
        ("get", "stream_row"),
        ("get", "stream_edit"),
        ("post", "stream_edit"),
        ("post", "stream_delete"),
        ("post", "guest_invite"),
        ("get", "destination_create"),
        ("post", "destination_create"),
    ],
)
def test_other_users_stream_is_404(user_client, other_user, method, name):
    theirs = StreamFactory(owner=other_user, title="Not yours")
    kwargs = {"stream_pk": theirs.id} if name.startswith("destination") else {"pk": theirs.id}
    response = getattr(user_client, method)(reverse(name, kwargs=kwargs))
    assert response.status_code == 404
    assert Stream.objects.get(pk=theirs.pk).title == "Not yours"


def test_an_empty_post_is_an_error_not_a_blank_form(htmx, user):
    response = htmx.post(reverse("stream_create"), {})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not Stream.objects.filter(owner=user).exists()
