"""Drawing the on-screen comment card into a layer rect, and following the card in Redis.

Pure Pillow; imports nothing from Django, so the compositor can use it. The
renderer (workers/compositor/renderer.py) calls `draw_card` for the scene
graph's `comment` layer and caches the result per (card, size, animation step),
so a card costs one Pillow draw per entrance step and a blend per frame.

Layout inside the rect: a rounded panel in the brand colour; a circle with the
author's initial (avatars are not fetched in the media process: no network in
the frame path); the author's name; the platform badge at the right; the
comment text wrapped below. The entrance slides the card up and fades it in.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from apps.engagement.card import entrance_progress, is_visible

logger = logging.getLogger(__name__)

FontLoader = Callable[[int], ImageFont.FreeTypeFont | ImageFont.ImageFont]
# Entrance animation steps rendered (and cached): more looks no smoother at 30 fps over 0.4 s.
ENTRANCE_STEPS = 8
PANEL_ALPHA = 255  # opaque: text stays legible over any video


def _rgb(colour: str, default: tuple[int, int, int]) -> tuple[int, int, int]:
    try:
        value = colour.lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except (ValueError, IndexError, AttributeError):
        return default


def _default_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int, max_lines: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        # A word longer than the line (a URL, a flood of emoji) is cut by characters.
        while draw.textlength(word, font=font) > width and len(word) > 1:
            cut = len(word)
            while cut > 1 and draw.textlength(word[:cut], font=font) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "\u2026", font=font) > width:
            last = last[:-1]
        lines[-1] = last + "\u2026"
    return lines


def draw_card(
    card: Mapping[str, Any], width: int, height: int, *, progress: float = 1.0, font: FontLoader | None = None
) -> Image.Image:
    """The card as an RGBA image of exactly width x height (transparent around the panel)."""
    font = font or _default_font
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if width < 8 or height < 8:
        return image
    colours = card.get("colours") or {}
    bg = _rgb(colours.get("background", ""), (91, 75, 255))
    fg = _rgb(colours.get("text", ""), (255, 255, 255))
    badge = card.get("badge") or {}
    badge_rgb = _rgb(badge.get("colour", ""), (68, 68, 68))
    progress = max(0.0, min(1.0, progress))
    eased = 1 - (1 - progress) ** 3  # ease-out cubic
    offset = round((1 - eased) * height * 0.35)
    alpha = round(PANEL_ALPHA * eased)
    if alpha <= 0:
        return image

    panel = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(panel)
    radius = max(2, height // 8)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=radius, fill=(*bg, 255))
    pad = max(4, height // 10)
    circle = max(8, min(height - 2 * pad, height // 2))
    draw.ellipse((pad, pad, pad + circle, pad + circle), fill=(*badge_rgb, 255))
    initial_font = font(max(8, circle // 2))
    initial = str(card.get("initial") or "?")[:2]
    box = draw.textbbox((0, 0), initial, font=initial_font)
    draw.text(
        (pad + (circle - (box[2] - box[0])) / 2 - box[0], pad + (circle - (box[3] - box[1])) / 2 - box[1]),
        initial,
        fill=(255, 255, 255, 255),
        font=initial_font,
    )
    left = pad * 2 + circle
    name_font = font(max(8, height // 6))
    badge_font = font(max(7, height // 8))
    label = str(badge.get("label") or "")
    label_w = draw.textlength(label, font=badge_font) if label else 0
    if label:
        draw.text((width - pad - label_w, pad), label, fill=(*fg, 255), font=badge_font)
    name = str(card.get("author") or "")
    name_lines = _wrap(draw, name, name_font, max(8, int(width - left - pad * 2 - label_w)), 1)
    if name_lines:
        draw.text((left, pad), name_lines[0], fill=(*fg, 255), font=name_font)
    text_font = font(max(8, height // 7))
    line_h = max(8, int(height // 7 * 1.25))
    top = pad + int(height // 6 * 1.35)
    max_lines = max(1, (height - top - pad // 2) // line_h)
    for index, line in enumerate(_wrap(draw, str(card.get("text") or ""), text_font, width - left - pad, max_lines)):
        draw.text((left, top + index * line_h), line, fill=(*fg, 255), font=text_font)

    # Fade: scale the panel's own alpha; slide: paste lower down (cropped by the rect).
    panel.putalpha(panel.getchannel("A").point(lambda a: a * alpha // 255))
    image.paste(panel, (0, offset), panel)
    return image


def card_frame_state(card: Mapping[str, Any] | None, now: float) -> float | None:
    """The entrance step to draw at unix time `now` (0..1, quantised), or None when the card is not showing."""
    if not card or not is_visible(dict(card), now):
        return None
    return round(entrance_progress(dict(card), now) * ENTRANCE_STEPS) / ENTRANCE_STEPS


class CardFollower:
    """Keeps the latest card of one stream from Redis on a background thread (never in the frame loop).

    `card` is whatever `stream:{id}:comment_card` holds, or None; the renderer decides visibility by time.
    """

    def __init__(self, redis_url: str, key: str, interval: float = 0.1) -> None:
        self.redis_url, self.key, self.interval = redis_url, key, interval
        self.card: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self, client: Any) -> None:
        raw = client.get(self.key)
        try:
            self.card = json.loads(raw) if raw else None
        except ValueError:
            self.card = None

    def _run(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        while not self._stop.is_set():
            try:
                self.poll_once(client)
            except redis.RedisError:
                logger.warning("comment card: Redis unavailable")
                self._stop.wait(1.0)
            self._stop.wait(self.interval)
        client.close()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="comment-card", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
