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

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from workers.broadcast.source import load_font, rgb_image_to_i420

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
    """Renders scene graph dicts (apps.streams.layout.SceneGraph.to_dict()) at one canvas size."""

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
        self.overlay_renders = 0
        # The on-screen comment card (apps.engagement.card.card_content), set from Redis by whoever runs the
        # renderer (apps.engagement.card_render.CardFollower); shown by its own shown_at / auto-hide times.
        self.comment_card: dict[str, Any] | None = None
        # The card's times are wall-clock (set by the web process), not the frame loop's monotonic `now`.
        self.card_clock: Callable[[], float] = time.time

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
            from workers.broadcast.source import solid_i420

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
        self.overlay_renders += 1
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
        """The comment card at this moment of its entrance, or None when it is not (or no longer) on screen."""
        from apps.engagement.card_render import card_frame_state, draw_card

        card = self.comment_card
        step = card_frame_state(card, self.card_clock())
        if card is None or step is None:
            return None
        key = ("comment_card", card.get("comment_id"), card.get("shown_at"), w, h, step)
        return self._cached(key, lambda: rgba_to_patch(draw_card(card, w, h, progress=step, font=load_font)))

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
