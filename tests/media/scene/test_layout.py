"""The layout engine, exhaustively: every layout x every head count x landscape and vertical canvases."""

from __future__ import annotations

import itertools
import json

import pytest

from media.scene.layout import (
    LAYOUTS,
    MAX_ON_STAGE,
    Asset,
    Options,
    Participant,
    Rect,
    compose,
    vertical_canvas,
)

CANVASES = [(1920, 1080), (1280, 720), (854, 480), (1080, 1920), (720, 1280), (320, 180)]
PEOPLE = [Participant(id=f"guest-{i}", name=f"Person {i}", muted=(i == 3)) for i in range(1, MAX_ON_STAGE + 1)]
SHARE = "guest-1:screen"
ALL_OVERLAYS = Options(
    logo=Asset("asset:logo", x=0.85, y=0.03, scale=0.12, aspect=2.0),
    overlay=Asset("asset:frame", x=0.0, y=0.0, scale=1.0, aspect=16 / 9, opacity=0.5),
    banner_text="Live from StreamUs",
    comment_card=True,
)

CASES = [
    (layout, n, canvas, share)
    for layout, n, canvas, share in itertools.product(LAYOUTS, range(MAX_ON_STAGE + 1), CANVASES, (None, SHARE))
]


def scene_for(layout, n, canvas, share, options=None):
    return compose(layout=layout, on_stage=PEOPLE[:n], canvas=canvas, screen_share=share, options=options)


@pytest.mark.parametrize(("layout", "n", "canvas", "share"), CASES)
def test_invariants(layout, n, canvas, share):
    scene = scene_for(layout, n, canvas, share, ALL_OVERLAYS)
    width, height = canvas
    assert (scene.width, scene.height) == canvas

    for layer in scene.layers:
        r = layer.rect
        assert r.inside(width, height), f"{layer.kind} {r} outside {canvas}"
        assert r.x % 2 == r.y % 2 == r.w % 2 == r.h % 2 == 0, f"odd rect {r}"
        assert 0.0 <= layer.opacity <= 1.0
        assert layer.fit in ("cover", "contain")

    # Drawn in z order, and stable: the order is a pure function of the input.
    zs = [layer.z for layer in scene.layers]
    assert zs == sorted(zs)
    assert scene == scene_for(layout, n, canvas, share, ALL_OVERLAYS)

    # Every on-stage person exactly once, in stage order; solo shows the one it features (the first here).
    videos = [layer for layer in scene.layers if layer.kind == "video"]
    shown = PEOPLE[:1] if scene.layout == "solo" and n else PEOPLE[:n]
    assert [v.source for v in videos] == [p.id for p in shown]
    screens = [layer for layer in scene.layers if layer.kind == "screen"]
    assert len(screens) == (1 if scene.layout == "screen_share" else 0)

    # No unintended overlaps: only the PiP window sits on its main picture
    # (custom positions here are all given by the auto grid, so none overlap).
    tiles = scene.tiles()
    for a, b in itertools.combinations(tiles, 2):
        if scene.layout == "pip":
            continue
        assert not a.rect.overlaps(b.rect), f"{a.source} {a.rect} overlaps {b.source} {b.rect}"

    # Name tags sit on their own tile; the audio mix is the unmuted people on stage.
    tags = {layer.source: layer for layer in scene.layers if layer.kind == "name_tag"}
    assert set(tags) == {p.id for p in shown}
    # Nothing of a person goes under the banner: tiled layouts stop above it, tags are lifted over it.
    banner = next(layer for layer in scene.layers if layer.kind == "banner")
    for tag in tags.values():
        assert tag.rect.bottom <= banner.rect.y, f"name tag {tag.rect} under the banner {banner.rect}"
    if scene.layout in ("grid", "side_by_side", "screen_share"):
        for tile in scene.tiles():
            assert tile.rect.bottom <= banner.rect.y
    for video in videos:
        tag = tags[video.source].rect
        if min(canvas) >= 480 and scene.layout != "pip":
            assert video.rect.x <= tag.x and tag.right <= video.rect.right
            assert video.rect.y <= tag.y and tag.bottom <= video.rect.bottom
    assert list(scene.audio) == [p.id for p in PEOPLE[:n] if not p.muted]

    # What the browser gets.
    data = json.loads(json.dumps(scene.to_dict()))
    assert data["layout"] == scene.layout and len(data["layers"]) == len(scene.layers)


