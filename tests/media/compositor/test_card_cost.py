"""Security finding 7: one long comment must not stall the program.

The reproduction: the card renderer wrapped an unbroken 500-character word one character at a time
(0.24-0.51 s of CPU per draw, against 9-16 ms for normal text), for each of 8 entrance steps, in the frame
path. Tests never assert timings (bench/card_render.py measures them); these assert the work done, which
is what made it slow: text measurements per draw, layouts per card, and whether the frame loop waits.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ImageFont

from media.broadcast.source import load_font, rgb_to_yuv, solid_i420
from media.compositor.renderer import Renderer, SourceFrame, planes
from media.scene import card_render
from media.scene.card_render import ENTRANCE_STEPS, draw_card
from tests.support.cards import HOSTILE, sample_card

W, H = 640, 360
CARD_W, CARD_H = 768, 200  # the card's slot on a 1080p program


class CountingFont:
    """A real font that counts the text measurements made with it."""

    def __init__(self, font: Any, counter: list[int]) -> None:
        self._font, self._counter = font, counter

    def getlength(self, *args: Any, **kwargs: Any) -> float:
        self._counter[0] += 1
        return float(self._font.getlength(*args, **kwargs))

    def font_variant(self, **kwargs: Any) -> CountingFont:
        return CountingFont(self._font.font_variant(**kwargs), self._counter)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._font, name)


def counting_loader(counter: list[int]):
    def load(size: int) -> Any:
        return CountingFont(ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", size), counter)

    return load


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_any_500_characters_are_laid_out_with_few_measurements(text):
    card_render.clear_caches()
    counter = [0]
    image = draw_card(sample_card(text), CARD_W, CARD_H, font=counting_loader(counter))
    assert image.size == (CARD_W, CARD_H)
    # Binary search per cut and per ellipsis, one measurement per word on the visible lines only.
    assert counter[0] <= 120, counter[0]


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_lines_fit_and_the_cut_ends_with_an_ellipsis(text):
    font = load_font(28)
    lines = card_render.wrap_text(text, font, 400, 4)
    assert 1 <= len(lines) <= 4
    for line in lines:
        assert font.getlength(line) <= 400 + 2
    assert lines[-1].endswith("\u2026")
    assert "".join(lines).replace(" ", "").replace("\u2026", "") in text.replace(" ", "")


def test_short_text_is_not_cut():
    assert card_render.wrap_text("Great show!", load_font(28), 400, 4) == ["Great show!"]
    assert card_render.wrap_text("", load_font(28), 400, 4) == []


def test_the_entrance_steps_share_one_layout():
    card_render.clear_caches()
    counter = [0]
    loader = counting_loader(counter)
    the_card = sample_card(HOSTILE["one unbroken word"])
    draw_card(the_card, CARD_W, CARD_H, progress=1 / ENTRANCE_STEPS, font=loader)
    first = counter[0]
    assert first > 0
    for step in range(2, ENTRANCE_STEPS + 1):
        draw_card(the_card, CARD_W, CARD_H, progress=step / ENTRANCE_STEPS, font=loader)
    assert counter[0] == first  # cached per text and size: no step measures again


def _graph() -> dict[str, Any]:
    return {
        "layers": [
            {"kind": "video", "source": "cam", "rect": {"x": 0, "y": 0, "w": W, "h": H}},
            {"kind": "comment", "rect": {"x": 20, "y": 200, "w": 300, "h": 100}},
        ]
    }


def test_the_frame_loop_never_waits_for_a_card_to_be_drawn():
    """A card whose drawing cannot finish yet: frames keep coming without it, then it appears."""
    renderer = Renderer(W, H)
    gate = threading.Event()
    entered = threading.Event()

    def gated_font(size: int) -> Any:
        entered.set()
        assert gate.wait(30), "the test never opened the gate"
        return load_font(size)

    renderer.card_font = gated_font
    renderer.comment_card = sample_card("A comment whose card takes its time", comment_id=7)
    renderer.card_clock = lambda: 1005.0  # fully entered
    grey = (128, 128, 128)
    frames = {"cam": SourceFrame(W, H, solid_i420(W, H, grey), received_at=0.0)}
    probe_y, probe_x = 290, 310  # inside the card's rect, bottom right (no text there)

    def luma() -> int:
        out: list[np.ndarray] = []
        worker = threading.Thread(target=lambda: out.append(renderer.render(_graph(), frames, now=0.0)))
        worker.start()
        worker.join(20)
        assert not worker.is_alive(), "render() waited for the card"
        return int(planes(out[0], W, H)[0][probe_y, probe_x])

    assert luma() == rgb_to_yuv(grey)[0]  # no card yet, and no wait
    assert entered.wait(10), "the card is being drawn off the frame thread"
    assert luma() == rgb_to_yuv(grey)[0]  # still drawing: still no wait
    gate.set()
    assert renderer.card_painter.wait_idle(30)
    brand = rgb_to_yuv((0x5B, 0x4B, 0xFF))[0]
    assert abs(luma() - brand) <= 3  # drawn, and shown from the next frame on
    renderer.close()


def test_a_renderer_without_cards_starts_no_thread():
    before = threading.active_count()
    renderer = Renderer(W, H)
    renderer.render({"layers": []}, {}, now=time.monotonic())
    assert threading.active_count() == before
    renderer.close()


PIECES = [*"abcWM il.-/😀漢字かな한국مرحبا ", "\u0301", "\u200d", "👍🏽", "https://", "  "]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=250).map(lambda parts: "".join(parts)[:500]),
    st.integers(min_value=60, max_value=900),
    st.integers(min_value=1, max_value=5),
)
def test_wrapped_lines_always_fit_and_keep_the_text_in_order(text, width, max_lines):
    from media.scene.graphemes import joins_previous

    font = load_font(24)
    lines = card_render.wrap_text(text, font, width, max_lines)
    assert len(lines) <= max_lines
    kept = "".join(line.removesuffix("\u2026") for line in lines).replace(" ", "")
    assert text.replace(" ", "").startswith(kept)
    for line in lines:
        glyphs = line.removesuffix("\u2026")
        one_grapheme = all(joins_previous(ch) or prev == "\u200d" for prev, ch in itertools.pairwise(glyphs))
        # Wider than `width` only when a single grapheme alone is (a very narrow column).
        assert font.getlength(line) <= width + 1 or one_grapheme, (line, font.getlength(line), width)


def test_a_long_show_of_cards_keeps_a_few_drawn_not_every_one():
    """The soak (bench/soak.py) grew the media process by 31 MB in 30 minutes of a card every 30 s: every
    card's whole RGBA panel was kept (64 of them). Only the card on screen and a few recent ones are kept."""
    card_render.clear_caches()
    for n in range(40):
        card_render.card_panel(sample_card(f"Comment number {n}: still watching!", comment_id=n), CARD_W, CARD_H)
    assert len(card_render._panels) <= card_render.MAX_PANELS
