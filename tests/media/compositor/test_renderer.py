"""The renderer on synthetic frames: scene graphs from the layout engine drawn into I420, read back by region."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from media.broadcast.source import rgb_to_yuv, solid_i420
from media.compositor.mixer import Mixer
from media.compositor.renderer import CARD_RGB, Renderer, SourceFrame, planes
from media.scene.layout import Asset, Options, Participant, compose

W, H = 640, 360
RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 200, 60), (40, 60, 220), (230, 220, 40)
COLOURS = {"guest-1": RED, "guest-2": GREEN, "guest-3": BLUE, "guest-4": YELLOW}
PEOPLE = [Participant(id=k, name=f"Person {k[-1]}") for k in COLOURS]


def frames(now: float = 10.0, size=(320, 180)) -> dict[str, SourceFrame]:
    return {k: SourceFrame(size[0], size[1], solid_i420(size[0], size[1], rgb), now) for k, rgb in COLOURS.items()}


def yuv_at(frame: np.ndarray, x: int, y: int, width: int = W, height: int = H) -> tuple[int, int, int]:
    py, pu, pv = planes(frame, width, height)
    return int(py[y, x]), int(pu[y // 2, x // 2]), int(pv[y // 2, x // 2])


def close(a, b, tol=3) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def centre(rect) -> tuple[int, int]:
    return rect["x"] + rect["w"] // 2, rect["y"] + rect["h"] // 4  # upper middle: away from the name tag


@pytest.mark.parametrize("layout", ["solo", "side_by_side", "grid", "pip", "custom"])
@pytest.mark.parametrize("canvas", [(W, H), (360, 640)])
def test_each_tile_shows_its_participant(layout, canvas):
    count = {"solo": 1, "side_by_side": 2, "pip": 2}.get(layout, 4)
    graph = compose(layout=layout, on_stage=PEOPLE[:count], canvas=canvas).to_dict()
    renderer = Renderer(*canvas)
    frame = renderer.render(graph, frames(), now=10.0)
    assert frame.shape == (canvas[0] * canvas[1] * 3 // 2,)
    videos = [layer for layer in graph["layers"] if layer["kind"] == "video"]
    assert len(videos) == count
    for layer in videos:
        x, y = centre(layer["rect"])
        if layout == "pip" and layer is videos[0]:
            x, y = layer["rect"]["w"] // 4, layer["rect"]["h"] // 4  # away from the window
        assert close(yuv_at(frame, x, y, *canvas), rgb_to_yuv(COLOURS[layer["source"]])), layer


def test_background_between_tiles_and_nothing_of_backstage():
    graph = compose(layout="grid", on_stage=PEOPLE[:2], canvas=(W, H), options=Options(background_colour="#000000"))
    frame = Renderer(W, H).render(graph.to_dict(), frames(), now=10.0)
    assert close(yuv_at(frame, 2, 2), rgb_to_yuv((0, 0, 0)))
    py, pu, _pv = planes(frame, W, H)
    blue = rgb_to_yuv(BLUE)
    assert not (
        (np.abs(py.astype(int) - blue[0]) <= 2)
        & (np.abs(pu.astype(int)[np.arange(H) // 2][:, np.arange(W) // 2] - blue[1]) <= 2)
    ).any()


def test_stale_source_gets_a_name_card():
    graph = compose(layout="side_by_side", on_stage=PEOPLE[:2], canvas=(W, H)).to_dict()
    renderer = Renderer(W, H, stale_after=0.5)
    sources = frames(now=10.0)
    sources["guest-2"].received_at = 9.0  # last frame a second ago: the camera stopped
    frame = renderer.render(graph, sources, now=10.0)
    left, right = [layer["rect"] for layer in graph["layers"] if layer["kind"] == "video"]
    assert close(yuv_at(frame, *centre(left)), rgb_to_yuv(RED))
    # The card's background, and somewhere on it the (light) text of the name.
    assert close(yuv_at(frame, right["x"] + 4, right["y"] + 4), rgb_to_yuv(CARD_RGB))
    py, _u, _v = planes(frame, W, H)
    tile = py[right["y"] : right["y"] + right["h"], right["x"] : right["x"] + right["w"]]
    assert tile.max() > 180
    # Missing entirely (left the room): a card too.
    del sources["guest-1"]
    frame = renderer.render(graph, sources, now=10.0)
    assert close(yuv_at(frame, left["x"] + 4, left["y"] + 4), rgb_to_yuv(CARD_RGB))


def test_contain_letterboxes_and_cover_crops():
    graph = compose(layout="screen_share", on_stage=PEOPLE[:1], canvas=(W, H), screen_share="guest-4:screen").to_dict()
    share = next(layer["rect"] for layer in graph["layers"] if layer["kind"] == "screen")
    sources = frames()
    # A 4:3 screen in a wider tile: bars left and right, picture in the middle.
    sources["guest-4:screen"] = SourceFrame(320, 240, solid_i420(320, 240, YELLOW), 10.0)
    frame = Renderer(W, H).render(graph, sources, now=10.0)
    assert close(yuv_at(frame, share["x"] + share["w"] // 2, share["y"] + share["h"] // 2), rgb_to_yuv(YELLOW))
    if share["w"] / share["h"] > 4 / 3 + 0.05:
        assert close(yuv_at(frame, share["x"] + 1, share["y"] + share["h"] // 2), (16, 128, 128))


def test_cover_keeps_the_centre_of_a_split_source():
    # Left half red, right half blue; a portrait tile crops the sides and keeps the seam in the middle.
    src = Image.new("RGB", (320, 180), RED)
    src.paste(Image.new("RGB", (160, 180), BLUE), (160, 0))
    from media.broadcast.source import rgb_image_to_i420

    graph = compose(layout="solo", on_stage=PEOPLE[:1], canvas=(360, 640)).to_dict()
    frame = Renderer(360, 640).render(graph, {"guest-1": SourceFrame(320, 180, rgb_image_to_i420(src), 1.0)}, now=1.0)
    assert close(yuv_at(frame, 90, 320, 360, 640), rgb_to_yuv(RED))
    assert close(yuv_at(frame, 270, 320, 360, 640), rgb_to_yuv(BLUE))


def test_overlays_draw_once_and_land_where_the_graph_says():
    logo = Image.new("RGBA", (200, 100), (255, 255, 255, 255))
    options = Options(logo=Asset("asset:1", x=0.8, y=0.05, scale=0.15, aspect=2.0), banner_text="Breaking news")
    graph = compose(layout="grid", on_stage=PEOPLE[:2], canvas=(W, H), options=options).to_dict()
    renderer = Renderer(W, H, load_asset=lambda source: logo if source == "asset:1" else None)
    first = renderer.render(graph, frames(), now=10.0)
    drawn = renderer.overlay_renders
    assert drawn == 4  # logo, banner, two name tags
    second = renderer.render(graph, frames(), now=10.0)
    assert renderer.overlay_renders == drawn, "overlays are re-drawn only when they change"
    assert np.array_equal(first, second)

    layers = {layer["kind"]: layer["rect"] for layer in graph["layers"]}
    lx, ly = layers["logo"]["x"] + layers["logo"]["w"] // 2, layers["logo"]["y"] + layers["logo"]["h"] // 2
    assert close(yuv_at(first, lx, ly), rgb_to_yuv((255, 255, 255)))
    banner = layers["banner"]
    # The banner is the brand colour (235/255 opaque over the background), at the bottom.
    by = banner["y"] + 2
    _y, u, v = yuv_at(first, banner["x"] + banner["w"] - 4, by)
    expect = rgb_to_yuv((91, 75, 255))
    assert abs(u - expect[1]) <= 12 and abs(v - expect[2]) <= 12


def test_fade_blends_two_scenes():
    a = solid_i420(W, H, (0, 0, 0))
    b = solid_i420(W, H, (255, 255, 255))
    assert np.array_equal(Renderer.fade(a, b, 0.0), a)
    assert np.array_equal(Renderer.fade(a, b, 1.0), b)
    mid = Renderer.fade(a, b, 0.5)
    assert abs(int(mid[0]) - (int(a[0]) + int(b[0])) // 2) <= 1


def test_renderer_never_writes_outside_its_canvas():
    graph = compose(layout="grid", on_stage=PEOPLE[:4], canvas=(1280, 720)).to_dict()
    frame = Renderer(W, H).render(graph, frames(), now=10.0)  # a graph for a bigger canvas
    assert frame.shape == (W * H * 3 // 2,)


def test_mixer_sums_only_the_wanted_sources_and_stays_bounded():
    mixer = Mixer(sample_rate=48000, channels=2, max_buffer_seconds=0.1)
    one = np.full((4800, 2), 1000, dtype=np.int16)
    mixer.push("a", one)
    mixer.push("b", one * 2)
    mixer.push("muted", one * 4)
    out = mixer.pull(1600, ["a", "b"])
    assert out.shape == (1600, 2) and (out == 3000).all()
    # The muted source's audio was consumed too, so unmuting later does not replay old sound.
    out = mixer.pull(3200, ["muted"])
    assert (out == 4000).all()
    assert (mixer.pull(100, ["a", "b", "muted"]) == 0).all(), "silence when buffers run dry"
    mixer.push("a", np.full((48000,), 30000, dtype=np.int16))  # a second of mono, capped to 0.1 s
    mixer.push("b", np.full((48000, 2), 30000, dtype=np.int16))
    loud = mixer.pull(4800, ["a", "b"])
    assert (loud == 32767).all(), "clipped, not wrapped"
    assert (mixer.pull(10, ["a"]) == 0).all(), "buffer was capped at 0.1 s"