@pytest.mark.parametrize("canvas", [(1920, 1080), (1080, 1920)])
def test_fallback_to_grid_when_a_layout_cannot_hold_everyone(canvas):
    assert scene_for("solo", 1, canvas, None).layout == "solo"
    assert scene_for("side_by_side", 3, canvas, None).layout == "grid"
    assert scene_for("pip", 3, canvas, None).layout == "grid"
    assert scene_for("screen_share", 2, canvas, None).layout == "grid"
    assert scene_for("screen_share", 2, canvas, SHARE).layout == "screen_share"
    assert scene_for("side_by_side", 3, canvas, None).requested_layout == "side_by_side"


@pytest.mark.parametrize("canvas", [(1920, 1080), (1080, 1920)])
def test_solo_shows_the_featured_person_and_keeps_everyone_heard(canvas):
    scene = scene_for("solo", 3, canvas, None, Options(featured="guest-2"))
    assert scene.layout == "solo"
    (video,) = scene.tiles()
    assert video.source == "guest-2" and video.rect == Rect(0, 0, *canvas)
    assert list(scene.audio) == ["guest-1", "guest-2"]  # guest-3 is muted; nobody else is silenced
    # Nobody featured (or someone who left the stage): the first on stage.
    assert scene_for("solo", 3, canvas, None, Options(featured="guest-9")).tiles()[0].source == "guest-1"
    assert scene_for("solo", 3, canvas, None).tiles()[0].source == "guest-1"


@pytest.mark.parametrize("corner", ["top_left", "top_right", "bottom_left", "bottom_right"])
def test_pip_makes_the_featured_one_big_and_puts_the_window_in_the_chosen_corner(corner):
    scene = scene_for("pip", 2, (1920, 1080), None, Options(featured="guest-2", pip_corner=corner))
    big, window = scene.tiles()
    assert big.source == "guest-2" and big.rect == Rect(0, 0, 1920, 1080)
    assert window.source == "guest-1"
    assert (window.rect.x > 960) == corner.endswith("right")
    assert (window.rect.y > 540) == corner.startswith("bottom")


def test_a_banner_keeps_the_pip_window_and_full_screen_name_tags_above_it():
    options = Options(banner_text="Breaking", pip_corner="bottom_right")
    scene = scene_for("pip", 2, (1920, 1080), None, options)
    banner = next(layer for layer in scene.layers if layer.kind == "banner")
    _big, window = scene.tiles()
    assert window.rect.bottom <= banner.rect.y
    for tag in (layer for layer in scene.layers if layer.kind == "name_tag"):
        assert tag.rect.bottom <= banner.rect.y


def test_solo_fills_the_canvas():
    (video,) = scene_for("solo", 1, (1920, 1080), None).tiles()
    assert video.rect == Rect(0, 0, 1920, 1080) and video.fit == "cover"


def test_side_by_side_is_left_right_on_landscape_and_stacked_on_vertical():
    a, b = scene_for("side_by_side", 2, (1920, 1080), None).tiles()
    assert a.rect.right <= b.rect.x and a.rect.y == b.rect.y and a.rect.h == b.rect.h and a.rect.w == b.rect.w
    a, b = scene_for("side_by_side", 2, (1080, 1920), None).tiles()
    assert a.rect.bottom <= b.rect.y and a.rect.x == b.rect.x and a.rect.w == b.rect.w


def test_pip_window_is_small_in_the_corner_and_on_top():
    main, window = scene_for("pip", 2, (1920, 1080), None).tiles()
    assert main.rect == Rect(0, 0, 1920, 1080)
    assert window.z > main.z
    assert window.rect.w * window.rect.h < main.rect.w * main.rect.h / 10
    assert window.rect.x > 1920 / 2 and window.rect.y > 1080 / 2
    assert window.rect.overlaps(main.rect)


@pytest.mark.parametrize(
    ("n", "shape"),
    [(1, (1, 1)), (2, (2, 1)), (3, (2, 2)), (4, (2, 2)), (5, (3, 2)), (6, (3, 2)), (9, (3, 3)), (10, (4, 3))],
)
def test_grid_shapes_on_landscape(n, shape):
    tiles = scene_for("grid", n, (1920, 1080), None).tiles()
    cols = len({t.rect.x for t in tiles if t.rect.y == tiles[0].rect.y})
    rows = len({t.rect.y for t in tiles})
    assert (cols, rows) == shape
    assert len({(t.rect.w, t.rect.h) for t in tiles}) == 1, "all grid tiles the same size"


