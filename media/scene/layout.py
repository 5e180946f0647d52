"""The layout engine: (layout, who is on stage, screen share, canvas, options) → scene graph.

Pure: no Django, no I/O, no clock, no randomness, so the compositor (workers/),
the API and the browser preview get the same answer for the same input. The
scene graph is an ordered list of layers, drawn first to last:

    background (z 0) → overlay image (z 5) → video tiles (z 10+) → name tags (z 60+)
    → logo (z 80) → comment card (z 85) → banner (z 90)

Every rect is in canvas pixels with even x, y, w and h (I420 chroma is
subsampled 2x2; an odd edge would smear colour across tiles).

Layouts and how many people each shows:

| layout        | shows         | arrangement                                               |
|---------------|---------------|-----------------------------------------------------------|
| solo          | 1 of any      | the featured person (or the first) fills the canvas       |
| side_by_side  | 2             | halves: left/right on landscape, top/bottom on vertical   |
| pip           | 2             | the featured one fills the canvas, the other in a corner  |
| grid          | 1-10          | equal tiles, rows centred, sized for the canvas           |
| screen_share  | share + 0-10  | share in the main area, people in a sidebar (or below)    |
| custom        | any           | the host's own positions (fractions of the canvas)        |

When more people are on stage than a layout shows (or a screen-share layout
has no share), the engine falls back to the grid, so every on-stage person is
placed exactly once; `layout` in the output says what was drawn and
`requested_layout` what was asked for. Solo is the exception by design: the
host picks who goes solo (`Options.featured`), the others stay on stage, heard
but not seen.

A banner takes a band at the bottom of the canvas: tiled layouts leave it free,
and a name tag that would fall under it (full-canvas tiles, custom boxes) sits
just above it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

LAYOUTS = ("solo", "side_by_side", "grid", "pip", "screen_share", "custom")
MAX_ON_STAGE = 10
CAPACITY = {"side_by_side": 2, "pip": 2, "grid": MAX_ON_STAGE, "screen_share": MAX_ON_STAGE}
PIP_CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")

# Layer z bands (a layer's z is its band plus its index within the band).
Z_BACKGROUND = 0
Z_OVERLAY_IMAGE = 5
Z_VIDEO = 10
Z_PIP_WINDOW = 40
Z_NAME_TAG = 60
Z_LOGO = 80
Z_COMMENT = 85
Z_BANNER = 90

LANDSCAPE_TILE_ASPECT = 16 / 9
# Vertical programs: near-square portrait tiles keep faces big on a phone.
PORTRAIT_TILE_ASPECT = 4 / 5


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def overlaps(self, other: Rect) -> bool:
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom

    def inside(self, width: int, height: int) -> bool:
        return (
            self.x >= 0 and self.y >= 0 and self.right <= width and self.bottom <= height and self.w > 0 and self.h > 0
        )


@dataclass(frozen=True)
class Participant:
    """Someone on stage. `id` is their LiveKit identity (also the video source)."""

    id: str
    name: str = ""
    muted: bool = False
    has_video: bool = True


@dataclass(frozen=True)
class Asset:
    """An image overlay: position and width as fractions of the canvas (brand assets store these)."""

    source: str
    x: float = 0.0
    y: float = 0.0
    scale: float = 1.0
    opacity: float = 1.0
    aspect: float = 1.0  # the image's width / height, to size its box


@dataclass(frozen=True)
class Options:
    gap: float = 0.012  # between tiles, fraction of the canvas's short side
    margin: float = 0.03  # around the stage, fraction of the canvas's short side
    name_tags: bool = True
    background: Asset | None = None
    background_colour: str = "#101018"
    logo: Asset | None = None
    overlay: Asset | None = None
    banner_text: str = ""
    comment_card: bool = False
    primary_colour: str = "#5B4BFF"
    accent_colour: str = "#FFFFFF"
    # custom layout: participant id → (x, y, w, h) as fractions of the canvas
    positions: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    pip_corner: str = "bottom_right"  # one of PIP_CORNERS
    # Who solo shows, and who is big in picture-in-picture (a participant id); None: the first on stage.
    featured: str | None = None


@dataclass(frozen=True)
class Layer:
    kind: str  # background | overlay | video | screen | name_tag | logo | comment | banner
    source: str | None
    rect: Rect
    z: int
    fit: str = "cover"  # cover: fill and crop; contain: letterbox inside the rect
    opacity: float = 1.0
    label: str = ""
    style: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rect"] = asdict(self.rect)
        return data


@dataclass(frozen=True)
class SceneGraph:
    width: int
    height: int
    layout: str
    requested_layout: str
    layers: tuple[Layer, ...]
    audio: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "layout": self.layout,
            "requested_layout": self.requested_layout,
            "layers": [layer.to_dict() for layer in self.layers],
            "audio": list(self.audio),
        }

    def tiles(self) -> list[Layer]:
        return [layer for layer in self.layers if layer.kind in ("video", "screen")]

    def sources(self) -> dict[str, Rect]:
        """Video source → its tile: what the compositor subscribes to and at which size."""
        return {layer.source: layer.rect for layer in self.tiles() if layer.source}


# --- geometry helpers -------------------------------------------------------------------


def _even(value: float) -> int:
    return math.floor(value / 2) * 2


def _rect(x: float, y: float, w: float, h: float, width: int, height: int) -> Rect:
    """Snap origin and size to even pixels each (equal tiles stay equal), then clamp inside the canvas.

    Flooring both keeps a tile inside its float box, so a gap of at least 2 px
    between boxes still separates the snapped tiles.
    """
    ex = min(max(_even(x), 0), width - 2)
    ey = min(max(_even(y), 0), height - 2)
    ew = max(2, min(_even(w), width - ex))
    eh = max(2, min(_even(h), height - ey))
    return Rect(ex, ey, ew, eh)


def _fit_aspect(w: float, h: float, aspect: float) -> tuple[float, float]:
    """The largest wxh box of the given aspect inside wxh."""
    if w / h > aspect:
        return h * aspect, h
    return w, w / aspect


def _grid_shape(n: int, area_w: float, area_h: float, gap: float, aspect: float) -> tuple[int, int, float, float]:
    """Columns, rows and tile size giving the largest tiles of `aspect` for n people."""
    best: tuple[float, int, int, float, float] | None = None
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        if (rows - 1) * cols >= n:  # an empty last row: a smaller column count covers it
            continue
        cell_w = (area_w - gap * (cols - 1)) / cols
        cell_h = (area_h - gap * (rows - 1)) / rows
        if cell_w <= 0 or cell_h <= 0:
            continue
        tw, th = _fit_aspect(cell_w, cell_h, aspect)
        score = tw * th
        # Strictly better only: ties keep the first (fewer columns), so the choice is stable.
        if best is None or score > best[0] + 1e-6:
            best = (score, cols, rows, tw, th)
    assert best is not None
    return best[1], best[2], best[3], best[4]


def _grid_rects(
    n: int, x0: float, y0: float, area_w: float, area_h: float, gap: float, aspect: float
) -> list[tuple[float, float, float, float]]:
    """Float rects for a grid of n tiles centred in the area, the last row centred too."""
    if n == 0:
        return []
    cols, rows, tw, th = _grid_shape(n, area_w, area_h, gap, aspect)
    total_h = rows * th + (rows - 1) * gap
    top = y0 + (area_h - total_h) / 2
    rects: list[tuple[float, float, float, float]] = []
    for index in range(n):
        row, col = divmod(index, cols)
        in_row = min(cols, n - row * cols)
        row_w = in_row * tw + (in_row - 1) * gap
        left = x0 + (area_w - row_w) / 2
        rects.append((left + col * (tw + gap), top + row * (th + gap), tw, th))
    return rects


# --- the engine ------------------------------------------------------------------------------


def effective_layout(layout: str, count: int, screen_share: str | None, positions: dict | None = None) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout == "screen_share":
        return layout if screen_share else "grid"
    if layout in ("custom", "solo"):
        return layout
    return layout if count <= CAPACITY[layout] else "grid"


def compose(
    *,
    layout: str,
    on_stage: list[Participant] | tuple[Participant, ...],
    canvas: tuple[int, int],
    screen_share: str | None = None,
    options: Options | None = None,
) -> SceneGraph:
    """The scene graph for one canvas. See the module docstring."""
    options = options or Options()
    width, height = canvas
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ValueError(f"canvas must be even and at least 16x16, not {width}x{height}")
    people = list(on_stage)[:MAX_ON_STAGE]
    ids = [p.id for p in people]
    if len(set(ids)) != len(ids):
        raise ValueError("a participant can be on stage only once")
    drawn = effective_layout(layout, len(people), screen_share, options.positions)
    portrait = height > width
    short = min(width, height)
    gap = max(2.0, options.gap * short)
    margin = options.margin * short
    aspect = PORTRAIT_TILE_ASPECT if portrait else LANDSCAPE_TILE_ASPECT

    banner_h = _even(short * 0.075) if options.banner_text else 0
    # Tiled layouts stop above the banner: nobody's face or name tag goes under it.
    stage_h = height - banner_h
    featured = next((p for p in people if p.id == options.featured), people[0] if people else None)

    layers: list[Layer] = [_background(options, width, height)]
    if options.overlay is not None:
        layers.append(_asset_layer("overlay", options.overlay, Z_OVERLAY_IMAGE, width, height))

    tiles: list[tuple[Participant | None, Rect, int, str]] = []  # (person or None for the share, rect, z, fit)
    if drawn == "solo" and featured is not None:
        tiles.append((featured, Rect(0, 0, width, height), Z_VIDEO, "cover"))
    elif drawn == "side_by_side" and people:
        area = (margin, margin, width - 2 * margin, stage_h - 2 * margin)
        if len(people) == 1:
            rects = _grid_rects(1, *area, gap, aspect)
        elif portrait:
            half = (area[3] - gap) / 2
            rects = [(area[0], area[1], area[2], half), (area[0], area[1] + half + gap, area[2], half)]
        else:
            half = (area[2] - gap) / 2
            rects = [(area[0], area[1], half, area[3]), (area[0] + half + gap, area[1], half, area[3])]
        for index, (person, r) in enumerate(zip(people, rects, strict=False)):
            tiles.append((person, _rect(r[0], r[1], r[2], r[3], width, height), Z_VIDEO + index, "cover"))
    elif drawn == "pip" and featured is not None:
        tiles.append((featured, Rect(0, 0, width, height), Z_VIDEO, "cover"))
        others = [p for p in people if p is not featured]
        if others:
            window = _pip_window(options, width, stage_h, margin, aspect)
            tiles.append((others[0], window, Z_PIP_WINDOW, "cover"))
    elif drawn == "screen_share":
        tiles.extend(_screen_share_tiles(people, width, stage_h, margin, gap, aspect, portrait))
    elif drawn == "custom":
        tiles.extend(_custom_tiles(people, options, width, height, stage_h, margin, gap, aspect))
    elif people:  # grid
        area = (margin, margin, width - 2 * margin, stage_h - 2 * margin)
        for index, (person, r) in enumerate(zip(people, _grid_rects(len(people), *area, gap, aspect), strict=True)):
            tiles.append((person, _rect(r[0], r[1], r[2], r[3], width, height), Z_VIDEO + index, "cover"))

    for who, rect, z, fit in tiles:
        if who is None:
            layers.append(Layer("screen", screen_share, rect, z, fit="contain", label="Screen"))
        else:
            layers.append(Layer("video", who.id, rect, z, fit=fit, label=who.name))
    if options.name_tags:
        for index, (who, rect, _z, _fit) in enumerate(tiles):
            if who is not None and who.name:
                layers.append(_name_tag(who, rect, Z_NAME_TAG + index, options, short, width, stage_h))
    if options.logo is not None:
        layers.append(_asset_layer("logo", options.logo, Z_LOGO, width, height))
    if options.comment_card:
        card_w, card_h = width * (0.86 if portrait else 0.42), short * 0.16
        y = height - margin - banner_h - card_h - (gap if banner_h else 0)
        layers.append(
            Layer(
                "comment",
                "comment",
                _rect(margin, y, card_w, card_h, width, height),
                Z_COMMENT,
                fit="contain",
                style={"bg": options.primary_colour, "fg": options.accent_colour},
            )
        )
    if options.banner_text:
        layers.append(
            Layer(
                "banner",
                None,
                _rect(0, height - banner_h, width, banner_h, width, height),
                Z_BANNER,
                fit="contain",
                label=options.banner_text,
                style={"bg": options.primary_colour, "fg": options.accent_colour},
            )
        )
    layers.sort(key=lambda layer: layer.z)  # stable: equal z keeps insertion order
    # Everyone on stage is heard, shown or not (solo on one person keeps the others' voices).
    audio = tuple(p.id for p in people if not p.muted)
    return SceneGraph(width, height, drawn, layout, tuple(layers), audio)


def _background(options: Options, width: int, height: int) -> Layer:
    if options.background is not None:
        return Layer("background", options.background.source, Rect(0, 0, width, height), Z_BACKGROUND, fit="cover")
    return Layer(
        "background",
        None,
        Rect(0, 0, width, height),
        Z_BACKGROUND,
        fit="cover",
        style={"bg": options.background_colour},
    )


def _asset_layer(kind: str, asset: Asset, z: int, width: int, height: int) -> Layer:
    w = max(2.0, asset.scale * width)
    h = max(2.0, w / max(asset.aspect, 0.01))
    x = min(asset.x * width, width - w)
    y = min(asset.y * height, height - h)
    return Layer(kind, asset.source, _rect(x, y, w, h, width, height), z, fit="contain", opacity=asset.opacity)


def _name_tag(person: Participant, tile: Rect, z: int, options: Options, short: int, width: int, height: int) -> Layer:
    """A lower third inside the tile's bottom-left corner, sized from the tile so small tiles get small tags.

    `height` is the bottom of the stage (the canvas less the banner's band).
    """
    h = max(12.0, min(tile.h * 0.14, short * 0.06))
    w = min(tile.w * 0.8, max(h * 4, h * 0.6 * len(person.name) + h))
    inset = max(4.0, tile.h * 0.04)
    # `height` is the stage's: above the banner when there is one (a full-canvas tile's tag is lifted).
    bottom = min(tile.bottom, height) - inset
    rect = _rect(tile.x + inset, max(0.0, bottom - h), w, h, width, height)
    return Layer(
        "name_tag",
        person.id,
        rect,
        z,
        fit="contain",
        label=person.name,
        style={"bg": options.primary_colour, "fg": options.accent_colour},
    )


def _pip_window(options: Options, width: int, height: int, margin: float, aspect: float) -> Rect:
    """The small window in `options.pip_corner`, inside width x height (the stage above any banner)."""
    w = width * (0.38 if height > width else 0.25)
    h = w / aspect
    right = "right" in options.pip_corner
    bottom = "bottom" in options.pip_corner
    x = width - margin - w if right else margin
    y = height - margin - h if bottom else margin
    return _rect(x, y, w, h, width, height)


def _screen_share_tiles(
    people: list[Participant], width: int, height: int, margin: float, gap: float, aspect: float, portrait: bool
) -> list[tuple[Participant | None, Rect, int, str]]:
    """The share takes the main area; people go in a column on the right (landscape) or a row below (vertical)."""
    tiles: list[tuple[Participant | None, Rect, int, str]] = []
    inner_w, inner_h = width - 2 * margin, height - 2 * margin
    if not people:
        tiles.append((None, _rect(margin, margin, inner_w, inner_h, width, height), Z_VIDEO, "contain"))
        return tiles
    if portrait:
        strip_h = inner_h * (0.22 if len(people) <= 3 else 0.30)
        share_h = inner_h - strip_h - gap
        tiles.append((None, _rect(margin, margin, inner_w, share_h, width, height), Z_VIDEO, "contain"))
        rects = _grid_rects(len(people), margin, margin + share_h + gap, inner_w, strip_h, gap, aspect)
    else:
        side_w = inner_w * (0.20 if len(people) <= 4 else 0.26)
        share_w = inner_w - side_w - gap
        tiles.append((None, _rect(margin, margin, share_w, inner_h, width, height), Z_VIDEO, "contain"))
        rects = _grid_rects(len(people), margin + share_w + gap, margin, side_w, inner_h, gap, aspect)
    for index, (person, r) in enumerate(zip(people, rects, strict=True)):
        tiles.append((person, _rect(r[0], r[1], r[2], r[3], width, height), Z_VIDEO + 1 + index, "cover"))
    return tiles


def _custom_tiles(
    people: list[Participant],
    options: Options,
    width: int,
    height: int,
    stage_h: int,
    margin: float,
    gap: float,
    aspect: float,
) -> list[tuple[Participant | None, Rect, int, str]]:
    """The host's own boxes (later ones on top); anyone without a box is laid out as a grid."""
    tiles: list[tuple[Participant | None, Rect, int, str]] = []
    unplaced = []
    for index, person in enumerate(people):
        box = options.positions.get(person.id)
        if box is None:
            unplaced.append(person)
            continue
        fx, fy, fw, fh = (min(max(float(v), 0.0), 1.0) for v in box)
        fw, fh = max(fw, 0.02), max(fh, 0.02)
        fx, fy = min(fx, 1 - fw), min(fy, 1 - fh)
        tiles.append(
            (person, _rect(fx * width, fy * height, fw * width, fh * height, width, height), Z_VIDEO + index, "cover")
        )
    if unplaced:
        area = (margin, margin, width - 2 * margin, stage_h - 2 * margin)
        for person, r in zip(unplaced, _grid_rects(len(unplaced), *area, gap, aspect), strict=True):
            tiles.append(
                (person, _rect(r[0], r[1], r[2], r[3], width, height), Z_VIDEO + people.index(person), "cover")
            )
        tiles.sort(key=lambda t: t[2])
    return tiles


def vertical_canvas(width: int, height: int) -> tuple[int, int]:
    """The 9:16 companion of a landscape program: same short side (1920x1080 → 1080x1920)."""
    return (min(width, height), max(width, height))
