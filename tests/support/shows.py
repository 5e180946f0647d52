"""Running a real show in the test process: a live stream, `run_show` on a thread, the studio group's events."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from apps.shows import runner
from apps.streams.models import Stream
from tests.factories import StreamFactory


def live_stream(**fields) -> Stream:
    values = {"resolution": "480p", "fps": 30, "video_bitrate_kbps": 400, "audio_bitrate_kbps": 64}
    values.update(fields)
    stream = StreamFactory(**values)
    stream.transition(Stream.Status.LIVE)
    stream.save()
    return stream


def cmdlines() -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return out


class ShowThread(threading.Thread):
    def __init__(self, stream_id: int) -> None:
        super().__init__(daemon=True)
        self.stream_id = stream_id
        self.started = threading.Event()
        self.session = None
        self.outcome: str | None = None
        self.finished_at: float | None = None

    def run(self) -> None:
        def on_started(session):
            self.session = session
            self.started.set()

        try:
            self.outcome = runner.run_show(stream_id=self.stream_id, on_started=on_started)
        finally:
            self.finished_at = time.monotonic()


def join_group(group: str):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return layer, channel


def receive(layer, channel, timeout: float) -> dict:
    async def go():
        return await asyncio.wait_for(layer.receive(channel), timeout)

    return async_to_sync(go)()


# --- a show a test starts and ends, and its output played back live ------------------------------------
# `MediaWorker(stream.pk).begin()` runs it as a Celery media worker would; `LivePlayer(url)` is ffmpeg
# playing the destination as a viewer would, frames scaled down to a few pixels (colours per region).

START_SECONDS = 60.0  # a loaded two-core machine takes a while to open a room and start an encoder

Rgb = tuple[int, int, int]


def red(rgb: Rgb) -> bool:
    return rgb[0] > 150 and rgb[1] < 100 and rgb[2] < 100


def green(rgb: Rgb) -> bool:
    return rgb[1] > 130 and rgb[0] < 100 and rgb[2] < 120


def blue(rgb: Rgb) -> bool:
    return rgb[2] > 150 and rgb[0] < 100 and rgb[1] < 110


class MediaWorker(ShowThread):
    """A ShowThread a test starts, checks and ends in one call each; a crash is kept for the test to report."""

    def __init__(self, stream_id: int) -> None:
        super().__init__(stream_id)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            super().run()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.started.set()
            connection.close()  # this thread's connection, so the test database can be dropped

    def begin(self, timeout: float = START_SECONDS) -> MediaWorker:
        self.start()
        if not self.started.wait(timeout):
            raise AssertionError(f"the show of stream {self.stream_id} did not start within {timeout}s")
        if self.session is None:
            raise AssertionError(f"the show did not start: {self.outcome!r} {self.error!r}")
        return self

    def finish(self, timeout: float = 30.0) -> None:
        """End the stream (the service wakes the runner) and wait for the thread."""
        from apps.shows.services import show_end
        from apps.streams.models import Stream

        stream = Stream.objects.get(pk=self.stream_id)
        if stream.is_live:
            show_end(stream=stream, by=None)
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"the show of stream {self.stream_id} did not stop within {timeout}s")
        if self.error is not None:
            raise AssertionError(f"the show crashed: {self.error!r}") from self.error


@dataclass(frozen=True)
class Frame:
    """One decoded frame, scaled to `size`, and when it arrived (time.monotonic)."""

    at: float
    rgb: bytes
    size: tuple[int, int]

    def pixel(self, fx: float, fy: float) -> Rgb:
        w, h = self.size
        x, y = min(w - 1, int(fx * w)), min(h - 1, int(fy * h))
        i = (y * w + x) * 3
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]

    @property
    def left(self) -> Rgb:
        return self.pixel(0.25, 0.5)

    @property
    def right(self) -> Rgb:
        return self.pixel(0.75, 0.5)

    @property
    def centre(self) -> Rgb:
        return self.pixel(0.5, 0.5)


class LivePlayer:
    """ffmpeg playing an RTMP stream as it goes out (a viewer of the destination), frames kept as they arrive."""

    def __init__(self, url: str, size: tuple[int, int] = (32, 18)) -> None:
        self.url, self.size = url, size
        w, h = size
        self.process = subprocess.Popen(
            [
                "ffmpeg",
                "-v",
                "error",
                # A viewer that wants the picture now: no input buffering once playing.
                "-fflags",
                "nobuffer",
                "-flags",
                "low_delay",
                "-i",
                url,
                "-an",
                "-vf",
                f"scale={w}:{h}",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.frames: list[Frame] = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True, name="live-player")
        self.thread.start()

    def _read(self) -> None:
        w, h = self.size
        size = w * h * 3
        assert self.process.stdout is not None
        while True:
            data = self.process.stdout.read(size)
            if len(data) < size:
                break
            with self.cond:
                self.frames.append(Frame(time.monotonic(), data, self.size))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait(self, check: Callable[[Frame], bool], *, after: float = 0.0, timeout: float, what: str = "") -> Frame:
        """The first frame that arrived after `after` (time.monotonic) and passes `check`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for frame in self.frames:
                    if frame.at > after and check(frame):
                        return frame
                left = deadline - time.monotonic()
                if left <= 0 or not self.thread.is_alive():
                    last = self.frames[-1] if self.frames else None
                    seen = f"last frame left={last.left} right={last.right}" if last else "no frame at all"
                    err = b""
                    if not self.thread.is_alive() and self.process.stderr is not None:
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            self.process.wait(2)
                        err = self.process.stderr.read()[-500:] if self.process.poll() is not None else b""
                    raise AssertionError(
                        f"{what or 'frame'} not decoded within {timeout}s at {self.url}: {seen} {err.decode(errors='replace')}"
                    )
                self.cond.wait(min(left, 0.5))

    def live(self, fps: int, timeout: float = 20.0) -> None:
        """Wait until frames arrive at the show's pace: the burst a player gets on joining has been played."""
        span = 12  # frames

        def paced() -> bool:
            recent = self.frames[-span:]
            return len(recent) == span and recent[-1].at - recent[0].at >= 0.8 * (span - 1) / fps

        deadline = time.monotonic() + timeout
        with self.cond:
            while not paced():
                left = deadline - time.monotonic()
                if left <= 0 or not self.thread.is_alive():
                    raise AssertionError(f"{self.url}: frames never arrived at {fps} fps within {timeout}s")
                self.cond.wait(min(left, 0.5))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        with contextlib.suppress(Exception):
            self.thread.join(5)


# Autouse fixtures for the folders whose shows run on the test scene (imported by their conftest.py).
@pytest.fixture(autouse=True)
def _test_scene_program(settings) -> None:
    """Shows here run without LiveKit unless a test says otherwise: the generated test scene is their program."""
    settings.BROADCAST_SOURCE = "test_scene"


@pytest.fixture(autouse=True)
def _clean_show_keys(settings) -> None:
    """Stream ids repeat across transactional tests (tables are truncated): forget earlier shows' control keys."""
    r = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(r.scan_iter("show:*"))
    if keys:
        r.delete(*keys)