def test_grid_last_row_is_centred():
    tiles = scene_for("grid", 3, (1920, 1080), None).tiles()
    last = tiles[2].rect
    assert abs((last.x + last.w / 2) - 960) <= 2


def test_vertical_grid_uses_the_height():
    tiles = scene_for("grid", 4, (1080, 1920), None).tiles()
    rows = len({t.rect.y for t in tiles})
    assert rows >= 2
    assert all(t.rect.h >= t.rect.w for t in tiles), "portrait tiles on a portrait canvas"


def test_screen_share_puts_the_share_big_and_people_beside_it():
    scene = scene_for("screen_share", 3, (1920, 1080), SHARE)
    share, *people = scene.tiles()
    assert share.kind == "screen" and share.source == SHARE and share.fit == "contain"
    assert all(p.rect.x >= share.rect.right for p in people)
    assert share.rect.w > 3 * people[0].rect.w
    scene = scene_for("screen_share", 3, (1080, 1920), SHARE)
    share, *people = scene.tiles()
    assert all(p.rect.y >= share.rect.bottom for p in people)


def test_custom_positions_are_honoured_and_the_rest_gridded():
    options = Options(positions={"guest-1": (0.5, 0.5, 0.5, 0.5), "guest-2": (0.0, 0.0, 0.25, 0.25)})
    scene = compose(layout="custom", on_stage=PEOPLE[:3], canvas=(1920, 1080), options=options)
    rects = {t.source: t.rect for t in scene.tiles()}
    assert rects["guest-1"] == Rect(960, 540, 960, 540)
    assert rects["guest-2"] == Rect(0, 0, 480, 270)
    assert "guest-3" in rects
    # Out-of-range boxes are pulled back inside the canvas.
    wild = Options(positions={"guest-1": (0.9, 0.9, 0.5, 0.5)})
    (tile,) = compose(layout="custom", on_stage=PEOPLE[:1], canvas=(1280, 720), options=wild).tiles()
    assert tile.rect.inside(1280, 720) and tile.rect.w == 640


def test_overlays_are_layers_in_their_places():
    scene = scene_for("grid", 2, (1920, 1080), None, ALL_OVERLAYS)
    kinds = [layer.kind for layer in scene.layers]
    assert kinds[0] == "background" and kinds[1] == "overlay"
    assert kinds[-1] == "banner" and kinds[-2] == "comment"
    logo = next(layer for layer in scene.layers if layer.kind == "logo")
    assert logo.rect.x == 1632 and logo.rect.y == 32 and logo.rect.w == 230 and logo.rect.h == 114
    banner = scene.layers[-1]
    assert banner.rect.bottom == 1080 and banner.rect.w == 1920 and banner.label == "Live from StreamUs"
    comment = scene.layers[-2]
    assert comment.rect.bottom <= banner.rect.y


def test_no_overlays_when_switched_off():
    scene = scene_for("grid", 2, (1920, 1080), None, Options(name_tags=False))
    assert [layer.kind for layer in scene.layers] == ["background", "video", "video"]


def test_empty_stage_is_just_the_background():
    scene = scene_for("grid", 0, (1280, 720), None)
    assert [layer.kind for layer in scene.layers] == ["background"]
    assert scene.audio == ()


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        compose(layout="mosaic", on_stage=[], canvas=(1280, 720))
    with pytest.raises(ValueError):
        compose(layout="grid", on_stage=[], canvas=(1281, 720))
    with pytest.raises(ValueError):
        compose(layout="grid", on_stage=[PEOPLE[0], PEOPLE[0]], canvas=(1280, 720))


def test_vertical_companion_canvas():
    assert vertical_canvas(1920, 1080) == (1080, 1920)
    assert vertical_canvas(1280, 720) == (720, 1280)


def test_the_module_is_pure():
    import ast
    from pathlib import Path

    import media.scene.layout as layout_module

    tree = ast.parse(Path(layout_module.__file__).read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "math", "dataclasses", "typing"}, imported
