"""Scene graph → one I420 program frame, in numpy.

The frame loop's hot path. What makes it cheap:

* everything stays I420 (no RGB round trip): a tile is two index lookups per
  plane from the source picture, with the index maps cached per
  (source size, tile, fit), so a steady scene computes no geometry;
* overlays (name tags, banner, logo, images, name cards) are drawn with Pillow
  once, converted to I420 + alpha and cached by their content; a frame only
  blends them (fully opaque ones are plain copies);
* background fills are cached whole-canvas planes.

A video source whose last frame is older than `stale_after` seconds (the
camera stopped, the guest left) gets a name card in its tile, not a frozen or
black picture. A fade between two scenes blends the two renders.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from media.broadcast.source import load_font, rgb_image_to_i420

log = logging.getLogger(__name__)

# A camera that sent nothing for this long is shown as a name card (well under the 1 s we promise).
STALE_AFTER_SECONDS = 0.5
CARD_RGB = (36, 36, 46)
CARD_TEXT_RGB = (235, 235, 240)
# Caches are bounded: scenes change a few times a minute, so a few hundred entries is hours of show.
MAX_CACHE_ENTRIES = 256


def hex_rgb(colour: str, default: tuple[int, int, int] = (16, 16, 24)) -> tuple[int, int, int]:
    try:
        value = colour.lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except (ValueError, IndexError, AttributeError):
        return default


@dataclass
class SourceFrame:
    """The latest picture of one source: I420, contiguous, even size.

    `keepalive` owns the memory `data` views when that is not numpy's (a native LiveKit buffer,
    workers/compositor/receive.py): it is freed when the last reference to this frame goes.
    """

    width: int
    height: int
    data: np.ndarray
    received_at: float
    keepalive: Any = None

    def planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return planes(self.data, self.width, self.height)


@dataclass
class Patch:
    """A pre-rendered overlay: I420 planes and alpha (None = opaque) for one rect.

    For a translucent patch the blend's constant half is kept too, per plane: `src·a + 128` and `256 - a`
    (alpha rescaled to 0..256), so a frame's blend is one multiply, one add and one shift per pixel.
    """

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    alpha_y: np.ndarray | None
    alpha_uv: np.ndarray | None
    blend: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    def __post_init__(self) -> None:
        if self.alpha_y is None or self.alpha_uv is None or self.blend:
            return
        self.blend = tuple(
            _blend_terms(plane, alpha)
            for plane, alpha in ((self.y, self.alpha_y), (self.u, self.alpha_uv), (self.v, self.alpha_uv))
        )


def planes(buf: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = width * height
    y = buf[:size].reshape(height, width)
    u = buf[size : size + size // 4].reshape(height // 2, width // 2)
    v = buf[size + size // 4 : size + size // 2].reshape(height // 2, width // 2)
    return y, u, v


def rgba_to_patch(image: Image.Image, opacity: float = 1.0) -> Patch:
    """An RGBA image (even size) → I420 + alpha at full (Y) and half (UV) resolution."""
    rgba = image.convert("RGBA")
    w, h = rgba.size
    i420 = rgb_image_to_i420(rgba.convert("RGB"))
    y, u, v = planes(i420, w, h)
    alpha = np.asarray(rgba, dtype=np.uint8)[..., 3].astype(np.float32) * opacity
    alpha_uv = alpha.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    if alpha.min() >= 255:
        return Patch(y.copy(), u.copy(), v.copy(), None, None)
    return Patch(
        y.copy(),
        u.copy(),
        v.copy(),
        alpha.round().astype(np.uint16),
        alpha_uv.round().astype(np.uint16),
    )


def _blend_terms(src: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(src·a + 128, 256 - a) in uint16, with alpha 0..255 rescaled to 0..256 (255 → 256: opaque stays exact)."""
    a = alpha.astype(np.uint16)
    a += a >> 7
    return src.astype(np.uint16) * a + 128, (256 - a).astype(np.uint16)


def _blend(dst: np.ndarray, terms: tuple[np.ndarray, np.ndarray]) -> None:
    # (src·a + dst·(256 - a) + 128) >> 8: at most 255·256 + 128 = 65408, so uint16 holds it; within 1 of the
    # exact /255 blend, and exact where alpha is 0 or 255.
    premultiplied, inverse = terms
    mixed = dst.astype(np.uint16)
    mixed *= inverse
    mixed += premultiplied
    mixed >>= 8
    dst[:] = mixed


