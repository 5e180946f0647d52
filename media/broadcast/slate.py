"""The fallback slate: what goes out while the program source has nothing.

Platform ingests close a stream that stops sending, so when the compositor
restarts or stalls the encoder keeps its clock and sends this card (the brand
image when the show has one, else a "We'll be right back" card) with a quiet
tone, then switches back as soon as program frames return.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from media.broadcast.source import load_font, rgb_image_to_i420, tone

log = logging.getLogger(__name__)

SLATE_BACKGROUND = (24, 28, 48)  # dark navy: reads as "intentional", distinct from any test scene colour
SLATE_TEXT = "We'll be right back"
SLATE_TONE_HZ = 1000.0
SLATE_TONE_LEVEL = 0.05  # quiet: keeps audio tracks alive without annoying anyone


class Slate:
    def __init__(
        self, *, width: int, height: int, sample_rate: int, channels: int, image: str | Path | None = None
    ) -> None:
        self.width, self.height = width, height
        self.sample_rate, self.channels = sample_rate, channels
        card = Image.new("RGB", (width, height), SLATE_BACKGROUND)
        fitted = None
        if image:
            try:
                with Image.open(image) as brand:
                    fitted = ImageOps.contain(brand.convert("RGBA"), (width * 2 // 3, height * 2 // 3))
            except (OSError, ValueError, Image.DecompressionBombError):
                log.warning("Slate image unreadable; using the plain card.")
        if fitted is not None:
            card.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2), fitted)
        else:
            draw = ImageDraw.Draw(card)
            font = load_font(max(14, height // 12))
            box = draw.textbbox((0, 0), SLATE_TEXT, font=font)
            draw.text(
                ((width - (box[2] - box[0])) // 2, (height - (box[3] - box[1])) // 2),
                SLATE_TEXT,
                fill=(240, 240, 240),
                font=font,
            )
        self.video = rgb_image_to_i420(card)
        self._sample = 0

    def audio(self, samples: int) -> np.ndarray:
        chunk = tone(self.sample_rate, self.channels, self._sample, samples, SLATE_TONE_HZ, SLATE_TONE_LEVEL)
        self._sample += samples
        return chunk
