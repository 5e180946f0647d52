"""A real LiveKit server for the test session, on free loopback ports.

Use it from any test:

    @pytest.mark.livekit
    def test_something(livekit):          # settings.LIVEKIT_URL points at it
        livekit.url, livekit.api_key, livekit.api_secret
        livekit.wait_webhook(lambda hook: hook.event == "participant_joined")

The server is started once per session (`livekit_server`) with the config
rendered by apps/rtc/server.py from docker/livekit.yaml, keys passed in the
environment. Its webhooks go to a small recorder in this process, so a test
can replay a real, signed webhook into the Django view.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.rtc import server as launcher

# The session's own credentials: unrelated to any developer's settings.
TEST_API_KEY = "streamus-test"
TEST_API_SECRET = "streamus-test-secret-0123456789abcdef0123456789"
READY_TIMEOUT = 30.0


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RecordedWebhook:
    authorization: str
    body: str

    @property
    def data(self) -> dict:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return str(self.data.get("event", ""))


class _WebhookRecorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.hooks: list[RecordedWebhook] = []
        self.cond = threading.Condition()
        super().__init__(("127.0.0.1", 0), _WebhookHandler)


class _WebhookHandler(BaseHTTPRequestHandler):
    server: _WebhookRecorder

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        hook = RecordedWebhook(authorization=self.headers.get("Authorization", ""), body=body)
        with self.server.cond:
            self.server.hooks.append(hook)
            self.server.cond.notify_all()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class LiveKitServer:
    port: int
    tcp_port: int
    udp_port: int
    api_key: str
    api_secret: str
    log_path: Path
    prometheus_port: int = 0  # its Prometheus endpoint (0: off)
    process: subprocess.Popen | None = None
    recorder: _WebhookRecorder | None = field(default=None, repr=False)

    @classmethod
    def on_free_ports(cls, *, api_key: str, api_secret: str, log_path: Path) -> LiveKitServer:
        """A server (not started yet) on loopback ports free right now: HTTP/signal, ICE/TCP, ICE/UDP, metrics."""
        return cls(
            port=free_port(),
            tcp_port=free_port(),
            udp_port=free_port(socket.SOCK_DGRAM),
            prometheus_port=free_port(),
            api_key=api_key,
            api_secret=api_secret,
            log_path=log_path,
        )

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def create_room(self, name: str, empty_timeout: int = 600) -> None:
        """Create `name` through the server's RoomService (our config does not auto-create rooms)."""
        import asyncio

        from livekit import api

        async def go() -> None:
            lk = api.LiveKitAPI(self.http_url, self.api_key, self.api_secret)
            try:
                await lk.room.create_room(api.CreateRoomRequest(name=name, empty_timeout=empty_timeout))
            finally:
                await lk.aclose()

        asyncio.run(go())

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhooks(self) -> list[RecordedWebhook]:
        assert self.recorder is not None
        with self.recorder.cond:
            return list(self.recorder.hooks)

    def wait_webhook(self, predicate: Callable[[RecordedWebhook], bool], timeout: float = 15.0) -> RecordedWebhook:
        """The first recorded webhook matching `predicate`, waiting up to `timeout` seconds for it."""
        assert self.recorder is not None
        deadline = time.monotonic() + timeout
        with self.recorder.cond:
            while True:
                for hook in self.recorder.hooks:
                    if predicate(hook):
                        return hook
                left = deadline - time.monotonic()
                if left <= 0:
                    events = [h.event for h in self.recorder.hooks]
                    raise TimeoutError(f"no matching LiveKit webhook within {timeout}s; got {events}")
                self.recorder.cond.wait(left)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        self.recorder = _WebhookRecorder()
        threading.Thread(target=self.recorder.serve_forever, name="livekit-webhooks", daemon=True).start()
        webhook_url = f"http://127.0.0.1:{self.recorder.server_address[1]}/rtc/webhook"
        config = launcher.render_config(
            port=self.port,
            tcp_port=self.tcp_port,
            udp_port=self.udp_port,
            webhook_url=webhook_url,
            api_key=self.api_key,
            prometheus_port=self.prometheus_port or None,
        )
        config_path = launcher.write_config(config, self.log_path.parent)
        env = launcher.server_env(api_key=self.api_key, api_secret=self.api_secret)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                launcher.command(config_path), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"livekit-server exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.http_url, timeout=1) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"livekit-server not ready within {READY_TIMEOUT}s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # The server runs in its own session: signal its whole group. The first
            # SIGTERM drains (waits for rooms), a second one forces; SIGKILL last.
            for sig, wait in ((signal.SIGTERM, 2), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, sig)
                try:
                    self.process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.recorder is not None:
            self.recorder.shutdown()
            self.recorder.server_close()


