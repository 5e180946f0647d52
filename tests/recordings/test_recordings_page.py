"""/recordings/: grouped by show, playable with seeking, downloadable, renamable, deletable; quota meter drawn."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from apps.recordings.models import Recording
from tests.factories import RecordingFactory, StreamFactory
from tests.support.library import stored_files

BODY = bytes(range(256)) * 40  # 10240 known bytes


@pytest.fixture
def recordings(user):
    show_a = StreamFactory(owner=user, title="Monday show")
    show_b = StreamFactory(owner=user, title="Tuesday show")
    program = RecordingFactory(stream=show_a, title="Monday program", file=ContentFile(BODY, name="program.mp4"))
    local = RecordingFactory(
        stream=show_a,
        kind=Recording.Kind.PARTICIPANT,
        title="Ana (local)",
        file=ContentFile(b"x" * 10, name="ana.webm"),
    )
    other = RecordingFactory(stream=show_b, title="Tuesday program")
    return program, local, other


def test_page_lists_recordings_grouped_by_show_with_players(user_client, recordings, other_user):
    program, _local, other = recordings
    RecordingFactory(stream=StreamFactory(owner=other_user), title="Not yours")

    response = user_client.get(reverse("recordings:list"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Not yours" not in page
    sections = {chunk.split('"', 1)[0]: chunk for chunk in page.split('id="show-')[1:]}
    monday, tuesday = sections[str(program.stream_id)], sections[str(other.stream_id)]
    assert "Monday program" in monday and "Ana (local)" in monday and "Participant (local)" in monday
    assert "Tuesday program" in tuesday and "Monday program" not in tuesday
    for r in recordings:
        assert f'src="{reverse("recordings:file", args=[r.pk])}"' in page
        assert f'href="{reverse("recordings:file", args=[r.pk])}?download=1"' in page
    assert '<meter id="quota-meter-bar"' in page


def test_a_show_lists_its_program_first_then_one_local_file_per_person(user_client, recordings):
    program, local, _other = recordings
    bo = RecordingFactory.create(stream=program.stream, kind=Recording.Kind.PARTICIPANT, title="Bo (local)")

    page = user_client.get(reverse("recordings:list")).content.decode()

    show = page.split(f'id="show-{program.stream_id}"', 1)[1].split('id="show-', 1)[0]
    rows = [show.index(f'id="recording-{r.pk}"') for r in (program, bo, local)]
    assert rows == sorted(rows)  # program, then the local files, newest first
    assert "3 files" in show


def test_nav_link_lands_on_this_page(user_client, recordings):
    assert reverse("recordings") == reverse("recordings:list")
    assert user_client.get(reverse("recordings")).resolver_match.func.__module__ == "apps.recordings.views"


def test_play_supports_ranges_so_the_player_can_seek(user_client, recordings):
    url = reverse("recordings:file", args=[recordings[0].pk])

    whole = user_client.get(url)
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Length"] == str(len(BODY))
    assert whole["Content-Type"] == "video/mp4"
    assert b"".join(whole.streaming_content) == BODY

    middle = user_client.get(url, HTTP_RANGE="bytes=1000-1999")
    assert middle.status_code == 206
    assert middle["Content-Range"] == f"bytes 1000-1999/{len(BODY)}"
    assert b"".join(middle.streaming_content) == BODY[1000:2000]

    tail = user_client.get(url, HTTP_RANGE="bytes=-100")
    assert tail.status_code == 206
    assert b"".join(tail.streaming_content) == BODY[-100:]

    open_ended = user_client.get(url, HTTP_RANGE="bytes=10000-")
    assert b"".join(open_ended.streaming_content) == BODY[10000:]

    beyond = user_client.get(url, HTTP_RANGE=f"bytes={len(BODY)}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(BODY)}"


def test_file_responses_carry_security_headers(user_client, recordings):
    url = reverse("recordings:file", args=[recordings[1].pk])
    for response in (user_client.get(url), user_client.get(url + "?download=1")):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response["Content-Type"] == "video/webm"
    assert user_client.get(url)["Content-Disposition"] == 'inline; filename="Ana (local).webm"'
    assert user_client.get(url + "?download=1")["Content-Disposition"] == 'attachment; filename="Ana (local).webm"'


def test_other_peoples_recordings_are_404(client, other_user, recordings):
    client.force_login(other_user)
    program = recordings[0]
    assert client.get(reverse("recordings:file", args=[program.pk])).status_code == 404
    assert client.post(reverse("recordings:rename", args=[program.pk]), {"title": "Mine"}).status_code == 404
    assert client.post(reverse("recordings:delete", args=[program.pk])).status_code == 404
    program.refresh_from_db()
    assert program.title == "Monday program"


def test_anonymous_is_sent_to_login(client, recordings):
    response = client.get(reverse("recordings:file", args=[recordings[0].pk]))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_rename_with_htmx_returns_the_row(user_client, recordings):
    program = recordings[0]
    response = user_client.post(
        reverse("recordings:rename", args=[program.pk]), {"title": "  Best of Monday "}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert f'id="recording-{program.pk}"' in response.content.decode()
    assert "Best of Monday" in response.content.decode()
    program.refresh_from_db()
    assert program.title == "Best of Monday"


def test_rename_to_blank_is_refused(user_client, recordings):
    program = recordings[0]
    response = user_client.post(
        reverse("recordings:rename", args=[program.pk]), {"title": "  "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert "Give the recording a title." in response.content.decode()
    program.refresh_from_db()
    assert program.title == "Monday program"


def test_delete_removes_row_and_file(user_client, recordings, settings, django_capture_on_commit_callbacks):
    program = recordings[0]
    name = program.file.name
    assert name in stored_files(settings.MEDIA_ROOT)

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(reverse("recordings:delete", args=[program.pk]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert not Recording.objects.filter(pk=program.pk).exists()
    assert name not in stored_files(settings.MEDIA_ROOT)
    assert user_client.get(reverse("recordings:file", args=[program.pk])).status_code == 404


def test_quota_meter_shows_usage(user_client, user):
    RecordingFactory(stream=StreamFactory(owner=user), size_bytes=1024**3 + 1024**3 // 2)
    page = user_client.get(reverse("recordings:list")).content.decode()
    assert "1.5 GB of 5.0 GB" in page
    assert 'value="30"' in page
