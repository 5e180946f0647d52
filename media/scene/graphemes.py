"""Where a character belongs to the one before it (emoji sequences, marks, flags): never cut there.

Shared by the comment card's line breaks (card_render) and the sanitizer's length cap
(apps/engagement/sanitize.py). Pure functions, no I/O.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
TAG_RANGE = range(0xE0020, 0xE0080)  # the invisible tag characters of subdivision flags


def is_variation_selector(ch: str) -> bool:
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF


def joins_previous(ch: str) -> bool:
    """True for characters that belong to the grapheme before them."""
    return (
        ch == ZWJ
        or is_variation_selector(ch)
        or unicodedata.category(ch) in {"Mn", "Me", "Mc", "Sk"}
        or ord(ch) in TAG_RANGE
        or 0x1F3FB <= ord(ch) <= 0x1F3FF  # skin tone modifiers
    )