@pytest.fixture(scope="session")
def livekit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    directory = tmp_path_factory.mktemp("livekit")
    server = LiveKitServer.on_free_ports(
        api_key=TEST_API_KEY, api_secret=TEST_API_SECRET, log_path=directory / "livekit.log"
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def livekit(livekit_server: LiveKitServer, settings) -> LiveKitServer:
    """The session's LiveKit server, with Django settings pointing at it for this test."""
    settings.LIVEKIT_URL = livekit_server.url
    settings.LIVEKIT_API_KEY = livekit_server.api_key
    settings.LIVEKIT_API_SECRET = livekit_server.api_secret
    return livekit_server


# --- synthetic participants ------------------------------------------------------------


class SyntheticParticipant:
    """A participant driven from sync test code: its own asyncio loop on a thread.

    `publish(colour=..., tone_hz=...)` sends a solid-colour I420 camera (simulcast
    on, small: two cores are shared by everyone) and a sine-tone microphone.
    """

    def __init__(self, url: str, token: str, *, width: int = 320, height: int = 180, fps: int = 15) -> None:
        import asyncio

        self.url, self.token = url, token
        self.width, self.height, self.fps = width, height, fps
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="synthetic-participant", daemon=True)
        self._thread.start()
        self.room = None
        self._tasks: list = []
        self.video_track = None
        self.audio_track = None
        self.colour: tuple[int, int, int] = (0, 0, 0)
        self.disconnected = threading.Event()

    def run(self, coro, timeout: float = 20.0):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def connect(self, *, auto_subscribe: bool = False) -> SyntheticParticipant:
        from livekit import rtc

        async def go():
            room = rtc.Room()
            room.on("disconnected", lambda *_: self.disconnected.set())
            await room.connect(self.url, self.token, rtc.RoomOptions(auto_subscribe=auto_subscribe))
            return room

        self.disconnected.clear()
        self.room = self.run(go())
        return self

    @property
    def identity(self) -> str:
        assert self.room is not None
        return self.room.local_participant.identity

    def publish(
        self,
        *,
        colour: tuple[int, int, int] | None = None,
        tone_hz: float | None = None,
        screen_colour: tuple[int, int, int] | None = None,
        texture: bool = False,
    ) -> None:
        """`texture`: grain over the colour that changes every frame, so the program encodes at its
        bitrate as camera pictures do (a flat colour costs the encoder almost nothing)."""
        import asyncio

        import numpy as np
        from livekit import rtc

        from media.broadcast.source import solid_i420, tone

        async def go():
            room = self.room
            if colour is not None:
                self.colour = colour
                source = rtc.VideoSource(self.width, self.height)
                self.video_track = rtc.LocalVideoTrack.create_video_track("camera", source)
                options = rtc.TrackPublishOptions(
                    source=rtc.TrackSource.SOURCE_CAMERA,
                    simulcast=True,
                    video_encoding=rtc.VideoEncoding(max_framerate=self.fps, max_bitrate=300_000),
                )
                await room.local_participant.publish_track(self.video_track, options)

                rng = np.random.default_rng(7)

                async def video_loop():
                    while True:
                        data = solid_i420(self.width, self.height, self.colour)
                        if texture:
                            luma = data[: self.width * self.height]
                            grain = rng.integers(-24, 25, luma.size, dtype=np.int16)
                            luma[:] = np.clip(luma.astype(np.int16) + grain, 16, 235).astype(np.uint8)
                        source.capture_frame(rtc.VideoFrame(self.width, self.height, rtc.VideoBufferType.I420, data))
                        await asyncio.sleep(1 / self.fps)

                self._tasks.append(asyncio.ensure_future(video_loop()))
            if screen_colour is not None:
                # A screen share: its own track (source SCREENSHARE), 4:3 so letterboxing shows in a wide tile.
                sw, sh = self.width, self.width * 3 // 4 // 2 * 2
                screen = rtc.VideoSource(sw, sh)
                screen_track = rtc.LocalVideoTrack.create_video_track("screen", screen)
                await room.local_participant.publish_track(
                    screen_track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_SCREENSHARE)
                )
                screen_frame = solid_i420(sw, sh, screen_colour)

                async def screen_loop():
                    while True:
                        screen.capture_frame(rtc.VideoFrame(sw, sh, rtc.VideoBufferType.I420, screen_frame))
                        await asyncio.sleep(1 / self.fps)

                self._tasks.append(asyncio.ensure_future(screen_loop()))
            if tone_hz is not None:
                rate, chunk = 48000, 480  # 10 ms frames, what WebRTC sends
                source_a = rtc.AudioSource(rate, 1)
                self.audio_track = rtc.LocalAudioTrack.create_audio_track("microphone", source_a)
                options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
                await room.local_participant.publish_track(self.audio_track, options)

                async def audio_loop():
                    n = 0
                    while True:
                        samples = tone(rate, 1, n, chunk, tone_hz, 0.3)
                        n += chunk
                        frame = rtc.AudioFrame(np.ascontiguousarray(samples).tobytes(), rate, 1, chunk)
                        await source_a.capture_frame(frame)  # paces itself on the source's queue

                self._tasks.append(asyncio.ensure_future(audio_loop()))

        self.run(go())

    def stop_video(self) -> None:
        """Stop sending frames but keep the track published: a frozen camera."""

        async def go():
            if self._tasks:
                self._tasks[0].cancel()

        self.run(go())

    def disconnect(self) -> None:
        async def go():
            for task in self._tasks:
                task.cancel()
            self._tasks.clear()
            if self.room is not None:
                await self.room.disconnect()

        try:
            self.run(go())
        finally:
            self.room = None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.room is not None:
                self.disconnect()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


