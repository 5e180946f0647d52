"""The comment card: layout data, and the card in the composed program frame (decoded by FFmpeg)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from io import BytesIO

import numpy as np
from django.conf import settings
from PIL import Image

from apps.engagement import realtime, services
from media.broadcast.source import solid_i420
from media.compositor.renderer import Renderer, SourceFrame
from media.scene.card import card_content, card_layout, entrance_progress, is_visible
from media.scene.card_render import CardFollower, card_frame_state
from media.scene.layout import Options, Participant, compose
from tests.factories import BrandKitFactory

W, H = 1280, 720
VIDEO_RGB = (30, 160, 60)
BRAND_BG, BRAND_FG = "#1E2A9A", "#FFE000"


def _card(shown_at: float = 1000.0, auto_hide: int = 10, text: str = "Hello from Lisbon!") -> dict:
    return card_content(
        comment_id=7,
        platform="twitch",
        author_name="ana",
        avatar_url="",
        text=text,
        shown_at=datetime.fromtimestamp(shown_at, UTC),
        auto_hide_seconds=auto_hide,
        primary_colour=BRAND_BG,
        accent_colour=BRAND_FG,
    )


def test_card_content_and_timing():
    card = _card()
    assert card["initial"] == "A" and card["badge"] == {"label": "Twitch", "colour": "#9146FF"}
    assert not is_visible(card, 999.0) and is_visible(card, 1000.0) and is_visible(card, 1009.9)
    assert not is_visible(card, 1010.0)
    assert is_visible(_card(auto_hide=0), 10**9)  # 0: until taken off
    assert abs(entrance_progress(card, 1000.2) - 0.5) < 1e-6 and entrance_progress(card, 1005) == 1.0
    assert card_frame_state(card, 1011) is None and card_frame_state(None, 1000) is None


def test_card_layout_fits_landscape_and_vertical_canvases():
    long_text = "word " * 200
    for w, h in [(1920, 1080), (1280, 720), (1080, 1920)]:
        layout = card_layout(_card(text=long_text), w, h)
        x, y, cw, ch = layout["rect"]
        assert x >= 0 and y >= 0 and x + cw <= w and y + ch <= h
        assert len(layout["text"]["lines"]) <= 4 and layout["text"]["lines"][-1].endswith("\u2026")
    assert card_layout(_card(), 1080, 1920)["rect"][2] > card_layout(_card(), 1920, 1080)["rect"][2] * 0.5


def _decode(frame: np.ndarray) -> np.ndarray:
    """I420 → PNG through FFmpeg → RGB array: the pixels an encoder would see."""
    png = subprocess.run(
        [
            *(settings.FFMPEG_BIN, "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-i", "-"),
            *("-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-"),
        ],
        input=frame.tobytes(),
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)


def _near(pixel, rgb, tol=14) -> bool:
    return all(abs(int(a) - b) <= tol for a, b in zip(pixel, rgb, strict=True))


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_shown_comment_appears_in_the_composed_frame_where_the_scene_graph_puts_it(
    stream, django_capture_on_commit_callbacks
):
    stream.brand_kit = BrandKitFactory(owner=stream.owner, primary_colour=BRAND_BG, accent_colour=BRAND_FG)
    stream.save()
    comment = services.comment_ingest(
        stream=stream, platform="twitch", message_id="m1", author_name="ana", author_id="1", text="Great show!"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_show_on_screen(comment=comment)
    # The compositor side: follow the Redis key, render the scene graph with the card layer.
    follower = CardFollower(settings.REDIS_URL, realtime.comment_card_key(stream.pk))
    follower.poll_once(realtime.redis_client_str())
    assert follower.card is not None and follower.card["text"] == "Great show!"

    graph = compose(
        layout="solo",
        on_stage=[Participant(id="host", name="")],
        canvas=(W, H),
        options=Options(comment_card=True, name_tags=False, primary_colour=BRAND_BG, accent_colour=BRAND_FG),
    ).to_dict()
    (layer,) = [layer for layer in graph["layers"] if layer["kind"] == "comment"]
    rx, ry, rw, rh = (layer["rect"][k] for k in ("x", "y", "w", "h"))
    renderer = Renderer(W, H)
    renderer.comment_card = follower.card
    frames = {"host": SourceFrame(W, H, solid_i420(W, H, VIDEO_RGB), received_at=50.0)}
    shown_at = follower.card["shown_at"]

    def frame_at(t: float) -> np.ndarray:
        renderer.card_clock = lambda: t
        return _decode(renderer.render(graph, frames, now=50.0))

    # The first frame with the card asks the painter for it (off the frame thread) and goes out without it.
    assert _near(frame_at(shown_at + 1)[ry + rh - rh // 6, rx + rw - rw // 10], VIDEO_RGB)
    assert renderer.card_painter is not None and renderer.card_painter.wait_idle(10)

    before = frame_at(shown_at - 1)
    on = frame_at(shown_at + 1)
    after = frame_at(shown_at + 11)  # auto-hide is 10 s

    bg = _hex(BRAND_BG)
    # Bottom-right inside the card (no text there): brand colour when shown, video otherwise.
    probe = (ry + rh - rh // 6, rx + rw - rw // 10)
    assert _near(on[probe], bg)
    assert _near(before[probe], VIDEO_RGB) and _near(after[probe], VIDEO_RGB)
    # The brand-coloured area is the layer's rect (rounded corners aside), nothing outside it.
    mask = np.all(np.abs(on - np.array(bg)) <= 14, axis=2)
    ys, xs = np.nonzero(mask)
    assert abs(xs.min() - rx) <= 3 and abs(xs.max() - (rx + rw - 1)) <= 3
    assert abs(ys.min() - ry) <= 3 and abs(ys.max() - (ry + rh - 1)) <= 3
    outside = on.copy()
    outside[ry : ry + rh, rx : rx + rw] = VIDEO_RGB
    assert np.all(np.abs(outside - np.array(VIDEO_RGB)) <= 14)
    # The accent colour (author name and text) is drawn inside the card.
    text_mask = np.all(np.abs(on[ry : ry + rh, rx : rx + rw] - np.array(_hex(BRAND_FG))) <= 40, axis=2)
    assert text_mask.sum() > 200

    # Mid-entrance the card is still sliding in: its top rows show video.
    entering = frame_at(shown_at + 0.1)
    assert _near(entering[ry + 2, rx + rw // 2], VIDEO_RGB)

    with django_capture_on_commit_callbacks(execute=True):
        services.comment_take_off_screen(stream=stream)
    follower.poll_once(realtime.redis_client_str())
    assert follower.card is None
