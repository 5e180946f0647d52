"""The on-screen comment card: what it says and where it sits. Pure functions, no I/O.

The compositor draws it; the studio preview draws the same data in the
browser. `card_content` is what services write to Redis; `card_layout` turns
it into rectangles on a canvas of a given size (so landscape and vertical
programs each get a card that fits).
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

PLATFORM_BADGES: dict[str, dict[str, str]] = {
    "youtube": {"label": "YouTube", "colour": "#FF0000"},
    "twitch": {"label": "Twitch", "colour": "#9146FF"},
    "facebook": {"label": "Facebook", "colour": "#1877F2"},
    "studio": {"label": "Studio", "colour": "#5B4BFF"},
    "custom": {"label": "Chat", "colour": "#444444"},
}
DEFAULT_PRIMARY = "#5B4BFF"
DEFAULT_ACCENT = "#FFFFFF"
# Text lines on the card; longer comments are cut with … (the panel shows them whole).
MAX_LINES = 4


def card_content(
    *,
    comment_id: int,
    platform: str,
    author_name: str,
    avatar_url: str,
    text: str,
    shown_at: datetime,
    auto_hide_seconds: int,
    primary_colour: str = DEFAULT_PRIMARY,
    accent_colour: str = DEFAULT_ACCENT,
) -> dict[str, Any]:
    name = author_name.strip()
    badge = PLATFORM_BADGES.get(platform, PLATFORM_BADGES["custom"])
    return {
        "comment_id": comment_id,
        "author": name,
        "avatar_url": avatar_url,
        # Drawn in a circle when there is no avatar (or it fails to load).
        "initial": name[0].upper() if name else "?",
        "text": text,
        "platform": platform,
        "badge": {"label": badge["label"], "colour": badge["colour"]},
        "colours": {"background": primary_colour, "text": accent_colour},
        "shown_at": shown_at.timestamp(),
        "auto_hide_seconds": auto_hide_seconds,
    }


def is_visible(card: dict[str, Any], now: float) -> bool:
    """Whether the card should still be on screen at unix time `now` (auto-hide 0 means until taken off)."""
    hide_after = card.get("auto_hide_seconds") or 0
    return now >= card["shown_at"] and (hide_after <= 0 or now < card["shown_at"] + hide_after)


def entrance_progress(card: dict[str, Any], now: float, duration: float = 0.4) -> float:
    """0 → 1 over the entrance animation (slide up + fade in); the compositor eases it."""
    if duration <= 0:
        return 1.0
    return max(0.0, min(1.0, (now - card["shown_at"]) / duration))


def card_layout(card: dict[str, Any], canvas_width: int, canvas_height: int) -> dict[str, Any]:
    """Rectangles (pixels, top-left origin) of the card and its parts on a canvas.

    The card sits in the lower left, above the lower-third zone: 5 % margins,
    40 % of the width on landscape and 90 % on vertical canvases.
    """
    vertical = canvas_height > canvas_width
    unit = min(canvas_width, canvas_height)
    margin = round(unit * 0.05)
    width = round(canvas_width * (0.9 if vertical else 0.4))
    padding = round(unit * 0.02)
    avatar = round(unit * 0.07)
    font_size = max(10, round(unit * 0.032))
    name_size = max(10, round(font_size * 0.9))
    line_height = round(font_size * 1.3)
    text_width = width - avatar - 3 * padding
    # Average glyph is ~0.5 em wide in a sans font: a fair wrap without measuring.
    chars_per_line = max(8, int(text_width / (font_size * 0.5)))
    lines = textwrap.wrap(card["text"], width=chars_per_line, break_long_words=True) or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: max(0, chars_per_line - 1)].rstrip() + "\u2026"
    text_block = name_size + padding // 2 + len(lines) * line_height
    height = max(avatar, text_block) + 2 * padding
    x = margin
    y = canvas_height - margin - height - round(canvas_height * (0.12 if not vertical else 0.18))
    return {
        "rect": [x, y, width, height],
        "avatar": [x + padding, y + padding, avatar, avatar],
        "name": {"pos": [x + 2 * padding + avatar, y + padding], "size": name_size},
        "badge": {"pos": [x + width - padding, y + padding], "size": round(name_size * 0.8), "align": "right"},
        "text": {
            "pos": [x + 2 * padding + avatar, y + padding + name_size + padding // 2],
            "size": font_size,
            "line_height": line_height,
            "lines": lines,
        },
        "z": 900,  # above video tiles and logos, below full-screen banners
    }
