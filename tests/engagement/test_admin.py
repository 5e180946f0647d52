"""The admin manages blocked words and bans through the moderation services: the same rules, in effect at once."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from apps.engagement import services
from apps.engagement.models import AuthorBan, BlockedWord, Comment
from tests.factories import StreamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def say(stream, text: str, author_id: str = "viewer") -> Comment:
    comment = services.comment_ingest(
        stream=stream, platform="custom", message_id=uuid.uuid4().hex, author_name="V", author_id=author_id, text=text
    )
    assert comment is not None
    return comment


def test_a_blocked_word_added_in_the_admin_holds_the_next_comment(admin_client):
    stream = StreamFactory()
    assert say(stream, "what a BADWORD show").status == Comment.Status.APPROVED  # the list is read (and cached) now
    response = admin_client.post(
        reverse("admin:engagement_blockedword_add"), {"owner": stream.owner_id, "word": "  BadWord ", "_save": "Save"}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert list(BlockedWord.objects.values_list("word", flat=True)) == ["badword"], "stored as moderation matches it"
    held = say(stream, "another BADWORD moment")
    assert (held.status, held.moderation_reason) == (Comment.Status.HIDDEN, "blocked_word"), "in effect at once"

    word = BlockedWord.objects.get()
    response = admin_client.post(reverse("admin:engagement_blockedword_delete", args=[word.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert say(stream, "BADWORD is fine again").status == Comment.Status.APPROVED


def test_an_empty_blocked_word_is_refused_with_a_message(admin_client):
    owner = UserFactory()
    response = admin_client.post(
        reverse("admin:engagement_blockedword_add"), {"owner": owner.pk, "word": "   ", "_save": "Save"}
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not BlockedWord.objects.exists()


def test_a_ban_lifted_in_the_admin_lets_the_author_speak_again(admin_client):
    stream = StreamFactory()
    services.author_ban(stream=stream, platform="custom", author_id="troll", author_name="Troll")
    assert say(stream, "hello", author_id="troll").status == Comment.Status.HIDDEN
    assert admin_client.get(reverse("admin:engagement_authorban_add")).status_code == 403, "bans come from a comment"
    ban = AuthorBan.objects.get()
    response = admin_client.post(reverse("admin:engagement_authorban_delete", args=[ban.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not AuthorBan.objects.exists()
    assert say(stream, "hello again", author_id="troll").status == Comment.Status.APPROVED, "in effect at once"
