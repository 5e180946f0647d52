"""Turn untrusted chat text into safe plain text. Pure functions, no I/O.

Comments come from strangers on four platforms and end up in the studio page,
in the moderation panel and burned into the program video. What we store is
plain text that needs no further cleaning, only the usual escaping by the
template engine:

1. markup is removed (tags dropped, `<script>`/`<style>` bodies dropped, entities decoded once);
2. characters that change how *surrounding* text renders are removed: bidi
   embeddings, overrides and isolates (U+202A..202E, U+2066..2069) and the marks
   U+200E/200F/061C that are abused to flip a name or hide a link;
3. control and invisible format characters are removed, except those emoji and
   scripts need (ZWJ U+200D, ZWNJ U+200C, variation selectors, the tag
   characters of subdivision flags);
4. combining marks are capped per base character (zalgo text);
5. whitespace runs collapse to one space;
6. the result is capped to a length, never cutting an emoji sequence in half.
"""

from __future__ import annotations

import unicodedata
from html.parser import HTMLParser

DEFAULT_MAX_LENGTH = 500
# Real scripts stack at most 3 marks on a letter after NFC (Vietnamese, Thai, Devanagari);
# zalgo stacks dozens. A keycap emoji is digit + VS16 + U+20E3: variation selectors are not counted.
MAX_COMBINING_PER_BASE = 3
# Work on at most this much input: a 1 MB "comment" must not cost 1 MB of parsing.
MAX_INPUT_LENGTH = 20_000
ELLIPSIS = "\u2026"

BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]  # LRE RLE PDF LRO RLO
    + [chr(c) for c in range(0x2066, 0x206A)]  # LRI RLI FSI PDI
    + ["\u200e", "\u200f", "\u061c"]  # LRM RLM ALM
)
ZWJ = "\u200d"
ZWNJ = "\u200c"
BLACK_FLAG = "\U0001f3f4"  # base of the subdivision flags (England, Scotland, Wales)
TAG_RANGE = range(0xE0020, 0xE0080)
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
    """Text content of `text` read as HTML. Runs until stable so `&lt;script&gt;` cannot come back as a tag."""
    for _ in range(3):
        if "<" not in text and "&" not in text:
            break
        parser = _TextExtractor()
        parser.feed(text)
        parser.close()
        stripped = "".join(parser.parts)
        if stripped == text:
            break
        text = stripped
    return text


def _is_variation_selector(ch: str) -> bool:
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


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
            if not _is_variation_selector(ch):
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


def _joins_previous(ch: str) -> bool:
    """True for characters that belong to the grapheme before them."""
    return (
        ch == ZWJ
        or _is_variation_selector(ch)
        or unicodedata.category(ch) in {"Mn", "Me", "Mc", "Sk"}
        or ord(ch) in TAG_RANGE
        or 0x1F3FB <= ord(ch) <= 0x1F3FF  # skin tone modifiers
    )


def cap_length(text: str, max_length: int) -> str:
    """At most `max_length` characters, ending with … when cut, never inside an emoji or mark sequence."""
    if len(text) <= max_length:
        return text
    cut = max_length - 1
    # Back up to a grapheme boundary: the character at `cut` must start a new grapheme,
    # and the one before it must not be a joiner waiting for a partner.
    while cut > 0 and (_joins_previous(text[cut]) or text[cut - 1] == ZWJ):
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


def sanitize_text(raw: str | None, *, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Plain, single-line, safe text from whatever a platform sent."""
    if not raw:
        return ""
    text = strip_markup(str(raw)[:MAX_INPUT_LENGTH])
    text = clean_characters(text)
    return cap_length(text.strip(), max_length)


def sanitize_name(raw: str | None, *, max_length: int = 100) -> str:
    """Author names get the same treatment with a shorter cap (and never contain markup either)."""
    return sanitize_text(raw, max_length=max_length)
