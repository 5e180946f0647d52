"""Clips and playlists played into the program: decoded on their own thread, read on the program's clock.

    ClipPlayer(items, sizes={"landscape": (w, h)}, fps=30).start()
    frame, audio, finished = player.read("landscape", samples)     # once per program frame, never blocks

* One decode thread (PyAV) per playback walks the playlist's mezzanines one
  after another. Each video frame is converted to I420 at the clip tile's
  size of every canvas (letterboxed by the renderer when the aspect differs),
  each audio frame resampled to the mixer's format (int16, 48 kHz, stereo).
* One clock: the playlist is one timeline. A clip starts where the previous
  one's video ended, and its audio is padded or cut to that length, so the
  picture and the sound of clip N+1 start together however long the playlist.
  A canvas reading its k-th frame gets the picture at k/fps on that timeline
  and exactly the samples [k·rate/fps, (k+1)·rate/fps): the program's frame
  counter is the only clock, as for the rest of the mix.
* `read` never waits: a decoder running late repeats the last picture and
  pads silence, it does not stall the frame loop. The decoder keeps at most
  BUFFER_SECONDS ahead of the slowest canvas still reading.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from media.broadcast.supervise import name_native_thread
from media.compositor.renderer import SourceFrame

log = logging.getLogger(__name__)

# Decode this far ahead of the slowest reader: rides out a slow keyframe without holding many raw frames.
BUFFER_SECONDS = 1.0
# A canvas that has not read for this long (its encoder stopped) no longer holds the decoder back.
STALE_READER_SECONDS = 2.0
# Mezzanines are our own files in our own storage; nothing else may be opened from them.
OPEN_OPTIONS = {"protocol_whitelist": "file,http,https,tcp,tls"}


def contained_size(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """The largest even size of the clip's aspect inside the box (the renderer letterboxes the rest)."""
    if width <= 0 or height <= 0:
        return box_w, box_h
    scale = min(box_w / width, box_h / height)
    return max(2, min(box_w, int(width * scale) // 2 * 2)), max(2, min(box_h, int(height * scale) // 2 * 2))


@dataclass
class _Cursor:
    frames: int = 0  # program frames read since the playback started on this canvas
    video_index: int = -1  # absolute index of the picture shown
    last_read: float = field(default_factory=time.monotonic)


class ClipPlayer:
    """Plays `items` (dicts with a "path" or "url", and "source", "title", "duration") in order."""

    def __init__(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        sizes: Mapping[str, tuple[int, int]],
        fps: int,
        sample_rate: int = 48000,
        channels: int = 2,
        playback_id: str = "",
        transition: Mapping[str, Any] | None = None,
        opener: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> None:
        self.items = list(items)
        self.sizes = dict(sizes)
        self.fps, self.sample_rate, self.channels = fps, sample_rate, channels
        self.id = playback_id
        self.transition = dict(transition or {"kind": "cut", "duration_ms": 0})
        self._open = opener or (lambda item: str(item.get("path") or item.get("url")))
        self._cond = threading.Condition()
        # Decoded, not yet read by every canvas: (playlist time, canvas → picture); index base = _video_base.
        self._video: list[tuple[float, dict[str, SourceFrame]]] = []
        self._video_base = 0
        self._audio = np.zeros((0, channels), dtype=np.int16)
        self._audio_base = 0  # playlist sample index of _audio[0]
        self._audio_end = 0  # playlist sample index one past the last decoded sample
        self._cursors: dict[str, _Cursor] = {}
        # Where each clip starts on the playlist timeline (filled as clips are decoded; the metadata guesses first).
        self.clip_starts: list[float] = []
        self.expected_duration = sum(float(item.get("duration") or 0) for item in self.items)
        self.decoded_end: float | None = None  # playlist length once every clip is decoded
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> ClipPlayer:
        self._thread = threading.Thread(target=self._decode_all, name="compositor-playback", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Idempotent; the decode thread ends at its next frame."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_stopped(self, timeout: float) -> bool:
        return self._stop.wait(timeout)

    # --- the frame loop's side ------------------------------------------------------------

    def read(self, canvas: str, samples: int) -> tuple[SourceFrame | None, np.ndarray, bool]:
        """The picture and the audio of this canvas's next frame, and whether the playlist is over for it."""
        with self._cond:
            if not self._video and self._video_base == 0 and self.decoded_end is None:
                # Nothing decoded yet (the first keyframe is on its way): the clip has not started, its clock
                # waits, and the program keeps showing what it showed.
                return None, np.zeros((samples, self.channels), dtype=np.int16), False
            cursor = self._cursors.setdefault(canvas, _Cursor())
            n = cursor.frames
            cursor.frames += 1
            cursor.last_read = time.monotonic()
            t = n / self.fps
            finished = self.decoded_end is not None and t >= self.decoded_end - 1e-6
            # The newest picture not later than t (decoder late: the last one again).
            index = max(cursor.video_index, self._video_base - 1)
            top = self._video_base + len(self._video)
            while index + 1 < top and self._video[index + 1 - self._video_base][0] <= t + 1e-6:
                index += 1
            cursor.video_index = index
            frame = None
            if index >= self._video_base:
                frame = self._video[index - self._video_base][1].get(canvas)
            start = self.sample_rate * n // self.fps
            audio = np.zeros((samples, self.channels), dtype=np.int16)
            lo, hi = max(start, self._audio_base), min(start + samples, self._audio_end)
            if hi > lo:
                audio[lo - start : hi - start] = self._audio[lo - self._audio_base : hi - self._audio_base]
            self._trim()
            self._cond.notify_all()
        if frame is not None:
            frame = SourceFrame(frame.width, frame.height, frame.data, time.monotonic())
        return frame, audio, finished

    def progress(self, canvas: str | None = None) -> dict[str, Any]:
        """Where the playlist is for a canvas (the first one that read): clip index, position, remaining."""
        with self._cond:
            cursors = self._cursors
            cursor = cursors.get(canvas) if canvas else next(iter(cursors.values()), None)
            t = (cursor.frames / self.fps) if cursor else 0.0
            starts = list(self.clip_starts)
            total = self.decoded_end if self.decoded_end is not None else max(self.expected_duration, t)
        index = max(0, bisect.bisect_right(starts, t + 1e-6) - 1) if starts else 0
        index = min(index, max(0, len(self.items) - 1))
        item = self.items[index] if self.items else {}
        clip_start = starts[index] if index < len(starts) else 0.0
        clip_end = starts[index + 1] if index + 1 < len(starts) else clip_start + float(item.get("duration") or 0)
        if self.decoded_end is not None and index == len(starts) - 1:
            clip_end = self.decoded_end
        return {
            "id": self.id,
            "index": index,
            "clip": item.get("source"),
            "title": item.get("title", ""),
            "position": round(max(0.0, t - clip_start), 3),
            "clip_remaining": round(max(0.0, clip_end - t), 3),
            "elapsed": round(t, 3),
            "remaining": round(max(0.0, total - t), 3),
            "finished": self.decoded_end is not None and t >= self.decoded_end - 1e-6,
        }

    def buffered_until(self) -> float:
        """Playlist time decoded so far (health, tests): the last picture's time, or the end once all is decoded."""
        with self._cond:
            if self.decoded_end is not None:
                return self.decoded_end
            return self._video[-1][0] if self._video else 0.0

    def finished(self, canvas: str) -> bool:
        with self._cond:
            cursor = self._cursors.get(canvas)
            t = cursor.frames / self.fps if cursor else 0.0
            return self.decoded_end is not None and t >= self.decoded_end - 1e-6

    # --- buffer bookkeeping (under the lock) ------------------------------------------------

    def _active(self) -> list[_Cursor]:
        now = time.monotonic()
        return [c for c in self._cursors.values() if now - c.last_read <= STALE_READER_SECONDS]

    def _reader_time(self) -> float:
        """The playlist time of the slowest canvas still reading (0 before anyone read)."""
        active = self._active()
        if active:
            return min(c.frames for c in active) / self.fps
        return max((c.frames for c in self._cursors.values()), default=0) / self.fps

    def _trim(self) -> None:
        active = self._active() or list(self._cursors.values())
        if not active:
            return
        keep_video = min(c.video_index for c in active)  # the picture each canvas shows stays
        drop = keep_video - self._video_base
        if drop > 0:
            del self._video[:drop]
            self._video_base += drop
        keep_sample = min(self.sample_rate * c.frames // self.fps for c in active)
        drop = min(keep_sample - self._audio_base, len(self._audio))
        if drop > 0:
            self._audio = self._audio[drop:]
            self._audio_base += drop

    # --- the decode thread ------------------------------------------------------------------

    def _wait_for_room(self, t: float) -> bool:
        """Block the decoder (never the frame loop) while it is BUFFER_SECONDS ahead; False when stopped."""
        with self._cond:
            while not self._stop.is_set() and t - self._reader_time() > BUFFER_SECONDS:
                self._cond.wait(0.1)
        return not self._stop.is_set()

    def _decode_all(self) -> None:
        name_native_thread()
        offset = 0.0
        for index, item in enumerate(self.items):
            if self._stop.is_set():
                return
            with self._cond:
                self.clip_starts.append(offset)
            try:
                offset = self._decode_clip(item, offset)
            except Exception:  # a broken clip is skipped; the show and the playlist go on
                log.exception("playback: clip %s (%s) could not be played", index, item.get("source"))
            with self._cond:
                self._align_audio(offset)
        with self._cond:
            self.decoded_end = offset
            self._cond.notify_all()

    def _align_audio(self, end: float) -> None:
        """Pad (silence) or cut the audio to end exactly where the video ends: the next clip starts in sync."""
        target = round(end * self.sample_rate)
        if self._audio_end < target:
            pad = np.zeros((target - self._audio_end, self.channels), dtype=np.int16)
            self._audio = np.concatenate([self._audio, pad])
        elif self._audio_end > target:
            keep = max(0, target - self._audio_base)
            self._audio = self._audio[:keep]
        self._audio_end = target

    def _decode_clip(self, item: Mapping[str, Any], offset: float) -> float:
        """Decode one clip onto the timeline at `offset`; returns where the next clip starts."""
        import av

        container = av.open(self._open(item), options=OPEN_OPTIONS)
        try:
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            audio_streams = list(container.streams.audio[:1])
            rate = video.average_rate or video.guessed_rate or self.fps
            frame_step = 1.0 / float(rate)
            layout = "stereo" if self.channels == 2 else "mono"
            resampler = av.AudioResampler(format="s16", layout=layout, rate=self.sample_rate)
            first: float | None = None
            end = offset
            tiles: dict[str, tuple[int, int]] = {}
            for packet in container.demux(video, *audio_streams):
                for frame in packet.decode():
                    if self._stop.is_set():
                        return end
                    if isinstance(frame, av.VideoFrame):
                        at = float(frame.time or 0.0)
                        first = at if first is None else first
                        t = offset + max(0.0, at - first)
                        if not self._wait_for_room(t):
                            return end
                        if not tiles:
                            tiles = {
                                name: contained_size(frame.width, frame.height, w, h)
                                for name, (w, h) in self.sizes.items()
                            }
                        pictures = {}
                        for name, (w, h) in tiles.items():
                            data = frame.reformat(width=w, height=h, format="yuv420p").to_ndarray().reshape(-1)
                            pictures[name] = SourceFrame(w, h, np.ascontiguousarray(data), 0.0)
                        with self._cond:
                            self._video.append((t, pictures))
                        end = max(end, t + frame_step)
                    elif isinstance(frame, av.AudioFrame):
                        self._push_audio(resampler.resample(frame))
            self._push_audio(resampler.resample(None))
            return end
        finally:
            container.close()

    def _push_audio(self, frames: list[Any]) -> None:
        chunks = [f.to_ndarray().reshape(-1, self.channels) for f in frames]
        if not chunks:
            return
        with self._cond:
            self._audio = np.concatenate([self._audio, *chunks]).astype(np.int16, copy=False)
            self._audio_end += sum(len(c) for c in chunks)
