"""The program's audio: the on-stage, unmuted participants summed, paced by the video clock.

Receivers `push` each participant's audio as it arrives (any thread); the
frame loop `pull`s exactly the samples that belong to the next video frame,
so audio and video are stamped from one clock (the frame counter). A
participant's buffer is capped (late audio is dropped from its head), so a
stall never turns into growing delay; a short buffer is padded with silence.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

import numpy as np

# Enough to ride out network jitter; beyond it the oldest audio goes (latency stays bounded).
MAX_BUFFER_SECONDS = 0.25
SILENCE_DBFS = -100.0  # the level reported for digital silence (log of zero)


class Mixer:
    def __init__(self, *, sample_rate: int = 48000, channels: int = 2, max_buffer_seconds: float = MAX_BUFFER_SECONDS):
        self.sample_rate, self.channels = sample_rate, channels
        self.max_samples = int(sample_rate * max_buffer_seconds)
        self._buffers: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.level_dbfs = SILENCE_DBFS  # RMS of the last mix pulled, in dB below full scale (health)

    def push(self, source: str, samples: np.ndarray) -> None:
        """Append int16 audio of shape (n, channels) (or (n,) mono, spread to every channel)."""
        if samples.ndim == 1:
            samples = np.repeat(samples[:, None], self.channels, axis=1)
        elif samples.shape[1] != self.channels:
            samples = np.repeat(samples[:, :1], self.channels, axis=1)
        with self._lock:
            buffer = self._buffers.get(source)
            joined = samples if buffer is None else np.concatenate([buffer, samples])
            self._buffers[source] = joined[-self.max_samples :]

    def forget(self, source: str) -> None:
        with self._lock:
            self._buffers.pop(source, None)

    def pull(self, samples: int, sources: Iterable[str]) -> np.ndarray:
        """`samples` frames of the mix of `sources`; everyone else's audio is consumed and dropped."""
        wanted = set(sources)
        mix = np.zeros((samples, self.channels), dtype=np.int32)
        with self._lock:
            for source, buffer in list(self._buffers.items()):
                take = buffer[:samples]
                self._buffers[source] = buffer[samples:]
                if source in wanted and len(take):
                    mix[: len(take)] += take
        out = np.clip(mix, -32768, 32767).astype(np.int16)
        rms = math.sqrt(float(np.mean(np.square(out, dtype=np.float64)))) if out.size else 0.0
        self.level_dbfs = 20 * math.log10(rms / 32768) if rms > 0 else SILENCE_DBFS
        return out
