"""The moderation rules a comment passes on its way in. Pure functions, except the
flood counter, which needs Redis because an author's rate spans worker processes.

Order (the first rule that fires decides):

1. a banned author is hidden;
2. profanity (the maintained better-profanity word list) or a creator's blocked word is hidden;
3. a flood from one author (more than N comments in the window) is hidden;
4. links (unless the stream allows them) and repetition spam are held for review;
5. otherwise the stream's mode decides: auto-approve, or hold everything for review.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from apps.engagement.models import Comment, ModerationMode

# Where the profanity words come from: the word list shipped inside the
# `better-profanity` package (pinned in requirements/base.txt; upstream
# github.com/snguyenthanh/better_profanity, profanity_wordlist.txt). Its own
# matcher costs ~17 ms a comment, too slow for a 1,000 comments/s chat, so we
# read its list once and match tokens against a set here.
WORDLIST_PACKAGE = "better_profanity"
WORDLIST_FILE = "profanity_wordlist.txt"

# Characters people type instead of letters to slip past filters.
_LEET = str.maketrans({"0": "o", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t", "!": "i", "+": "t"})
_TOKEN = re.compile(r"[\w@$!+]+")
_RUN3 = re.compile(r"(.)\1{2,}")
# Longest phrase we look for, in words ("2 girls 1 cup" is 4).
MAX_PHRASE_WORDS = 4

_TLDS = (
    "com|net|org|io|ly|gg|tv|me|co|xyz|ru|cn|info|biz|link|click|app|dev|live|site|online|shop|top|"
    "us|uk|de|fr|be|to|cc|ws|in|store|stream|win|bet|vip|club|fun|lol|pro|tk|ml|ga|cf|gq"
)
_LINK = re.compile(
    r"(?:https?://|www\.)\S+"  # explicit links
    r"|\b[a-z0-9][a-z0-9-]{0,62}(?:\.[a-z0-9-]{1,63})*\.(?:" + _TLDS + r")\b(?:[/?#]\S*)?",
    re.IGNORECASE,
)
# A character (or emoji) repeated this many times in a row is keyboard mashing or spam.
MAX_CHAR_RUN = 12
# A word repeated this many times in one comment is copy-paste spam.
MAX_WORD_REPEATS = 6


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str = ""


def fold(text: str) -> str:
    """Lower-case, accent-free, width-normalized text: full-width, accented and plain letters compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _normalize_entry(entry: str) -> str:
    words = [w.translate(_LEET) for w in re.split(r"[\s_\-]+", fold(entry)) if w]
    return " ".join(words)


def _tokens(text: str) -> list[str]:
    return [t.translate(_LEET) for t in _TOKEN.findall(fold(text))]


def _variants(token: str) -> set[str]:
    # "fuuuuck" -> "fuck" / "fuuck"; "1" reads as i or l.
    forms = {token, _RUN3.sub(r"\1", token), _RUN3.sub(r"\1\1", token)}
    return forms | {f.replace("1", "i") for f in forms} | {f.replace("1", "l") for f in forms}


class WordMatcher:
    """Finds listed words and phrases in text, whole words only (so "class" never matches "ass")."""

    def __init__(self, entries: Iterable[str]) -> None:
        normalized = {_normalize_entry(e) for e in entries}
        self.entries = frozenset(e for e in normalized if e)
        self.max_words = min(MAX_PHRASE_WORDS, max((e.count(" ") + 1 for e in self.entries), default=1))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def find(self, text: str) -> str | None:
        if not self.entries:
            return None
        tokens = _tokens(text)
        # "f u c k", "f.u.c.k" and "f-u-c-k" arrive as runs of one-letter tokens: also try them joined.
        candidates: list[str] = list(tokens)
        run: list[str] = []
        for token in [*tokens, ""]:
            if len(token) == 1:
                run.append(token)
                continue
            if len(run) >= 3:
                candidates.append("".join(run))
            run = []
        for token in candidates:
            for form in _variants(token):
                if form in self.entries:
                    return form
        if self.max_words > 1:
            for n in range(2, self.max_words + 1):
                for i in range(len(tokens) - n + 1):
                    phrase = " ".join(tokens[i : i + n])
                    if phrase in self.entries:
                        return phrase
        return None


@lru_cache(maxsize=1)
def profanity_matcher() -> WordMatcher:
    text = resources.files(WORDLIST_PACKAGE).joinpath(WORDLIST_FILE).read_text(encoding="utf-8")
    return WordMatcher(line.strip() for line in text.splitlines() if line.strip())


def has_link(text: str) -> bool:
    return bool(_LINK.search(unicodedata.normalize("NFKC", text)))


def is_repetitive(text: str) -> bool:
    """Keyboard mashing ("!!!!!!!!!!!!") or one word pasted over and over."""
    run = 1
    for prev, ch in itertools.pairwise(text):
        run = run + 1 if ch == prev and not ch.isspace() else 1
        if run >= MAX_CHAR_RUN:
            return True
    counts: dict[str, int] = {}
    for token in _TOKEN.findall(fold(text)):
        counts[token] = counts.get(token, 0) + 1
        if counts[token] >= MAX_WORD_REPEATS:
            return True
    return False


def flood_key(stream_id: int, platform: str, author_id: str) -> str:
    return f"engagement:flood:{stream_id}:{platform}:{author_id}"


def count_for_flood(redis: Any, *, stream_id: int, platform: str, author_id: str, window_seconds: int) -> int:
    """Comments from this author in the current window, this one included (fixed window, one round trip)."""
    key = flood_key(stream_id, platform, author_id)
    pipe = redis.pipeline()
    pipe.incr(key)
    # NX: the window starts at the author's first comment and is not pushed back by later ones.
    pipe.expire(key, window_seconds, nx=True)
    count, _ = pipe.execute()
    return int(count)


def count_many_for_flood(redis: Any, keys: list[str], *, window_seconds: int) -> list[int]:
    """`count_for_flood` for many comments in one round trip; the same key may appear several times."""
    if not keys:
        return []
    pipe = redis.pipeline()
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, window_seconds, nx=True)
    results = pipe.execute()
    return [int(count) for count in results[0::2]]


def decide(
    *,
    text: str,
    mode: str,
    allow_links: bool,
    banned: bool = False,
    blocked_words: WordMatcher | None = None,
    flooded: bool = False,
) -> Verdict:
    """The verdict for one sanitized comment (see the module docstring for the order)."""
    if banned:
        return Verdict(Comment.Status.HIDDEN, "banned")
    if profanity_matcher().find(text):
        return Verdict(Comment.Status.HIDDEN, "profanity")
    if blocked_words and blocked_words.find(text):
        return Verdict(Comment.Status.HIDDEN, "blocked_word")
    if flooded:
        return Verdict(Comment.Status.HIDDEN, "flood")
    if not allow_links and has_link(text):
        return Verdict(Comment.Status.PENDING, "link")
    if is_repetitive(text):
        return Verdict(Comment.Status.PENDING, "spam")
    if mode == ModerationMode.HOLD:
        return Verdict(Comment.Status.PENDING)
    return Verdict(Comment.Status.APPROVED)
