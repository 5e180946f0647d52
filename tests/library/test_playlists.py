"""Playlists: ordered lists of processed clips, edited from the library page; sources for the compositor."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.library import selectors, services
from apps.library.models import MediaClip, Playlist
from tests.factories import UserFactory


def clip(owner, title, seconds=2.0, status=MediaClip.Status.READY):
    made = MediaClip.objects.create(
        owner=owner, title=title, status=status, duration_seconds=seconds, width=1280, height=720, fps=30.0
    )
    MediaClip.objects.filter(pk=made.pk).update(mezzanine=f"library/{owner.pk}/{made.uid}/mezzanine.mp4")
    made.refresh_from_db()
    return made


def order(playlist):
    return [item.clip.title for item in playlist.items.select_related("clip")]


def test_create_playlist_from_the_page_and_reorder(user_client, user):
    intro, talk, outro = clip(user, "Intro", 3), clip(user, "Talk", 10), clip(user, "Outro", 2)

    user_client.post(
        reverse("library:playlist_create"), {"name": "Show open", "clips": [str(intro.pk), str(outro.pk), str(talk.pk)]}
    )

    playlist = Playlist.objects.get(owner=user)
    assert order(playlist) == ["Intro", "Outro", "Talk"]
    user_client.post(reverse("library:playlist_edit", args=[playlist.pk]), {"action": "up", "index": "2"})
    assert order(playlist) == ["Intro", "Talk", "Outro"]
    user_client.post(reverse("library:playlist_edit", args=[playlist.pk]), {"action": "remove", "index": "0"})
    assert order(playlist) == ["Talk", "Outro"]
    page = user_client.get(reverse("library:clips")).content.decode()
    assert 'id="playlist-' in page and "Show open" in page

    sources = selectors.playlist_sources(playlist)
    assert [s["source"] for s in sources] == [f"clip:{talk.pk}", f"clip:{outro.pk}"]
    assert sources[0]["name"].endswith("mezzanine.mp4") and sources[0]["fps"] == 30
    assert selectors.playlist_duration(playlist) == 12


def test_only_own_processed_clips(user):
    stranger_clip = clip(UserFactory(), "Not mine")
    waiting = clip(user, "Waiting", status=MediaClip.Status.PROCESSING)
    with pytest.raises(ValidationError, match="your own library"):
        services.playlist_create(owner=user, name="A", clip_ids=[stranger_clip.pk])
    with pytest.raises(ValidationError, match="Only processed clips"):
        services.playlist_create(owner=user, name="B", clip_ids=[waiting.pk])
    with pytest.raises(ValidationError, match="at least one"):
        services.playlist_create(owner=user, name="C", clip_ids=[])
    assert not Playlist.objects.exists()


def test_deleting_a_clip_takes_it_out_of_playlists(user):
    keep, drop = clip(user, "Keep"), clip(user, "Drop")
    playlist = services.playlist_create(owner=user, name="P", clip_ids=[drop.pk, keep.pk])
    services.clip_delete(clip=drop, by=user)
    assert order(playlist) == ["Keep"]


def test_other_peoples_playlists_are_404(client, user):
    playlist = services.playlist_create(owner=user, name="Mine", clip_ids=[clip(user, "A").pk])
    client.force_login(UserFactory())
    assert client.post(reverse("library:playlist_delete", args=[playlist.pk])).status_code == 404
    assert (
        client.post(
            reverse("library:playlist_edit", args=[playlist.pk]), {"action": "remove", "index": "0"}
        ).status_code
        == 404
    )
    assert Playlist.objects.filter(pk=playlist.pk).exists()
