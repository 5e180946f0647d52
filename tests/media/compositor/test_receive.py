"""workers/compositor/receive.py against a real LiveKit room: one dispatcher, frames to the right track."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict

import numpy as np
import pytest

from apps.rtc import services as rtc
from media.broadcast.source import rgb_to_yuv
from media.compositor.receive import TrackReceiver
from media.compositor.renderer import SourceFrame
from tests.factories import StreamFactory

pytestmark = [pytest.mark.livekit, pytest.mark.django_db]

RED, BLUE = (220, 30, 30), (40, 60, 220)
TONES = {"red": 440.0, "blue": 2500.0}


def centre_yuv(frame: SourceFrame) -> tuple[int, int, int]:
    y, u, v = frame.planes()
    return (
        int(y[frame.height // 2, frame.width // 2]),
        int(u[frame.height // 4, frame.width // 4]),
        int(v[frame.height // 4, frame.width // 4]),
    )


def near(a, b, tol=14) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def level_at(audio: np.ndarray, freq: float, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    return float(spectrum[(freqs > freq - 30) & (freqs < freq + 30)].max() / len(audio))


class Listener:
    """A hidden subscriber on its own loop thread, receiving through one TrackReceiver."""

    def __init__(self, url: str, token: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.frames: dict[str, list[SourceFrame]] = defaultdict(list)
        self.audio: dict[str, list[np.ndarray]] = defaultdict(list)
        self.streams: dict[tuple[str, str], int] = {}
        self.received: dict[str, int] = defaultdict(int)  # video frames ever delivered, per name
        self.lock = threading.Lock()
        self.receiver: TrackReceiver | None = None
        self.room = self.call(self._connect(url, token))

    def call(self, coro, timeout: float = 20.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _connect(self, url: str, token: str):
        from livekit import rtc

        self.receiver = TrackReceiver(self.loop)
        room = rtc.Room(loop=self.loop)
        room.on("track_subscribed", self._subscribed)
        await room.connect(url, token, rtc.RoomOptions(auto_subscribe=True))
        return room

    def _subscribed(self, track, publication, participant) -> None:
        from livekit import rtc

        name = participant.name.lower()
        assert self.receiver is not None
        if publication.kind == rtc.TrackKind.KIND_VIDEO:
            stream = self.receiver.open_video(track, lambda frame: self._keep(self.frames[name], frame, name))
            self.streams[(name, "video")] = stream
        else:
            stream = self.receiver.open_audio(
                track, lambda samples: self._keep(self.audio[name], samples), sample_rate=48000, channels=2
            )
            self.streams[(name, "audio")] = stream

    def _keep(self, into: list, item, counted: str | None = None) -> None:
        with self.lock:
            if counted is not None:
                self.received[counted] += 1
            into.append(item)
            del into[:-400]  # a bounded history: enough for the checks, not a growing heap of native buffers

    def count(self, name: str) -> int:
        with self.lock:
            return self.received[name]

    def wait(self, check, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if check():
                    return
            time.sleep(0.02)
        raise AssertionError(f"not seen within {timeout} s: {what}")

    def close(self) -> None:
        async def go():
            await self.room.disconnect()
            if self.receiver is not None:
                self.receiver.aclose()

        self.call(go())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_each_track_reaches_its_own_callback_and_stops_when_closed(livekit, user, synthetic_participants):
    stream = StreamFactory(owner=user)
    rtc.rtc_open_room(stream=stream, by=user)
    room = rtc.room_name(stream)
    for name, colour in (("red", RED), ("blue", BLUE)):
        token = rtc._token(
            identity=f"guest-{name}",
            name=name.title(),
            grants=rtc.api.VideoGrants(room_join=True, room=room, can_publish=True),
        )
        synthetic_participants(livekit.url, token).connect().publish(colour=colour, tone_hz=TONES[name])

    listener = Listener(livekit.url, rtc.rtc_compositor_token(stream=stream))
    try:
        # Pictures: every frame of a track carries that track's colour, none the other's.
        listener.wait(
            lambda: len(listener.frames["red"]) >= 10 and len(listener.frames["blue"]) >= 10, "10 frames each"
        )
        with listener.lock:
            reds, blues = list(listener.frames["red"]), list(listener.frames["blue"])
        assert all(near(centre_yuv(f), rgb_to_yuv(RED)) for f in reds[2:])
        assert all(near(centre_yuv(f), rgb_to_yuv(BLUE)) for f in blues[2:])

        # Zero copy: a frame kept by its holder still reads right long after newer frames replaced it.
        kept = reds[-1]
        before = listener.count("blue")
        listener.wait(lambda: listener.received["blue"] >= before + 30, "30 more blue frames")
        assert near(centre_yuv(kept), rgb_to_yuv(RED))

        # Sound: each microphone's samples hold its own tone (48 kHz stereo, as asked).
        listener.wait(lambda: sum(len(a) for a in listener.audio["red"]) >= 48000, "1 s of red audio")
        with listener.lock:
            red_audio = np.concatenate(listener.audio["red"])[-48000:]
        assert red_audio.shape == (48000, 2)
        mono = red_audio[:, 0].astype(np.float64)
        assert level_at(mono, TONES["red"]) > 20 * level_at(mono, TONES["blue"]) + 1

        # Closing red's video stream: its frames stop (at most one in flight), blue's go on.
        assert listener.receiver is not None
        listener.call(asyncio.sleep(0))  # a round trip through the loop thread, where the receiver lives
        listener.loop.call_soon_threadsafe(listener.receiver.close, listener.streams[("red", "video")])
        listener.call(asyncio.sleep(0))
        reds_at_close = listener.count("red")
        blues_at_close = listener.count("blue")
        listener.wait(lambda: listener.received["blue"] >= blues_at_close + 20, "20 more blue frames")
        assert listener.count("red") <= reds_at_close + 1
        # One subscription to the SDK's queue served all four tracks: every event was seen once.
        assert listener.receiver.events >= listener.count("blue")
    finally:
        listener.close()
