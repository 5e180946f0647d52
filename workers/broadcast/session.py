"""A broadcast session: one program source, one encoder, N pushers and a recorder.

Threads and what they may do:

* frame thread (``_frame_loop``): owns the output clock (frame n at n/fps),
  reads the source (the compositor renders here), falls back to the slate and
  hands the frame to the encoder thread. No database, no network, no blocking
  besides the source read, the pacing sleep and a full encoder queue.
* encoder thread (``_encode_loop``): encodes each frame once and offers the
  packets to every sink. Apart from the frame thread so that drawing frame n+1
  overlaps encoding frame n (x264 releases the GIL): on a busy machine the
  show keeps real time where one thread doing both fell behind. At most one
  frame waits between them, so a slow encoder slows the frame thread (which
  then skips slots) instead of piling up frames.
* one thread per pusher (network I/O, reconnects), the recorder thread
  (pipe to FFmpeg), the health thread (callbacks to Redis/Channels/DB).
* the control thread (the caller: the Celery task) starts and stops the
  session and adds or removes destinations while live.

Stop is graceful: the encoder is flushed, the pushers close, the recorder
finishes its file; all of it well within 5 s.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.broadcast.encoder import Encoder
from workers.broadcast.fanout import Fanout
from workers.broadcast.health import HealthCallback, HealthSampler
from workers.broadcast.pusher import DestinationSpec, Pusher
from workers.broadcast.recorder import Recorder
from workers.broadcast.rtmp import HostCheck, MediaPacket
from workers.broadcast.slate import Slate
from workers.broadcast.source import ProgramSource
from workers.broadcast.supervise import name_native_thread

log = logging.getLogger(__name__)

HOLD_SECONDS = 0.5  # repeat the last program frame this long before cutting to the slate (hides hiccups)


@dataclass
class ShowConfig:
    width: int
    height: int
    fps: int
    video_kbps: int
    audio_kbps: int
    title: str = ""
    encoder: str = "libx264"
    preset: str = "veryfast"
    recording_path: Path | None = None
    recording_format: str = "mp4"
    slate_image: str | None = None
    ffmpeg: str = "ffmpeg"
    sample_rate: int = 48000
    channels: int = 2
    encoder_threads: int = 0


class BroadcastSession:
    def __init__(
        self,
        config: ShowConfig,
        source: ProgramSource,
        *,
        host_check: HostCheck | None = None,
        on_health: HealthCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.source = source
        self.host_check = host_check
        self._clock = clock
        self.encoder = Encoder(
            width=config.width,
            height=config.height,
            fps=config.fps,
            video_kbps=config.video_kbps,
            audio_kbps=config.audio_kbps,
            sample_rate=config.sample_rate,
            channels=config.channels,
            codec=config.encoder,
            preset=config.preset,
            threads=config.encoder_threads,
        )
        self._headers = self.encoder.headers()
        self.slate = Slate(
            width=config.width,
            height=config.height,
            sample_rate=config.sample_rate,
            channels=config.channels,
            image=config.slate_image,
        )
        self.fanout = Fanout()
        self.pushers: dict[int, Pusher] = {}
        self.recorder: Recorder | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._frame_loop, name="frame-loop", daemon=True)
        self._encoder_thread = threading.Thread(target=self._encode_loop, name="encoder", daemon=True)
        # Frames from the frame thread to the encoder thread; None ends the show (flush, then stop).
        self._frames: queue.Queue[tuple[np.ndarray, np.ndarray] | None] = queue.Queue(maxsize=1)
        self._health = HealthSampler(self.health_snapshots, on_health) if on_health else None
        self.frames_encoded = 0
        self.slate_frames = 0
        self.skipped_slots = 0  # frame slots given up because the machine could not keep real time
        self.on_slate = False
        self.started_at: float | None = None
        self._last_program_at = 0.0
        self._last_video: np.ndarray | None = None
        self._lock = threading.Lock()

    # -- control (caller's thread) --
    def start(self, destinations: Sequence[DestinationSpec] = ()) -> None:
        self.source.start()
        if self.config.recording_path is not None:
            self.recorder = Recorder(
                self.config.recording_path,
                fmt=self.config.recording_format,
                headers=self._headers,
                ffmpeg=self.config.ffmpeg,
                video_kbps=self.config.video_kbps,
                audio_kbps=self.config.audio_kbps,
            )
            self.recorder.start()
            self.fanout.add(self.recorder)
        for spec in destinations:
            self.add_destination(spec)
        self.started_at = self._clock()
        self._encoder_thread.start()
        self._thread.start()
        if self._health:
            self._health.start()

    def add_destination(self, spec: DestinationSpec) -> bool:
        with self._lock:
            if spec.id in self.pushers:
                return False  # a destination never gets two pushes
            pusher = Pusher(
                spec,
                headers=lambda: self._headers,
                metadata=self.encoder.metadata,
                host_check=self.host_check,
                gop=self.fanout.current_gop,
            )
            self.pushers[spec.id] = pusher
        pusher.start()
        self.fanout.add(pusher)
        return True

    def remove_destination(self, destination_id: int) -> bool:
        with self._lock:
            pusher = self.pushers.pop(destination_id, None)
        if pusher is None:
            return False
        self.fanout.remove(destination_id)
        pusher.stop()
        return True

    def stop(self, timeout: float = 4.0) -> Path | None:
        """Flush the encoder, close every pusher, finish the recording. Returns the recording's path."""
        deadline = self._clock() + timeout
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(max(0.1, deadline - self._clock()))
        if self._encoder_thread.is_alive():
            self._encoder_thread.join(max(0.1, deadline - self._clock()))
        with self._lock:
            pushers = list(self.pushers.values())
        for p in pushers:
            p._stop.set()  # close all sockets first, then join: stops in parallel
            if p._publisher is not None:
                p._publisher.close()
        for p in pushers:
            p.stop(timeout=max(0.1, min(1.0, deadline - self._clock())))
        if self._health:
            self._health.stop()
        self.source.stop()
        path = None
        if self.recorder is not None:
            path = self.recorder.stop(timeout=max(0.5, deadline - self._clock()))
        return path

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self._encoder_thread.is_alive()

    def health_snapshots(self) -> list[dict[str, Any]]:
        with self._lock:
            pushers = list(self.pushers.values())
        program = "slate" if self.on_slate else "program"
        return [{**p.snapshot(), "program": program} for p in pushers]

    # -- the frame thread --
    def step(self, slot: int, slot_deadline: float) -> None:
        """Produce frame slot `slot`: program, held frame, or slate; hand it to the encoder thread."""
        sr, fps = self.config.sample_rate, self.config.fps
        samples = sr * (slot + 1) // fps - sr * slot // fps
        now = self._clock()
        frame = self.source.read(max(0.0, slot_deadline - now))
        now = self._clock()
        if frame is not None:
            video, audio = frame.video, frame.audio
            self._last_video, self._last_program_at = video, now
            if self.on_slate:
                log.info("Program is back; leaving the slate.")
            self.on_slate = False
        elif self._last_video is not None and now - self._last_program_at < HOLD_SECONDS:
            video, audio = self._last_video, np.zeros((samples, self.config.channels), dtype=np.int16)
        else:
            if not self.on_slate:
                log.info("Program source has no frames; sending the slate.")
            self.on_slate = True
            self.slate_frames += 1
            video, audio = self.slate.video, self.slate.audio(samples)
        self._hand_over((video, audio))

    def _hand_over(self, item: tuple[np.ndarray, np.ndarray] | None) -> None:
        while True:
            try:
                self._frames.put(item, timeout=0.5)
                return
            except queue.Full:
                if not self._encoder_thread.is_alive():
                    raise RuntimeError("the encoder thread has stopped") from None

    def _encode_loop(self) -> None:
        name_native_thread()
        try:
            while (item := self._frames.get()) is not None:
                packets: list[MediaPacket] = self.encoder.encode(*item)
                self.frames_encoded += 1
                self.fanout.publish(packets)
            self.fanout.publish(self.encoder.flush())
        except Exception:
            log.exception("encoder crashed")
            raise

    def _frame_loop(self) -> None:
        name_native_thread()
        fps = self.config.fps
        t0 = self._clock()
        slot = 0
        try:
            while not self._stop.is_set():
                self.step(slot, t0 + (slot + 1) / fps)
                slot += 1
                wait = t0 + slot / fps - self._clock()
                if wait > 0:
                    self._stop.wait(wait)
                elif wait < -1.0:
                    # More than a second behind (machine overloaded): skip slots rather than burst.
                    skipped = int(-wait * fps)
                    slot += skipped
                    self.skipped_slots += skipped
                    log.warning("Encoder is %.1f s behind real time; skipping %d frame slots.", -wait, skipped)
        except Exception:
            log.exception("frame loop crashed")
            raise
        finally:
            if self._encoder_thread.is_alive():
                self._hand_over(None)  # the encoder flushes what it holds, then ends
