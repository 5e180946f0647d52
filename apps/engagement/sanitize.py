"""Turn untrusted chat text into safe plain text. Pure functions, no I/O.

Comments come from strangers on four platforms and end up in the studio page,
in the moderation panel and burned into the program video. What we store is
plain text that needs no further cleaning, only the usual escaping by the
template engine:

1. markup is removed (tags dropped, `<script>`/`<style>` bodies dropped, entities decoded);
2. characters that change how *surrounding* text renders are removed: bidi
   embeddings, overrides and isolates (U+202A..202E, U+2066..2069) and the marks
   U+200E/200F/061C that are abused to flip a name or hide a link;
3. control and invisible format characters are removed, except those emoji and
   scripts need (ZWJ U+200D, ZWNJ U+200C, variation selectors, the tag
   characters of subdivision flags);
4. combining marks are capped per base character (zalgo text);
5. whitespace runs collapse to one space;
6. the result is capped to a length, never cutting an emoji sequence in half.

Steps 1-5 repeat until the text no longer changes (a fixed point): decoding `&amp;lt;` gives `&lt;`, removing
an invisible character can join `<` to a letter, removing a tag can join `<` to the rest of another. Text still
changing after MAX_PASSES was built to nest; it loses every `<` and `&`. Finally a `<` that still starts
something a browser could read as a tag (`<` then a letter, `/`, `!` or `?`: "a <b" at the end of a comment)
gets a space after it. So nothing with `<` followed by a letter ever comes out, and sanitizing the output
again changes nothing (tests/engagement/test_sanitize_fixed_point.py fuzzes both with hypothesis).
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

from media.scene.graphemes import TAG_RANGE, ZWJ, is_variation_selector, joins_previous

DEFAULT_MAX_LENGTH = 500
# Real scripts stack at most 3 marks on a letter after NFC (Vietnamese, Thai, Devanagari);
# zalgo stacks dozens. A keycap emoji is digit + VS16 + U+20E3: variation selectors are not counted.
MAX_COMBINING_PER_BASE = 3
# Work on at most this much input: a 1 MB "comment" must not cost 1 MB of parsing.
MAX_INPUT_LENGTH = 20_000
ELLIPSIS = "\u2026"
# Passes of steps 1-5 before nested input is flattened: real text needs one or two (an entity in a
# platform's already-escaped text); each pass is linear in the (capped) input.
MAX_PASSES = 16
# `<` starting a tag, an end tag, a comment/doctype or a processing instruction, for a browser.
_TAG_START = re.compile(r"<(?=[^\W\d_]|[/!?])")

BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]  # LRE RLE PDF LRO RLO
    + [chr(c) for c in range(0x2066, 0x206A)]  # LRI RLI FSI PDI
    + ["\u200e", "\u200f", "\u061c"]  # LRM RLM ALM
)
ZWNJ = "\u200c"
BLACK_FLAG = "\U0001f3f4"  # base of the subdivision flags (England, Scotland, Wales)
_SKIPPED_ELEMENTS = frozenset({"script", "style", "template", "noscript", "iframe", "object", "textarea", "title"})


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, skipping the contents of script-like elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self._skip_depth += 1
        elif tag in {"br", "p", "div", "li"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_ELEMENTS and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def strip_markup(text: str) -> str:
    """Text content of `text` read as HTML, one pass (tags dropped, entities decoded once)."""
    if "<" not in text and "&" not in text:
        return text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def clean_characters(text: str, *, max_combining: int = MAX_COMBINING_PER_BASE) -> str:
    """Steps 2-5 of the module docstring on already markup-free text."""
    text = unicodedata.normalize("NFC", text)
    out: list[str] = []
    combining = 0
    in_flag_tags = False
    pending_space = False
    for ch in text:
        if ch in BIDI_CONTROLS:
            continue
        cp = ord(ch)
        category = unicodedata.category(ch)
        if cp in TAG_RANGE:
            # Tag characters are invisible ASCII: allowed only inside a 🏴 subdivision flag.
            if in_flag_tags:
                out.append(ch)
                if cp == 0xE007F:  # CANCEL TAG closes the flag
                    in_flag_tags = False
            continue
        in_flag_tags = ch == BLACK_FLAG
        if ch.isspace() or category in {"Zs", "Zl", "Zp"} or ch in "\x00\x1c\x1d\x1e\x1f":
            pending_space = bool(out)
            combining = 0
            continue
        if category in {"Cc", "Cs", "Cn"} or (category == "Cf" and ch not in {ZWJ, ZWNJ}):
            continue
        if category in {"Mn", "Me", "Mc"}:
            if not out:
                continue  # a mark with nothing to sit on
            if not is_variation_selector(ch):
                combining += 1
                if combining > max_combining:
                    continue
        else:
            combining = 0
        if pending_space:
            out.append(" ")
            pending_space = False
        out.append(ch)
    return "".join(out)


def cap_length(text: str, max_length: int) -> str:
    """At most `max_length` characters, ending with … when cut, never inside an emoji or mark sequence."""
    if len(text) <= max_length:
        return text
    cut = max_length - 1
    # Back up to a grapheme boundary: the character at `cut` must start a new grapheme,
    # and the one before it must not be a joiner waiting for a partner.
    while cut > 0 and (joins_previous(text[cut]) or text[cut - 1] == ZWJ):
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


def to_plain_text(text: str) -> str:
    """Steps 1-5 to a fixed point, then no `<` left that could open a tag (see the module docstring)."""
    for _ in range(MAX_PASSES):
        cleaned = clean_characters(strip_markup(text))
        if cleaned == text:
            return _TAG_START.sub("< ", text)
        text = cleaned
    return clean_characters(text.replace("<", "").replace("&", ""))


def sanitize_text(raw: str | None, *, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Plain, single-line, safe text from whatever a platform sent."""
    if not raw:
        return ""
    text = to_plain_text(str(raw)[:MAX_INPUT_LENGTH])
    return cap_length(text.strip(), max_length)


def sanitize_name(raw: str | None, *, max_length: int = 100) -> str:
    """Author names get the same treatment with a shorter cap (and never contain markup either)."""
    return sanitize_text(raw, max_length=max_length)
