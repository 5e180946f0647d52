"""Comment cards for the card tests and the card benchmark (bench/card_render.py): one card shape, and the
500-character texts that are hardest for a wrapper (what a viewer can send after the sanitizer)."""

from __future__ import annotations

from typing import Any

HOSTILE = {
    "one unbroken word": "x" * 500,
    "wide glyphs": "W" * 500,
    "a long URL": "https://example.com/" + "a1b2c3/" * 68,
    "emoji flood": "\U0001f600" * 500,
    "CJK": "漢字かなカナ" * 84,
    "one-letter words": "a " * 250,
    "right-to-left": "مرحبا بالعالم " * 36,
    "capped zalgo": "Z\u0315\u031b\u0340" * 125,
    "family emoji": "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466" * 71,
}


def sample_card(text: str, comment_id: int = 1) -> dict[str, Any]:
    """A card as the engagement service puts it on screen: a long author name, a platform badge, brand colours."""
    return {
        "comment_id": comment_id,
        "author": "A viewer with a rather long display name that will not fit",
        "initial": "A",
        "text": text,
        "badge": {"label": "YouTube", "colour": "#FF0000"},
        "colours": {"background": "#5B4BFF", "text": "#FFFFFF"},
        "shown_at": 1000.0,
        "auto_hide_seconds": 10,
    }
