"""comment_ingest and the moderation actions: rows, Redis card, events on commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from apps.engagement import realtime, services
from apps.engagement.models import AuthorBan, Comment, ModerationMode
from tests.factories import BrandKitFactory


def ingest(stream, message_id, text="hello there", author_id="u1", **kwargs):
    return services.comment_ingest(
        stream=stream,
        platform=kwargs.pop("platform", "youtube"),
        message_id=message_id,
        author_name=kwargs.pop("author_name", "Ann"),
        author_id=author_id,
        text=text,
        **kwargs,
    )


def test_ingest_stores_sanitized_comment_and_announces_it(stream, listen, django_capture_on_commit_callbacks):
    listener = listen(stream.pk)
    sent = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        comment = ingest(
            stream,
            "m1",
            text="<script>alert(1)</script>great \u202eshow",
            author_name="<b>Ann</b>",
            avatar_url="https://yt3.example/a.jpg",
            sent_at=sent,
        )
    assert comment is not None
    comment.refresh_from_db()
    assert (comment.text, comment.author_name, comment.status) == ("great show", "Ann", Comment.Status.APPROVED)
    assert comment.raw_text_length == len("<script>alert(1)</script>great \u202eshow")
    assert comment.created_at == sent
    events = listener.drain()
    assert [e["type"] for e in events] == ["comment.created"]
    assert events[0]["comment"]["id"] == comment.pk
    assert events[0]["comment"]["text"] == "great show"


def test_ingest_never_duplicates(stream, listen, django_capture_on_commit_callbacks):
    listener = listen(stream.pk)
    with django_capture_on_commit_callbacks(execute=True):
        first = ingest(stream, "same-id")
        again = ingest(stream, "same-id", text="edited")
    assert first is not None and again is None
    assert Comment.objects.filter(stream=stream).count() == 1
    assert len(listener.drain()) == 1
    # The same id on another platform is another comment.
    assert ingest(stream, "same-id", platform="twitch") is not None


def test_bad_avatar_urls_are_dropped(stream):
    for n, url in enumerate(["javascript:alert(1)", "http://plain.example/a.png", 'https://x.example/"onerror=', "x"]):
        comment = ingest(stream, f"a{n}", avatar_url=url)
        assert comment is not None and comment.avatar_url == ""


def test_ingest_rejects_bad_input(stream):
    with pytest.raises(ValidationError):
        ingest(stream, "")
    with pytest.raises(ValidationError):
        ingest(stream, "x", platform="myspace")


def test_hold_mode_and_rules(stream, user):
    assert ingest(stream, "1", text="see example.com").moderation_reason == "link"
    assert ingest(stream, "2", text="what the fuck").status == Comment.Status.HIDDEN
    services.blocked_word_add(owner=user, word="Spoiler")
    assert ingest(stream, "3", text="SPOILER alert").moderation_reason == "blocked_word"
    services.moderation_mode_set(stream=stream, mode=ModerationMode.HOLD)
    held = ingest(stream, "4", text="nice", author_id="u2")
    assert (held.status, held.moderation_reason) == (Comment.Status.PENDING, "")


def test_flood_from_one_author_is_hidden_after_the_limit(stream):
    options = services.engagement_settings_for(stream)
    statuses = [ingest(stream, f"f{n}", text=f"message {n}", author_id="flooder").status for n in range(8)]
    assert statuses[: options.flood_max_comments] == [Comment.Status.APPROVED] * options.flood_max_comments
    assert set(statuses[options.flood_max_comments :]) == {Comment.Status.HIDDEN}
    # Other authors are not affected, and duplicates do not count towards the flood.
    assert ingest(stream, "other", author_id="calm").status == Comment.Status.APPROVED
    for _ in range(20):
        ingest(stream, "d0", author_id="calm")
    assert ingest(stream, "other2", author_id="calm").status == Comment.Status.APPROVED


def test_ban_hides_past_comments_and_future_ones_on_all_shows(stream, user, listen, django_capture_on_commit_callbacks):
    from tests.factories import StreamFactory

    comment = ingest(stream, "b1", author_id="troll")
    listener = listen(stream.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.author_ban(stream=stream, platform="youtube", author_id="troll", author_name="Troll")
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HIDDEN
    assert AuthorBan.objects.filter(owner=user, platform="youtube", author_id="troll").exists()
    assert {e["type"] for e in listener.drain()} == {"comment.updated", "comment.author_banned"}
    later = ingest(StreamFactory(owner=user), "b2", author_id="troll")
    assert (later.status, later.moderation_reason) == (Comment.Status.HIDDEN, "banned")
    # Same author id on another platform is another person.
    assert ingest(stream, "b3", author_id="troll", platform="twitch").status == Comment.Status.APPROVED


def test_approve_hide_pin(stream, listen, django_capture_on_commit_callbacks):
    a = ingest(stream, "p1", text="see example.com")
    b = ingest(stream, "p2", author_id="u9")
    listener = listen(stream.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_approve(comment=a)
        services.comment_pin(comment=a)
        services.comment_pin(comment=b)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == Comment.Status.APPROVED and not a.pinned and b.pinned
    assert all(e["type"] == "comment.updated" for e in listener.drain())
    services.comment_hide(comment=b)
    b.refresh_from_db()
    assert b.status == Comment.Status.HIDDEN and not b.pinned
    with pytest.raises(ValidationError):
        services.comment_pin(comment=b)


def test_show_on_screen_writes_the_card_and_take_off_clears_it(stream, listen, django_capture_on_commit_callbacks):
    stream.brand_kit = BrandKitFactory(owner=stream.owner, primary_colour="#112233", accent_colour="#FFEE00")
    stream.save()
    first = ingest(stream, "s1", text="first", author_name="zoe")
    second = ingest(stream, "s2", text="second <b>one</b>", author_name="Max", avatar_url="https://a.example/m.png")
    listener = listen(stream.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_show_on_screen(comment=first)
    card = json.loads(realtime.redis_client_str().get(f"stream:{stream.pk}:comment_card"))
    assert (card["author"], card["initial"], card["text"]) == ("zoe", "Z", "first")
    assert card["colours"] == {"background": "#112233", "text": "#FFEE00"}
    assert card["badge"]["label"] == "YouTube" and card["auto_hide_seconds"] == 10
    assert 0 < realtime.redis_client_str().ttl(f"stream:{stream.pk}:comment_card") <= 15

    with django_capture_on_commit_callbacks(execute=True):
        services.comment_show_on_screen(comment=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.shown_on_screen_at is None and second.shown_on_screen_at is not None
    card = realtime.read_card(stream.pk)
    assert (card["comment_id"], card["text"], card["avatar_url"]) == (
        second.pk,
        "second one",
        "https://a.example/m.png",
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.comment_take_off_screen(stream=stream)
    assert realtime.read_card(stream.pk) is None
    second.refresh_from_db()
    assert second.shown_on_screen_at is None
    types = [e["type"] for e in listener.drain()]
    assert types.count("comment.on_screen") == 2 and types[-1] == "comment.off_screen"


def test_hidden_comment_cannot_go_on_screen_and_hiding_takes_it_off(stream, django_capture_on_commit_callbacks):
    comment = ingest(stream, "h1")
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_show_on_screen(comment=comment)
        services.comment_hide(comment=comment)
    assert realtime.read_card(stream.pk) is None
    with pytest.raises(ValidationError):
        services.comment_show_on_screen(comment=comment)


def test_webhook_signature(stream):
    secret = services.webhook_secret_rotate(stream=stream)
    options = services.engagement_settings_for(stream)
    assert secret not in options.webhook_secret_encrypted
    body = b'{"id": "1"}'
    sig = services.webhook_signature(secret, "1000", body)
    services.webhook_verify(stream=stream, timestamp="1000", signature=sig, body=body, now=1000)
    for ts, signature, data, now in [
        ("1000", sig, b'{"id": "2"}', 1000),  # body changed
        ("1000", sig, body, 1000 + 301),  # replayed later
        ("1000", "sha256=00", body, 1000),
        ("nope", sig, body, 1000),
    ]:
        with pytest.raises(ValidationError):
            services.webhook_verify(stream=stream, timestamp=ts, signature=signature, body=data, now=now)


def test_ingest_many_stores_a_burst_once_in_order_and_counts_floods(stream, listen, django_capture_on_commit_callbacks):
    from apps.engagement.services import IncomingMessage, comments_ingest_many

    ingest(stream, "known", author_id="a0")
    burst = [IncomingMessage("twitch", f"t{n}", "Ann", f"message {n}", author_id="a1") for n in range(7)]
    burst += [
        IncomingMessage("twitch", "t0", "Ann", "repeat inside the burst", author_id="a1"),
        IncomingMessage("youtube", "known", "Ann", "already stored", author_id="a0"),
        IncomingMessage("myspace", "x", "Ann", "bad platform"),
        IncomingMessage("twitch", "t-script", "<b>Eve</b>", "<script>x()</script>ok", author_id="a2"),
    ]
    listener = listen(stream.pk)
    with django_capture_on_commit_callbacks(execute=True):
        created = comments_ingest_many(stream=stream, messages=burst)
    assert [c.platform_message_id for c in created] == [f"t{n}" for n in range(7)] + ["t-script"]
    assert created[-1].text == "ok" and created[-1].author_name == "Eve"
    # Flood: the first 5 of author a1 pass, the rest are hidden; the repeat did not count.
    assert [c.status for c in created[:7]] == ["approved"] * 5 + ["hidden"] * 2
    (event,) = listener.drain()
    assert event["type"] == "comment.created_many"
    assert [c["id"] for c in event["comments"]] == [c.pk for c in created]
    assert Comment.objects.filter(stream=stream).count() == 9
    assert comments_ingest_many(stream=stream, messages=burst) == []


def test_platform_deletion_hides_our_copy(stream):
    comment = ingest(stream, "tw-1", platform="twitch")
    services.comment_hide_platform_message(stream=stream, platform="twitch", message_id="tw-1")
    comment.refresh_from_db()
    assert comment.status == Comment.Status.HIDDEN
    assert services.comment_hide_platform_message(stream=stream, platform="twitch", message_id="nope") is None


def test_rolling_queue_shows_comments_one_after_another(stream, django_capture_on_commit_callbacks):
    first, second, hidden = (ingest(stream, f"q{n}", text=f"queued {n}", author_id=f"q{n}") for n in range(3))
    services.comment_hide(comment=hidden)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.comment_queue_on_screen(comment=first) == 1
        assert services.comment_queue_on_screen(comment=second) == 2
        assert services.comment_queue_on_screen(comment=first) == 2  # queued once at most
        realtime.redis_client_str().rpush(realtime.card_queue_key(stream.pk), hidden.pk)  # hidden after queueing
        assert services.card_queue_advance(stream=stream) is True
    card = realtime.read_card(stream.pk)
    assert card["comment_id"] == second.pk  # re-queueing `first` moved it behind `second`
    # While the card shows, the queue waits; once it has auto-hidden, the next one goes up.
    assert services.card_queue_advance(stream=stream, now=card["shown_at"] + 5) is False
    with django_capture_on_commit_callbacks(execute=True):
        assert services.card_queue_advance(stream=stream, now=card["shown_at"] + 11) is True
    assert realtime.read_card(stream.pk)["comment_id"] == first.pk
    # The hidden comment is skipped, and the queue is then empty.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.card_queue_advance(stream=stream, now=card["shown_at"] + 30) is False
    assert realtime.read_card(stream.pk)["comment_id"] == first.pk
