"""A broadcast session: one program source, one encoder, N pushers and a recorder.

Threads and what they may do:

* frame thread (``_frame_loop``): owns the output clock. Slot n is [n/fps, (n+1)/fps) of wall time
  since the first frame, always (media/broadcast/pacing.py says why). For each slot it reads the
  source (the compositor renders here), falls back to a held frame or the slate, and hands
  (slot, picture, audio) to the encoder thread. When the show is behind the clock, or the encoder
  still holds the previous picture, the slot's picture is dropped and only its audio goes on: the
  program keeps wall-clock time and its audio stays continuous. No database, no network, no
  blocking besides the source read and the pacing sleep.
* encoder thread (``_encode_loop``): encodes each slot once (picture at its slot's timestamp, audio
  after the previous slot's) and offers the packets to every sink. Apart from the frame thread so
  that drawing frame n+1 overlaps encoding frame n (x264 releases the GIL). At most two pictures
  wait between the two threads (MAX_PENDING_PICTURES). Once a second it lets the ``Governor`` judge the last window and
  steps the encoder down (faster preset, fewer fps, smaller picture) when the machine stays too slow.
* one thread per pusher (network I/O, reconnects), the recorder thread (pipe to FFmpeg), the
  health thread (callbacks to Redis/Channels/DB: the destinations' samples and the program's).
* the control thread (the caller: the Celery task) starts and stops the session and adds or
  removes destinations while live.

Stop is graceful: the encoder is flushed, the pushers close, the recorder finishes its file; all of
it well within 5 s.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from media.broadcast.encoder import Encoder
from media.broadcast.fanout import Fanout
from media.broadcast.health import HealthCallback, HealthSampler
from media.broadcast.pacing import STEP_DOWN_SECONDS, Governor, ProgramFigures, Step, ladder
from media.broadcast.packet import MediaPacket
from media.broadcast.pusher import DestinationSpec, Pusher
from media.broadcast.recorder import Recorder
from media.broadcast.rtmp import HostCheck
from media.broadcast.slate import Slate
from media.broadcast.source import ProgramSource
from media.broadcast.supervise import name_native_thread

log = logging.getLogger(__name__)

HOLD_SECONDS = 0.5  # repeat the last program frame this long before cutting to the slate (hides hiccups)
# A picture may go out this late on its slot's timestamp (the next ones catch up); a slot later than this
# has its picture dropped. Bounds the extra latency a busy machine adds, and absorbs scheduling jitter.
LATE_SLACK_SECONDS = 0.25
# Pictures that may wait for the encoder: two absorb its jitter (one slow frame) at the cost of one frame of
# latency; a third would only be drawn to be dropped.
MAX_PENDING_PICTURES = 2
# Slots waiting for the encoder beyond which the frame thread waits for it (audio-only slots are small;
# this is only reached when the encoder stalls outright).
MAX_PENDING_SLOTS = 300


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
    # How long the program may stay below real time before the encoder steps down (pacing.py).
    step_down_seconds: float = STEP_DOWN_SECONDS
    # Start this far down the ladder (the worker measured it cannot carry the asked setting), and why.
    start_level: int = 0
    start_reason: str = ""


@dataclass
class _Slot:
    index: int
    video: np.ndarray | None  # None: the picture of this slot is dropped (audio only)
    audio: np.ndarray
    size: tuple[int, int]


class BroadcastSession:
    def __init__(
        self,
        config: ShowConfig,
        source: ProgramSource,
        *,
        host_check: HostCheck | None = None,
        on_health: HealthCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "landscape",
    ) -> None:
        self.config = config
        self.source = source
        self.host_check = host_check
        self.name = name
        self._clock = clock
        self.governor = Governor(
            ladder(
                preset=config.preset,
                fps=config.fps,
                width=config.width,
                height=config.height,
                encoder=config.encoder,
            ),
            clock=clock,
            step_down_seconds=config.step_down_seconds,
        )
        if config.start_level:
            self.governor.start_at(config.start_level, config.start_reason)
        self._step = self.governor.step
        self.encoder = Encoder(
            width=self._step.width,
            height=self._step.height,
            fps=config.fps,
            video_kbps=config.video_kbps,
            audio_kbps=config.audio_kbps,
            sample_rate=config.sample_rate,
            channels=config.channels,
            codec=config.encoder,
            preset=self._step.preset,
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
        self.recordings: list[Path] = []  # every segment this session recorded (a step down starts a new one)
        self._closing: list[threading.Thread] = []  # recorders of earlier segments finishing their files
        # New recording parts are started from this thread, which lives as long as the show: FFmpeg dies with
        # the thread that started it (supervise.spawn), and the encoder thread that asks ends first.
        self._spawner = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="recorder-spawn")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._frame_loop, name="frame-loop", daemon=True)
        self._encoder_thread = threading.Thread(target=self._encode_loop, name="encoder", daemon=True)
        # Slots from the frame thread to the encoder thread; None ends the show (flush, then stop).
        self._slots: collections.deque[_Slot | None] = collections.deque()
        self._slots_cond = threading.Condition()
        self._pictures_pending = 0  # pictures handed over and not yet taken by the encoder
        self.figures = ProgramFigures(clock)
        # Called with ("render" | "encode", seconds) for every picture: the media process's histograms
        # (apps/shows/metrics.py). Set before start(); runs on the frame and encoder threads.
        self.on_frame_timing: Callable[[str, float], None] | None = None
        self._every = max(1, round(config.fps / self._step.fps))  # encode the picture of every n-th slot
        self._health = (
            HealthSampler(self.health_snapshots, on_health, program=self.program_snapshot, canvas=name)
            if on_health
            else None
        )
        self.slate_frames = 0
        self.on_slate = False
        self.started_at: float | None = None
        self._last_program_at = 0.0
        self._last_video: np.ndarray | None = None
        self._lock = threading.Lock()

    # -- control (caller's thread) --
    def start(self, destinations: Sequence[DestinationSpec] = ()) -> None:
        self.source.start()
        if self.config.recording_path is not None:
            self.recorder = self._new_recorder(self.config.recording_path)
        for spec in destinations:
            self.add_destination(spec)
        self.started_at = self._clock()
        self.figures.start()
        self._encoder_thread.start()
        self._thread.start()
        if self._health:
            self._health.start()

    def _new_recorder(self, path: Path) -> Recorder:
        recorder = Recorder(
            path,
            fmt=self.config.recording_format,
            headers=self._headers,
            ffmpeg=self.config.ffmpeg,
            video_kbps=self.config.video_kbps,
            audio_kbps=self.config.audio_kbps,
        )
        recorder.start()
        self.recordings.append(path)
        self.fanout.add(recorder)
        return recorder

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
        """Flush the encoder, close every pusher, finish the recording. Returns the (last) recording's path;
        ``recordings`` lists every segment."""
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
        for closing in self._closing:
            closing.join(max(0.5, deadline - self._clock()))
        self._spawner.shutdown(wait=False)
        return path

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self._encoder_thread.is_alive()

    # -- figures (any thread; cheap, no I/O) --
    @property
    def frames_encoded(self) -> int:
        return self.figures.frames_encoded

    @property
    def skipped_slots(self) -> int:
        """Slots whose picture was dropped (the name the benchmarks used before the figures had one)."""
        return self.figures.frames_dropped

    @property
    def step_now(self) -> Step:
        return self._step

    def program_snapshot(self) -> dict[str, Any]:
        """The program's health (SHOW-HEALTH-CONTRACT.md): media against wall time, frame counters, timings, step."""
        snapshot = self.figures.snapshot(self._step)
        snapshot["on_slate"] = self.on_slate
        snapshot["sources"] = self.source.live_sources()  # people whose pictures arrive (None: no mix)
        return snapshot

    def health_snapshots(self) -> list[dict[str, Any]]:
        with self._lock:
            pushers = list(self.pushers.values())
        program = "slate" if self.on_slate else "program"
        published = self.fanout.bytes_published  # the sampler turns it into program_kbps: what each should receive
        return [{**p.snapshot(), "program": program, "published_bytes": published} for p in pushers]

    # -- the frame thread --
    def _samples(self, slot: int) -> int:
        sr, fps = self.config.sample_rate, self.config.fps
        return sr * (slot + 1) // fps - sr * slot // fps

    def _exact(self, audio: np.ndarray | None, samples: int) -> np.ndarray:
        """Exactly `samples` frames of audio for a slot (padded with silence or cut): audio never drifts."""
        channels = self.config.channels
        if audio is None or audio.size == 0:
            return np.zeros((samples, channels), dtype=np.int16)
        audio = audio.reshape(-1, channels) if audio.ndim == 1 or audio.shape[-1] != channels else audio
        if audio.shape[0] == samples:
            return audio
        if audio.shape[0] > samples:
            return audio[:samples]
        return np.concatenate([audio, np.zeros((samples - audio.shape[0], channels), dtype=np.int16)])

    def step(self, slot: int, slot_deadline: float, *, picture: bool = True) -> None:
        """Produce frame slot `slot`: program, held frame, or slate (or only its audio when `picture` is
        False); hand it to the encoder thread."""
        samples = self._samples(slot)
        size = (self.config.width, self.config.height)
        if not picture:
            audio = self.slate.audio(samples) if self.on_slate else self.source.skip(samples)
            self._hand_over(_Slot(slot, None, self._exact(audio, samples), size))
            return
        started = self._clock()
        frame = self.source.read(max(0.0, slot_deadline - started))
        now = self._clock()
        if frame is not None:
            self.figures.rendered((now - started) * 1000)
            if self.on_frame_timing is not None:
                self.on_frame_timing("render", now - started)
            video, audio = frame.video, frame.audio
            self._last_video, self._last_program_at = video, now
            if self.on_slate:
                log.info("Program is back; leaving the slate.")
            self.on_slate = False
        elif self._last_video is not None and now - self._last_program_at < HOLD_SECONDS:
            video, audio = self._last_video, None
            self.figures.frames_duplicated += 1
        else:
            if not self.on_slate:
                log.info("Program source has no frames; sending the slate.")
            self.on_slate = True
            self.slate_frames += 1
            video, audio = self.slate.video, self.slate.audio(samples)
        self._hand_over(_Slot(slot, video, self._exact(audio, samples), size))

    def _hand_over(self, item: _Slot | None) -> None:
        with self._slots_cond:
            while len(self._slots) >= MAX_PENDING_SLOTS:
                if not self._encoder_thread.is_alive():
                    raise RuntimeError("the encoder thread has stopped")
                self._slots_cond.wait(0.5)
            self._slots.append(item)
            if item is not None and item.video is not None:
                self._pictures_pending += 1
            self._slots_cond.notify_all()

    def _encoder_busy(self) -> bool:
        """The encoder is MAX_PENDING_PICTURES behind: drawing another picture now would be wasted."""
        return self._pictures_pending >= MAX_PENDING_PICTURES

    def _frame_loop(self) -> None:
        name_native_thread()
        fps = self.config.fps
        t0 = self._clock()
        slot = 0
        try:
            while not self._stop.is_set():
                slot_start, slot_end = t0 + slot / fps, t0 + (slot + 1) / fps
                now = self._clock()
                if now < slot_start:
                    self._stop.wait(slot_start - now)
                    continue
                if slot % self._every:
                    self.step(slot, slot_end, picture=False)  # a frame-rate step: not this slot's picture
                elif now > slot_end + LATE_SLACK_SECONDS or self._encoder_busy():
                    self.figures.frames_dropped += 1
                    self.step(slot, slot_end, picture=False)
                else:
                    if now > slot_end:
                        self.figures.frames_late += 1
                    self.step(slot, slot_end)
                slot += 1
        except Exception:
            log.exception("frame loop crashed")
            raise
        finally:
            if self._encoder_thread.is_alive():
                self._hand_over(None)  # the encoder flushes what it holds, then ends

    # -- the encoder thread --
    def _encode_loop(self) -> None:
        name_native_thread()
        next_judgement = self._clock() + 1.0
        try:
            while True:
                with self._slots_cond:
                    while not self._slots:
                        self._slots_cond.wait()
                    item = self._slots.popleft()
                    if item is not None and item.video is not None:
                        self._pictures_pending -= 1
                    self._slots_cond.notify_all()
                if item is None:
                    break
                started = self._clock()
                packets: list[MediaPacket] = self.encoder.encode(
                    item.video, item.audio, slot=item.index, size=item.size
                )
                if item.video is not None:
                    took = self._clock() - started
                    self.figures.encoded(took * 1000, 1.0 / self._step.fps)
                    if self.on_frame_timing is not None:
                        self.on_frame_timing("encode", took)
                self.figures.audio(item.audio.shape[0] / self.config.sample_rate)
                self.fanout.publish(packets)
                if self._clock() >= next_judgement:
                    next_judgement = self._clock() + 1.0
                    self._judge()
            self.fanout.publish(self.encoder.flush())
        except Exception:
            log.exception("encoder crashed")
            raise

    def _judge(self) -> None:
        """Once a second: a recorder that died starts a new part; the governor looks at the last window and
        a new step is applied if it decides one."""
        if self.recorder is not None and not self.recorder.alive and not self._stop.is_set():
            log.error(
                "Show %s: the recorder stopped (%s); recording goes on in a new part.", self.name, self.recorder.error
            )
            self._rotate_recording()
            self.encoder.force_keyframe()
        rtf, _fps, span = self.figures.window()
        render, encode = self.figures.timings()
        busiest = max(_median(render[-30:]), _median(encode[-30:]))
        load = busiest * self._step.fps / 1000
        new = self.governor.tick(rtf, load, span)
        if new is not None:
            self._apply(new)

    def _apply(self, new: Step) -> None:
        """Run at `new` from the next slot on (encoder thread)."""
        old = self._step
        log.warning(
            "Show %s: program steps %s from %s to %s. %s",
            self.name,
            "down" if new.level > old.level else "up",
            old.label,
            new.label,
            new.reason,
        )
        if (new.width, new.height, new.preset) != (old.width, old.height, old.preset):
            self.fanout.publish(self.encoder.reconfigure(width=new.width, height=new.height, preset=new.preset))
            self._headers = self.encoder.headers()
            self._rotate_recording()  # before the new headers: the old segment ends with the old settings
            # Pushers stay connected: the new codec configuration goes down the same connection, and the new
            # encoder's first frame is a keyframe.
            stamp = max(0, self.fanout.last_timestamp_ms)
            self.fanout.restart_gop([dataclasses.replace(h, timestamp_ms=stamp) for h in self._headers])
        self._every = max(1, round(self.config.fps / new.fps))
        self._step = new

    def _rotate_recording(self) -> None:
        """New codec settings: the recording goes on in a new segment (an MP4 holds one codec configuration)."""
        old = self.recorder
        if old is None or self.config.recording_path is None:
            return
        base = self.config.recording_path
        path = base.with_name(f"{base.stem}-{len(self.recordings) + 1}{base.suffix}")
        self.fanout.remove(old.id)
        self.recorder = self._spawner.submit(self._new_recorder, path).result()
        closing = threading.Thread(target=old.stop, name="recorder-close", daemon=True)
        closing.start()
        self._closing.append(closing)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else 0.0