class Renderer:
    """Renders scene graph dicts (media.scene.layout.SceneGraph.to_dict()) at one canvas size."""

    def __init__(
        self,
        width: int,
        height: int,
        *,
        load_asset: Callable[[str], Image.Image | None] | None = None,
        stale_after: float = STALE_AFTER_SECONDS,
    ) -> None:
        if width % 2 or height % 2:
            raise ValueError("I420 needs an even canvas")
        self.width, self.height = width, height
        self.load_asset = load_asset or (lambda source: None)
        self.stale_after = stale_after
        self._maps: dict[tuple, tuple] = {}
        self._patches: dict[tuple, Patch | None] = {}
        self._fills: dict[tuple[int, int, int], np.ndarray] = {}
        # Counters a benchmark or test can read: how often overlays were (re)drawn.
        self._overlay_renders = 0
        # The on-screen comment card (media.scene.card.card_content), set from Redis by whoever runs the
        # renderer (media.scene.card_render.CardFollower); shown by its own shown_at / auto-hide times.
        self.comment_card: dict[str, Any] | None = None
        # The card's times are wall-clock (set by the web process), not the frame loop's monotonic `now`.
        self.card_clock: Callable[[], float] = time.time
        # Cards are drawn off the frame thread, with this font, by a painter started with the first card.
        self.card_font: Callable[[int], Any] = load_font
        self.card_painter: CardPainter | None = None

    @property
    def overlay_renders(self) -> int:
        return self._overlay_renders + (self.card_painter.draws if self.card_painter is not None else 0)

    def close(self) -> None:
        """Stop the card painter, if a card ever started it."""
        if self.card_painter is not None:
            self.card_painter.close()

    # --- public --------------------------------------------------------------------

    def new_frame(self) -> np.ndarray:
        return np.empty(self.width * self.height * 3 // 2, dtype=np.uint8)

    def render(
        self,
        graph: Mapping[str, Any],
        frames: Mapping[str, SourceFrame | None],
        *,
        now: float,
        texts: Mapping[str, str] | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Draw every layer of `graph`, first to last, into `out` (a new frame if None)."""
        frame = self.new_frame() if out is None else out
        y, u, v = planes(frame, self.width, self.height)
        texts = texts or {}
        for layer in graph.get("layers", ()):
            kind = layer["kind"]
            rect = layer["rect"]
            x0, y0, w, h = int(rect["x"]), int(rect["y"]), int(rect["w"]), int(rect["h"])
            if w <= 0 or h <= 0 or x0 + w > self.width or y0 + h > self.height:
                continue  # a graph for another canvas size: never write outside ours
            if kind == "background":
                self._background(layer, y, u, v)
            elif kind in ("video", "screen"):
                source = layer.get("source") or ""
                src = frames.get(source)
                if src is not None and now - src.received_at <= self.stale_after:
                    self._draw_video(src, layer.get("fit", "cover"), x0, y0, w, h, y, u, v)
                else:
                    self._draw_patch(self._card(layer.get("label") or "", w, h), x0, y0, y, u, v)
            elif kind == "clip":
                # A clip playing into the show (workers/compositor/playback.py): letterboxed, black until its
                # first picture is decoded, never a name card.
                src = frames.get(layer.get("source") or "")
                if src is not None:
                    self._draw_video(src, "contain", x0, y0, w, h, y, u, v)
                else:
                    y[y0 : y0 + h, x0 : x0 + w] = 16
                    u[y0 // 2 : (y0 + h) // 2, x0 // 2 : (x0 + w) // 2] = 128
                    v[y0 // 2 : (y0 + h) // 2, x0 // 2 : (x0 + w) // 2] = 128
            elif kind in ("name_tag", "banner"):
                patch = self._text_box(layer.get("label") or "", w, h, layer.get("style") or {})
                self._draw_patch(patch, x0, y0, y, u, v)
            elif kind == "comment":
                if self.comment_card is not None:
                    self._draw_patch(self._comment_card(w, h), x0, y0, y, u, v)
                    continue
                text = texts.get("comment", "")
                if text:
                    self._draw_patch(self._text_box(text, w, h, layer.get("style") or {}), x0, y0, y, u, v)
            elif kind in ("logo", "overlay"):
                patch = self._asset(layer.get("source") or "", w, h, float(layer.get("opacity", 1.0)))
                if patch is not None:
                    self._draw_patch(patch, x0, y0, y, u, v)
        return frame

    @staticmethod
    def fade(old: np.ndarray, new: np.ndarray, progress: float, out: np.ndarray | None = None) -> np.ndarray:
        """`progress` 0 → old, 1 → new; all three planes blend alike."""
        a = round(min(max(progress, 0.0), 1.0) * 256)
        mixed = (new.astype(np.uint16) * a + old.astype(np.uint16) * (256 - a)) >> 8
        if out is None:
            return mixed.astype(np.uint8)
        out[:] = mixed
        return out

    # --- layers --------------------------------------------------------------------

    def _background(self, layer: Mapping[str, Any], y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        source = layer.get("source")
        if source:
            patch = self._asset(source, self.width, self.height, 1.0, cover=True)
            if patch is not None:
                self._draw_patch(patch, 0, 0, y, u, v)
                return
        rgb = hex_rgb((layer.get("style") or {}).get("bg", "#101018"))
        fill = self._fills.get(rgb)
        if fill is None:
            from media.broadcast.source import solid_i420

            fill = solid_i420(self.width, self.height, rgb)
            self._fills[rgb] = fill
        fy, fu, fv = planes(fill, self.width, self.height)
        y[:] = fy
        u[:] = fu
        v[:] = fv

    def _index_maps(self, sw: int, sh: int, fit: str, w: int, h: int) -> tuple:
        """Row/column lookups (luma and chroma) and the drawn sub-rect for a source in a tile."""
        key = (sw, sh, fit, w, h)
        maps = self._maps.get(key)
        if maps is not None:
            return maps
        if fit == "contain":
            scale = min(w / sw, h / sh)
            dw = min(w, max(2, int(sw * scale) // 2 * 2))
            dh = min(h, max(2, int(sh * scale) // 2 * 2))
            ox, oy = (w - dw) // 4 * 2, (h - dh) // 4 * 2
            cx0, cy0, cw, ch = 0.0, 0.0, float(sw), float(sh)
        else:  # cover: fill the tile, crop the source's overflow evenly
            scale = max(w / sw, h / sh)
            dw, dh, ox, oy = w, h, 0, 0
            cw, ch = w / scale, h / scale
            cx0, cy0 = (sw - cw) / 2, (sh - ch) / 2

        def lookup(n_out: int, start: float, span: float, limit: int) -> np.ndarray:
            idx = (start + (np.arange(n_out) + 0.5) * span / n_out).astype(np.int64)
            return np.clip(idx, 0, limit - 1)

        ys = lookup(dh, cy0, ch, sh)
        xs = lookup(dw, cx0, cw, sw)
        ys_c = lookup(dh // 2, cy0 / 2, ch / 2, sh // 2)
        xs_c = lookup(dw // 2, cx0 / 2, cw / 2, sw // 2)
        maps = (ys, xs, ys_c, xs_c, ox, oy, dw, dh)
        if len(self._maps) > MAX_CACHE_ENTRIES:
            self._maps.clear()
        self._maps[key] = maps
        return maps

    def _draw_video(
        self, src: SourceFrame, fit: str, x0: int, y0: int, w: int, h: int, y: np.ndarray, u: np.ndarray, v: np.ndarray
    ) -> None:
        sy, su, sv = src.planes()
        ys, xs, ys_c, xs_c, ox, oy, dw, dh = self._index_maps(src.width, src.height, fit, w, h)
        if fit == "contain" and (dw != w or dh != h):
            # Letterbox bars: black, then the picture centred.
            y[y0 : y0 + h, x0 : x0 + w] = 16
            u[y0 // 2 : (y0 + h) // 2, x0 // 2 : (x0 + w) // 2] = 128
            v[y0 // 2 : (y0 + h) // 2, x0 // 2 : (x0 + w) // 2] = 128
        tx, ty = x0 + ox, y0 + oy
        # Rows, then columns: two 1-D gathers cost a quarter of one 2-D fancy index (the frame loop's hot spot).
        y[ty : ty + dh, tx : tx + dw] = sy.take(ys, axis=0).take(xs, axis=1)
        u[ty // 2 : ty // 2 + dh // 2, tx // 2 : tx // 2 + dw // 2] = su.take(ys_c, axis=0).take(xs_c, axis=1)
        v[ty // 2 : ty // 2 + dh // 2, tx // 2 : tx // 2 + dw // 2] = sv.take(ys_c, axis=0).take(xs_c, axis=1)

    def _draw_patch(self, patch: Patch | None, x0: int, y0: int, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        if patch is None:
            return
        h, w = patch.y.shape
        ty, tx, cy, cx = (
            slice(y0, y0 + h),
            slice(x0, x0 + w),
            slice(y0 // 2, y0 // 2 + h // 2),
            slice(x0 // 2, x0 // 2 + w // 2),
        )
        if patch.alpha_y is None or patch.alpha_uv is None:
            y[ty, tx] = patch.y
            u[cy, cx] = patch.u
            v[cy, cx] = patch.v
            return
        by, bu, bv = patch.blend
        _blend(y[ty, tx], by)
        _blend(u[cy, cx], bu)
        _blend(v[cy, cx], bv)

    # --- pre-rendered overlays (cached) -------------------------------------------

    def _cached(self, key: tuple, draw: Callable[[], Patch | None]) -> Patch | None:
        if key in self._patches:
            return self._patches[key]
        if len(self._patches) > MAX_CACHE_ENTRIES:
            self._patches.clear()
        patch = draw()
        self._overlay_renders += 1
        self._patches[key] = patch
        return patch

    def _card(self, name: str, w: int, h: int) -> Patch:
        """A name card: the person's name on a calm background, shown when their video is missing."""

        def draw() -> Patch:
            image = Image.new("RGBA", (w, h), (*CARD_RGB, 255))
            if name:
                font = load_font(max(10, min(h // 6, w // max(6, len(name)))))
                draw_ = ImageDraw.Draw(image)
                box = draw_.textbbox((0, 0), name, font=font)
                tw, th = box[2] - box[0], box[3] - box[1]
                draw_.text(((w - tw) / 2 - box[0], (h - th) / 2 - box[1]), name, fill=(*CARD_TEXT_RGB, 255), font=font)
            return rgba_to_patch(image)

        patch = self._cached(("card", name, w, h), draw)
        assert patch is not None
        return patch

    def _text_box(self, text: str, w: int, h: int, style: Mapping[str, str]) -> Patch | None:
        bg = hex_rgb(style.get("bg", "#5B4BFF"), (91, 75, 255))
        fg = hex_rgb(style.get("fg", "#FFFFFF"), (255, 255, 255))

        def draw() -> Patch:
            image = Image.new("RGBA", (w, h), (*bg, 235))
            font = load_font(max(8, int(h * 0.6)))
            draw_ = ImageDraw.Draw(image)
            box = draw_.textbbox((0, 0), text, font=font)
            pad = max(2, h // 5)
            draw_.text((pad - box[0], (h - (box[3] - box[1])) / 2 - box[1]), text, fill=(*fg, 255), font=font)
            return rgba_to_patch(image)

        return self._cached(("text", text, w, h, bg, fg), draw)

    def _comment_card(self, w: int, h: int) -> Patch | None:
        """The comment card at this moment of its entrance, or None when it is not (or not yet) on screen.

        Never waits: until the painter has drawn this card at this size, the frame goes out without it.
        """
        from media.scene.card_render import ENTRANCE_STEPS, card_frame_state

        card = self.comment_card
        step = card_frame_state(card, self.card_clock())
        if card is None or step is None:
            return None
        if self.card_painter is None:
            self.card_painter = CardPainter(self.card_font)
        steps = self.card_painter.patches(card, w, h)
        if not steps:
            return None
        return steps[min(len(steps) - 1, round(step * ENTRANCE_STEPS))]

    def _asset(self, source: str, w: int, h: int, opacity: float, *, cover: bool = False) -> Patch | None:
        def draw() -> Patch | None:
            image = self.load_asset(source)
            if image is None:
                return None
            image = image.convert("RGBA")
            iw, ih = image.size
            scale = max(w / iw, h / ih) if cover else min(w / iw, h / ih)
            sw, sh = max(1, round(iw * scale)), max(1, round(ih * scale))
            scaled = image.resize((sw, sh), Image.Resampling.LANCZOS)
            canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
            canvas.paste(scaled, ((w - sw) // 2, (h - sh) // 2))
            return rgba_to_patch(canvas, opacity)

        return self._cached(("asset", source, w, h, opacity, cover), draw)


class CardPainter:
    """Draws comment cards on a thread of its own, so that the frame loop never waits for one.

    `patches(card, w, h)` answers at once: the card's entrance steps (0..ENTRANCE_STEPS) as patches when
    they are drawn, else None, and the card is queued (the newest wanted card replaces an older one still
    waiting). A card's drawing is bounded (media/scene/card_render.py), so it shows a frame or two
    after it was put up; the frames in between go out on time without it.
    """

    # Cards kept drawn (each is 9 entrance steps of I420 + alpha, several MB at 1080p): the one on screen at its
    # size or two, and the one before.
    MAX_READY = 3

    def __init__(self, font: Callable[[int], Any]) -> None:
        self.font = font
        self.draws = 0
        self._ready: OrderedDict[tuple, list[Patch]] = OrderedDict()
        self._wanted: tuple[tuple, dict[str, Any], int, int] | None = None
        self._drawing: tuple | None = None
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @staticmethod
    def key(card: Mapping[str, Any], w: int, h: int) -> tuple:
        return (card.get("comment_id"), card.get("shown_at"), card.get("text"), card.get("author"), w, h)

    def patches(self, card: Mapping[str, Any], w: int, h: int) -> list[Patch] | None:
        key = self.key(card, w, h)
        with self._cond:
            ready = self._ready.get(key)
            if ready is not None:
                return ready
            if self._drawing != key and (self._wanted is None or self._wanted[0] != key):
                self._wanted = (key, dict(card), w, h)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="card-painter", daemon=True)
                    self._thread.start()
                self._cond.notify_all()
        return None

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or being drawn (for tests and benchmarks)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._wanted is None and self._drawing is None, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _steps(self, card: Mapping[str, Any], w: int, h: int) -> list[Patch]:
        """Every entrance step: the panel drawn and converted to I420 + alpha once, then slid and faded."""
        from media.scene.card_render import ENTRANCE_STEPS, card_panel, entrance

        if w < 8 or h < 8:
            return []
        full = rgba_to_patch(card_panel(card, w, h, font=self.font))
        alpha = full.alpha_y if full.alpha_y is not None else np.full((h, w), 255, np.uint16)
        steps = []
        for n in range(ENTRANCE_STEPS + 1):
            offset, fade = entrance(n / ENTRANCE_STEPS, h)
            offset = min(h, offset + offset % 2)  # whole chroma rows
            y, u, v = np.full((h, w), 16, np.uint8), np.full((h // 2, w // 2), 128, np.uint8), None
            v = u.copy()
            a = np.zeros((h, w), np.uint16)
            y[offset:] = full.y[: h - offset]
            u[offset // 2 :] = full.u[: (h - offset) // 2]
            v[offset // 2 :] = full.v[: (h - offset) // 2]
            a[offset:] = alpha[: h - offset].astype(np.uint32) * fade // 255
            a_uv = a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).round().astype(np.uint16)
            steps.append(Patch(y, u, v, a, a_uv))
        return steps

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wanted is not None or self._closed)
                if self._closed:
                    return
                assert self._wanted is not None
                key, card, w, h = self._wanted
                self._wanted, self._drawing = None, key
            try:
                steps = self._steps(card, w, h)
            except Exception:  # a card that cannot be drawn is left off (logged); the show goes on
                log.exception("Comment card %s could not be drawn.", card.get("comment_id"))
                steps = []
            with self._cond:
                self.draws += len(steps)
                self._ready[key] = steps
                while len(self._ready) > self.MAX_READY:
                    self._ready.popitem(last=False)
                self._drawing = None
                self._cond.notify_all()
