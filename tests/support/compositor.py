"""Shared by the compositor and show tests: colours and tones on stage, reading and decoding the program.

    def test_x(show, livekit):          # fixture: a room with red, green and blue guests publishing tones
        session = start_session(livekit, stream, state_for(stream))
        reader = Reader(session.program("landscape"))
        reader.until(lambda f: near(region_yuv(f, tiles(graph)[ident]), rgb_to_yuv(RED)))

A plugin (root conftest.py): the `show` fixture is available everywhere.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import av
import numpy as np
import pytest

from apps.rtc import services as rtc
from apps.studio import scene
from media.compositor.program import CompositorSession
from media.compositor.renderer import planes
from tests.factories import GuestFactory, StreamFactory

RATE = 48000

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 60), (40, 60, 220)
TONES = {"red": 440.0, "green": 1000.0, "blue": 2500.0}
W, H = 640, 360
FPS = 15


def region_yuv(frame: np.ndarray, rect: dict, w: int = W, h: int = H) -> tuple[int, int, int]:
    y, u, v = planes(frame, w, h)
    cx, cy = rect["x"] + rect["w"] // 2, rect["y"] + rect["h"] // 3
    pick = (slice(cy - 4, cy + 4), slice(cx - 4, cx + 4))
    pick_c = (slice(cy // 2 - 2, cy // 2 + 2), slice(cx // 2 - 2, cx // 2 + 2))
    return int(np.median(y[pick])), int(np.median(u[pick_c])), int(np.median(v[pick_c]))


def near(a, b, tol=14) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def tiles(graph: dict) -> dict[str, dict]:
    return {layer["source"]: layer["rect"] for layer in graph["layers"] if layer["kind"] in ("video", "screen")}


class Reader:
    """Reads the program like the engine: once per frame slot, keeping the last frames and all audio."""

    def __init__(self, program) -> None:
        self.program = program
        self.audio: list[np.ndarray] = []
        self.frames = 0

    last: np.ndarray | None = None

    def read(self) -> np.ndarray:
        deadline = time.monotonic() + 1 / FPS
        frame = None
        while frame is None:
            frame = self.program.read(0.05)
        self.frames += 1
        self.audio.append(frame.audio)
        self.last = frame.video
        time.sleep(max(0.0, deadline - time.monotonic()))
        return frame.video

    def until(self, check, timeout: float = 15.0, what: str = "program") -> int:
        """Frames read until `check(video)` holds."""
        start = self.frames
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check(self.read()):
                return self.frames - start
        session = self.program.session
        now = time.monotonic()
        ages = {k: round(now - f.received_at, 2) for k, f in session.latest_frames().items()}
        tiles_now = {
            k: region_yuv(self.last, r, self.program.width, self.program.height)
            for k, r in tiles(self.program.graph).items()
        }
        raise AssertionError(
            f"{what} not seen within {timeout}s; subscribed={sorted(session.subscribed)} frame ages={ages} tiles={tiles_now}"
        )

    def take_audio(self, seconds: float) -> np.ndarray:
        self.audio.clear()
        for _ in range(int(seconds * FPS)):
            self.read()
        return np.concatenate(self.audio)[:, 0].astype(np.float64)


def level_at(audio: np.ndarray, freq: float, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    band = (freqs > freq - 30) & (freqs < freq + 30)
    return float(spectrum[band].max() / len(audio))


@pytest.fixture
def show(livekit, user, synthetic_participants):
    """A stream whose room holds three guests publishing red, green and blue, each with its own tone."""
    stream = StreamFactory(owner=user, resolution="480p", vertical_canvas=True)
    # Ids repeat across test runs (the database is rolled back, Redis is not): no scene from an earlier run.
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(scene.redis_key(stream.pk))
    client.close()
    stream.scene = {"host_on_stage": False}
    stream.save()
    rtc.rtc_open_room(stream=stream, by=user)
    people = {}
    for name, colour in (("red", RED), ("green", GREEN), ("blue", BLUE)):
        guest = GuestFactory(stream=stream, display_name=name.title())
        token = rtc._token(
            identity=guest.identity,
            name=guest.display_name,
            grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(stream), can_publish=True),
        )
        participant = synthetic_participants(livekit.url, token).connect()
        participant.publish(colour=colour, tone_hz=TONES[name])
        people[name] = (guest, participant)
    return stream, people


def start_session(livekit, stream, state) -> CompositorSession:
    from django.conf import settings

    session = CompositorSession(
        url=livekit.url,
        token=rtc.rtc_compositor_token(stream=stream),
        canvases={"landscape": (W, H), "vertical": (H, W)},
        fps=FPS,
        state=state,
        redis_url=settings.REDIS_URL,
        scene_key=scene.redis_key(stream.pk),
    )
    return session


def state_for(stream, canvases=("landscape", "vertical")) -> dict:
    """The scene state of the saved stream, drawn at our small test canvases (the stream's own size is larger)."""
    stream.refresh_from_db()
    state = scene.scene_state(stream, sizes={"landscape": (W, H), "vertical": (H, W)})
    state["canvases"] = {name: graph for name, graph in state["canvases"].items() if name in canvases}
    return {**state, "version": time.time_ns() // 1000}


def decode(path) -> tuple[list[tuple[float, np.ndarray]], np.ndarray]:
    """(pts seconds, flat I420) per video frame, and the first audio channel as float samples."""
    video, audio = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            video.append((float(frame.time or 0.0), frame.to_ndarray(format="yuv420p").reshape(-1).copy()))
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            audio.append(frame.to_ndarray()[0].astype(np.float64))
    return video, np.concatenate(audio) if audio else np.zeros(0)


# --- library clips for playback tests --------------------------------------------------------------

CLIP_COLOURS = {
    "red": (255, 0, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "magenta": (255, 0, 255),
}
CLIP_TONES = {"red": 440.0, "blue": 1000.0, "yellow": 2500.0, "cyan": 1700.0, "magenta": 3300.0}


def make_clip(directory: Path, colour: str, seconds: float, size: str = "160x90") -> Path:
    """A mezzanine-like clip (H.264/AAC MP4, 30 fps, 48 kHz stereo): a solid colour and a sine tone."""
    path = directory / f"{colour}-{seconds}-{size}.mp4"
    if not path.exists():
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
        cmd += ["-f", "lavfi", "-i", f"color=c={colour}:s={size}:r=30:d={seconds}"]
        cmd += ["-f", "lavfi", "-i", f"sine=frequency={CLIP_TONES[colour]}:sample_rate={RATE}:duration={seconds}"]
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30"]
        cmd += ["-c:a", "aac", "-ac", "2", "-ar", str(RATE), "-shortest", "-movflags", "+faststart", str(path)]
        subprocess.run(
            cmd,
            check=True,
            timeout=60,
        )
    return path
