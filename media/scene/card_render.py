"""Drawing the on-screen comment card into a layer rect, and following the card in Redis.

Pure Pillow; imports nothing from Django, so the compositor can use it. The
renderer (workers/compositor/renderer.py) has `draw_card` draw each entrance step
of a card on a painter thread, never in the frame loop, and blends the result.

The cost of a card is bounded by design, whatever the comment (500 characters at most, any script):

* text is wrapped by measured chunks: lines are found from per-character advances (each character
  measured once per font), exact for East Asian wide characters and emoji, confirmed with a real
  measurement or two otherwise; a word wider than the line is cut where a search around the estimate
  says (a handful of measurements, never one per character);
* only the lines that fit are laid out: wrapping stops at the last line, which ends with an ellipsis;
* the layout is cached per (text, font, width, lines), and the finished panel per (card, size): the
  eight entrance steps are the same panel, faded and slid, so they cost one layout and one draw.

bench/card_render.py measures the worst case (bench/RESULTS.md, "Comment card").

Layout inside the rect: a rounded panel in the brand colour; a circle with the
author's initial (avatars are not fetched in the media process: no network in
the frame path); the author's name; the platform badge at the right; the
comment text wrapped below. The entrance slides the card up and fades it in.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from media.scene.card import entrance_progress, is_visible
from media.scene.graphemes import joins_previous

logger = logging.getLogger(__name__)

FontLoader = Callable[[int], ImageFont.FreeTypeFont | ImageFont.ImageFont]
# Entrance animation steps rendered (and cached): more looks no smoother at 30 fps over 0.4 s.
ENTRANCE_STEPS = 8
PANEL_ALPHA = 255  # opaque: text stays legible over any video
ELLIPSIS = "\u2026"
# Words longer than this are cut by measured chunks without being estimated whole first.
LONG_WORD = 48
# Cached layouts (a few lines of text each): a show puts up a few cards a minute, each at one or two sizes.
MAX_CACHED = 64
# Cached panels are whole RGBA images (0.5-2 MB each): only the card on screen and a few recent ones are
# worth keeping. With 64, a 30-minute soak with a card every 30 s grew the media process by 31 MB (11 %).
MAX_PANELS = 4


class _Lru(OrderedDict):  # type: ignore[type-arg]
    def __init__(self, limit: int = MAX_CACHED) -> None:
        super().__init__()
        self.limit = limit

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > self.limit:
            self.popitem(last=False)
        return value


_lock = threading.Lock()
_layouts = _Lru()
_panels = _Lru(MAX_PANELS)
_fonts = _Lru()
_measures = _Lru()


def clear_caches() -> None:
    with _lock:
        _layouts.clear()
        _panels.clear()
        _fonts.clear()
        _measures.clear()


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


class _Measure:
    """Text widths with one font.

    Measuring a string costs its length, and wide glyphs are the dear ones (50 characters of mixed CJK
    and Hangul take half a millisecond). `estimate` adds up per-character advances, each character
    measured once per font and cached, combining marks counted as zero. For East Asian wide characters
    and emoji it is exact (no kerning, no shaping), so their lines are taken from it as they are; `real`
    measures only the other runs of a line (where kerning and shaping matter) and adds the wide runs'
    exact advances.
    """

    # Real widths kept per string: a wrap measures the same prefix more than once (the estimate's scale,
    # then the search; the ellipsis check), and shaped scripts (Arabic) cost milliseconds per measurement.
    REAL_CACHE = 256

    def __init__(self, font: Any) -> None:
        self.font = font
        self.advances: dict[str, float] = {}
        self.wide: dict[str, bool] = {}
        self.reals: dict[str, float] = {}

    def real(self, text: str) -> float:
        """The width of `text` as drawn: wide runs from their exact advances, every other run measured (so
        kerning and shaping count where they exist, and no costly wide glyph is measured twice)."""
        known = self.reals.get(text)
        if known is None:
            if len(self.reals) >= self.REAL_CACHE:
                self.reals.clear()
            known = self.reals[text] = self._real(text)
        return known

    def _real(self, text: str) -> float:
        total, start = 0.0, 0
        for end in range(1, len(text) + 1):
            # Joiners, marks and selectors belong to the run of the character before them (one emoji
            # family is seven code points, three of them joiners: still one wide run).
            if end == len(text) or (self._wide(text[end]) != self._wide(text[start]) and not joins_previous(text[end])):
                run = text[start:end]
                total += self.estimate(run) if self._wide(run[0]) else float(self.font.getlength(run))
                start = end
        return total

    def _wide(self, ch: str) -> bool:
        wide = self.wide.get(ch)
        if wide is None:
            wide = self.wide[ch] = unicodedata.east_asian_width(ch) in {"W", "F"}
        return wide

    def advance(self, ch: str) -> float:
        width = self.advances.get(ch)
        if width is None:
            mark = unicodedata.category(ch) in {"Mn", "Me"}
            width = self.advances[ch] = 0.0 if mark else float(self.font.getlength(ch))
        return width

    def estimate(self, text: str) -> float:
        return sum(self.advance(ch) for ch in text)

    def exact(self, text: str) -> bool:
        """Whether the estimate of `text` is its real width (only East Asian wide characters and emoji,
        with the joiners and selectors that hold emoji sequences together)."""
        return bool(text) and self._wide(text[0]) and all(self._wide(ch) or joins_previous(ch) for ch in text)

    def fit(self, text: str, width: float) -> int:
        """How many characters of `text` fit in `width` (at least one grapheme).

        The estimate's answer; unless that is exact, galloping away from it (1, 2, 4... characters) until
        real widths bracket the answer, then halving the bracket: a handful of real measurements, none
        longer than what fits. The cut then moves back to a grapheme boundary, so it never splits an emoji
        sequence or a letter from its marks.
        """
        guess = self._estimated_fit(text, width)
        if self.exact(text[: guess + 1]):
            return self._grapheme_cut(text, guess)
        # Shaping makes whole scripts narrower than their letters alone (Arabic joins them): scale the
        # estimate by what one real measurement says, so the search starts next to the answer.
        real, estimated = self.real(text[:guess]), self.estimate(text[:guess])
        if real > 0 and abs(real - estimated) > 0.02 * estimated:
            guess = self._estimated_fit(text, width * estimated / real)
        if self.real(text[:guess]) <= width:
            good, step = guess, 1
            while good < len(text):
                probe = min(len(text), good + step)
                if self.real(text[:probe]) > width:
                    bad = probe
                    break
                good, step = probe, step * 2
            else:
                return len(text)
        else:
            bad, step = guess, 1
            while True:
                probe = max(0, bad - step)
                if probe == 0 or self.real(text[:probe]) <= width:
                    good = probe
                    break
                bad, step = probe, step * 2
        while bad - good > 1:
            mid = (good + bad) // 2
            if self.real(text[:mid]) <= width:
                good = mid
            else:
                bad = mid
        return self._grapheme_cut(text, max(good, 1))

    def _estimated_fit(self, text: str, width: float) -> int:
        count, total = 0, 0.0
        for ch in text:
            total += self.advance(ch)
            if total > width:
                break
            count += 1
        return max(1, count)

    @staticmethod
    def _grapheme_cut(text: str, cut: int) -> int:
        cut = min(cut, len(text))
        while 1 < cut < len(text) and joins_previous(text[cut]):
            cut -= 1
        while cut < len(text) and joins_previous(text[cut]):  # one grapheme wider than the line: keep it whole
            cut += 1
        return cut


def _with_ellipsis(measure: _Measure, line: str, width: float) -> str:
    room = width - measure.advance(ELLIPSIS)
    if measure.estimate(line) <= room and (measure.exact(line) or measure.real(line + ELLIPSIS) <= width):
        return line + ELLIPSIS
    keep = measure.fit(line, room) if len(line) > 1 else 0
    while keep > 0 and not measure.exact(line[:keep]) and measure.real(line[:keep].rstrip() + ELLIPSIS) > width:
        keep -= 1
    return line[:keep].rstrip() + ELLIPSIS


def _greedy(words: list[str], i: int, measure: _Measure, width: float) -> list[str]:
    """As many of words[i:] as fit in `width` by estimate (at least none)."""
    space = measure.advance(" ")
    taken: list[str] = []
    line_w = 0.0
    for word in words[i:]:
        word_w = measure.estimate(word) if len(word) <= LONG_WORD else width + 1
        if (taken and line_w + space + word_w > width) or (not taken and word_w > width):
            break
        taken.append(word)
        line_w += (space if len(taken) > 1 else 0) + word_w
    return taken


def _wrap(text: str, measure: _Measure, width: float, max_lines: int) -> list[str]:
    """Greedy lines by estimate, confirmed with a real measurement or two; words wider than a line are cut."""
    words = text.split()
    lines: list[str] = []
    i = 0
    while i < len(words) and len(lines) < max_lines:
        taken = _greedy(words, i, measure, width)
        if taken and not measure.exact("".join(taken)):
            # Kerning and shaping make the estimate off (Arabic letters join into narrower shapes): scale
            # it by the real width of this line and take the words again, then let real widths correct
            # the last word or two.
            line = " ".join(taken)
            real, estimated = measure.real(line), measure.estimate(line)
            if real > 0 and abs(real - estimated) > 0.02 * estimated:
                taken = _greedy(words, i, measure, width * estimated / real) or taken[:1]
            while len(taken) > 1 and measure.real(" ".join(taken)) > width:
                taken.pop()
            if len(taken) == 1 and measure.real(taken[0]) > width:
                taken = []
            while (
                taken
                and i + len(taken) < len(words)
                and len(words[i + len(taken)]) <= LONG_WORD
                and measure.real(" ".join([*taken, words[i + len(taken)]])) <= width
            ):
                taken.append(words[i + len(taken)])
        if taken:
            lines.append(" ".join(taken))
            i += len(taken)
            continue
        word = words[i]  # wider than a line on its own: cut where it fits
        cut = measure.fit(word, width)
        lines.append(word[:cut])
        if cut < len(word):
            words[i] = word[cut:]
        else:
            i += 1
    if i < len(words) and lines:
        lines[-1] = _with_ellipsis(measure, lines[-1], width)
    return lines


def wrap_text(text: str, font: Any, width: float, max_lines: int) -> list[str]:
    """`text` in at most `max_lines` lines no wider than `width`, the last ending with … when cut (cached)."""
    # id() alone could be reused by another font once this one is gone: its size and file go in the key too.
    key = (text, id(font), getattr(font, "size", 0), getattr(font, "path", ""), int(width), max_lines)
    with _lock:
        if key in _layouts:
            return list(_layouts[key])
        measure = _measures.get_or_make(id(font), lambda: _Measure(font))
        if measure.font is not font:
            measure = _measures[id(font)] = _Measure(font)
    lines = _wrap(text, measure, width, max_lines)
    with _lock:
        _layouts.get_or_make(key, lambda: lines)
    return list(lines)


def _font(loader: FontLoader, size: int) -> Any:
    """One font object per (loader, size): loading a font reads its file, and layouts are cached per font."""
    with _lock:
        return _fonts.get_or_make((id(loader), size), lambda: loader(size))


def _panel(card: Mapping[str, Any], width: int, height: int, font: FontLoader) -> Image.Image:
    """The card fully in, as an RGBA image of width x height (one Pillow draw; cached per card and size)."""
    colours = card.get("colours") or {}
    bg = _rgb(colours.get("background", ""), (91, 75, 255))
    fg = _rgb(colours.get("text", ""), (255, 255, 255))
    badge = card.get("badge") or {}
    badge_rgb = _rgb(badge.get("colour", ""), (68, 68, 68))
    panel = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(panel)
    radius = max(2, height // 8)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=radius, fill=(*bg, 255))
    pad = max(4, height // 10)
    circle = max(8, min(height - 2 * pad, height // 2))
    draw.ellipse((pad, pad, pad + circle, pad + circle), fill=(*badge_rgb, 255))
    initial_font = _font(font, max(8, circle // 2))
    initial = str(card.get("initial") or "?")[:2]
    box = draw.textbbox((0, 0), initial, font=initial_font)
    draw.text(
        (pad + (circle - (box[2] - box[0])) / 2 - box[0], pad + (circle - (box[3] - box[1])) / 2 - box[1]),
        initial,
        fill=(255, 255, 255, 255),
        font=initial_font,
    )
    left = pad * 2 + circle
    name = str(card.get("author") or "")
    name_font = _font(font, max(8, height // 6))
    badge_font = _font(font, max(7, height // 8))
    label = str(badge.get("label") or "")[:40]
    label_w = badge_font.getlength(label) if label else 0
    if label:
        draw.text((width - pad - label_w, pad), label, fill=(*fg, 255), font=badge_font)
    name_lines = wrap_text(name, name_font, max(8, int(width - left - pad * 2 - label_w)), 1)
    if name_lines:
        draw.text((left, pad), name_lines[0], fill=(*fg, 255), font=name_font)
    text = str(card.get("text") or "")
    text_font = _font(font, max(8, height // 7))
    line_h = max(8, int(height // 7 * 1.25))
    top = pad + int(height // 6 * 1.35)
    max_lines = max(1, (height - top - pad // 2) // line_h)
    for index, line in enumerate(wrap_text(text, text_font, width - left - pad, max_lines)):
        draw.text((left, top + index * line_h), line, fill=(*fg, 255), font=text_font)
    return panel


def draw_card(
    card: Mapping[str, Any], width: int, height: int, *, progress: float = 1.0, font: FontLoader | None = None
) -> Image.Image:
    """The card as an RGBA image of exactly width x height (transparent around the panel)."""
    font = font or _default_font
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if width < 8 or height < 8:
        return image
    offset, alpha = entrance(progress, height)
    if alpha <= 0:
        return image
    panel = card_panel(card, width, height, font=font)
    if alpha < 255:
        # Fade: scale the panel's own alpha (a copy: the cached panel stays whole).
        panel = panel.copy()
        panel.putalpha(panel.getchannel("A").point(lambda a: a * alpha // 255))
    image.paste(panel, (0, offset), panel)  # slide: paste lower down (cropped by the rect)
    return image


def entrance(progress: float, height: int) -> tuple[int, int]:
    """(how far down, alpha 0..255) of the card at `progress` 0..1 of its entrance: slides up, fades in."""
    progress = max(0.0, min(1.0, progress))
    eased = 1 - (1 - progress) ** 3  # ease-out cubic
    return round((1 - eased) * height * 0.35), round(PANEL_ALPHA * eased)


def card_panel(card: Mapping[str, Any], width: int, height: int, *, font: FontLoader | None = None) -> Image.Image:
    """The card fully in (RGBA, width x height), drawn once per card and size and then cached. Do not modify."""
    font = font or _default_font
    key = (
        card.get("comment_id"),
        card.get("shown_at"),
        card.get("author"),
        card.get("text"),
        json.dumps(card.get("colours"), sort_keys=True),
        json.dumps(card.get("badge"), sort_keys=True),
        card.get("initial"),
        width,
        height,
        id(font),
    )
    with _lock:
        panel = _panels.get(key)
    if panel is None:
        panel = _panel(card, width, height, font)
        with _lock:
            _panels.get_or_make(key, lambda: panel)
    return panel  # type: ignore[no-any-return]


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
