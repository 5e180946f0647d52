"""The rules, on their own: profanity and blocked words, links, repetition, order of verdicts."""

from __future__ import annotations

import pytest

from apps.engagement.models import Comment, ModerationMode
from apps.engagement.moderation import WordMatcher, decide, has_link, is_repetitive, profanity_matcher


@pytest.mark.parametrize(
    "text", ["what the fuck", "F U C K", "f-u-c-k", "fuuuuuck", "sh1t", "\uff26\uff55\uff43\uff4b", "blow job"]
)
def test_profanity_is_found_through_common_disguises(text):
    assert profanity_matcher().find(text)


@pytest.mark.parametrize("text", ["class assignment", "Scunthorpe", "analysis", "assassin", "great show!", "as"])
def test_innocent_words_containing_bad_ones_pass(text):
    assert profanity_matcher().find(text) is None


def test_blocked_words_are_whole_words_and_phrases():
    matcher = WordMatcher(["spoiler", "season finale"])
    assert matcher.find("SPOILER: he dies")
    assert matcher.find("the season  finale was wild")
    assert matcher.find("no spoilers please") is None
    assert not WordMatcher([])


@pytest.mark.parametrize(
    ("text", "linked"),
    [
        ("visit https://evil.example/x", True),
        ("www.example.org", True),
        ("go to bit.ly/3abc", True),
        ("free stuff at example.com", True),
        ("\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d", True),  # full-width
        ("pi is 3.14", False),
        ("i.e. nothing here. ok", False),
    ],
)
def test_links(text, linked):
    assert has_link(text) is linked


def test_repetition_spam():
    assert is_repetitive("!!!!!!!!!!!!!!!")
    assert is_repetitive("buy buy buy buy buy buy now")
    assert not is_repetitive("hahaha that was great!!")


def test_verdict_order():
    common = {"mode": ModerationMode.AUTO_APPROVE, "allow_links": False}
    assert decide(text="hello", **common).status == Comment.Status.APPROVED
    assert decide(text="hello", mode=ModerationMode.HOLD, allow_links=False).status == Comment.Status.PENDING
    assert decide(text="hello", banned=True, **common).reason == "banned"
    assert decide(text="fuck example.com", **common).reason == "profanity"
    assert decide(text="hello", flooded=True, **common).reason == "flood"
    assert decide(text="see example.com", **common) == decide(text="see example.com", **common)
    held = decide(text="see example.com", **common)
    assert (held.status, held.reason) == (Comment.Status.PENDING, "link")
    assert decide(text="see example.com", mode=ModerationMode.AUTO_APPROVE, allow_links=True).status == "approved"
    blocked = decide(text="a spoiler", blocked_words=WordMatcher(["spoiler"]), **common)
    assert (blocked.status, blocked.reason) == (Comment.Status.HIDDEN, "blocked_word")