@contextlib.contextmanager
def participant_process(
    url: str, token: str, *, colour: tuple[int, int, int], tone_hz: float | None = None, fps: int = 15
) -> Iterator[subprocess.Popen]:
    """A SyntheticParticipant publishing in a child process (tests/support/participant_process.py) until the
    block ends: a camera the test only watches, out of the reach of what the test process itself does."""
    import selectors
    import sys

    command = [sys.executable, "-m", "tests.support.participant_process", url, "--colour", ",".join(map(str, colour))]
    if tone_hz is not None:
        command += ["--tone", str(tone_hz)]
    command += ["--fps", str(fps)]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        command,
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,  # stdout: only "published"
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(token + "\n")
        process.stdin.flush()
        seen: list[str] = []
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + READY_TIMEOUT
            while "published" not in seen:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise AssertionError(f"the participant process did not publish: {seen[-5:]}")
                line = process.stdout.readline()
                if not line:
                    raise AssertionError(f"the participant process ended: {seen[-5:]}")
                seen.append(line.strip())
        yield process
    finally:
        with contextlib.suppress(Exception):
            process.stdin.close()  # type: ignore[union-attr]
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def synthetic_participants() -> Iterator[Callable[..., SyntheticParticipant]]:
    """Factory of connected synthetic participants, all closed at the end of the test."""
    made: list[SyntheticParticipant] = []

    def make(url: str, token: str, **kwargs) -> SyntheticParticipant:
        participant = SyntheticParticipant(url, token, **kwargs)
        made.append(participant)
        return participant

    yield make
    for participant in made:
        participant.close()
