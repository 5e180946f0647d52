"""The fault matrix (issue 18): a real show, a real fault, what the product promises (docs/RELIABILITY.md).

Shared here: a show with one guest on stage publishing red into a real LiveKit room, gone live through
the service a studio calls, run by real media workers (tests/support/media.py), pushed to a real
nginx-rtmp whose on_publish hooks log every publish (tests/support/rtmp.py: PublishLog), and a way to
read what the ingest received frame by frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest
import redis
from channels.layers import get_channel_layer

from apps.core import realtime
from apps.rtc import services as rtc
from apps.streams.models import Guest, Stream
from apps.studio import scene
from media.broadcast.slate import SLATE_BACKGROUND
from media.broadcast.source import rgb_to_yuv
from tests.factories import DestinationFactory, GuestFactory, StreamFactory
from tests.support.compositor import RED
from tests.support.engine import make_session  # noqa: F401  (fixture)
from tests.support.rtmp import decode_all, ffprobe, flv_tags, packet_times

KEY = "fault-key"
FPS = 24


@pytest.fixture(autouse=True)
def _fault_settings(settings, tmp_path):
    settings.BROADCAST_X264_PRESET = "ultrafast"
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.CELERY_TASK_ALWAYS_EAGER = False
    r = redis.Redis.from_url(settings.REDIS_URL)
    # Ids repeat across transactional tests (tables are truncated, Redis is not): no leftover show state.
    # (Earlier workers' capacity records are forgotten for every test: conftest.py.)
    stale = [*r.scan_iter("show:*"), *r.scan_iter(scene.redis_key(0).replace("0", "*"))]
    r.delete("media", *stale)
    r.close()


@dataclass
class RedShow:
    stream: Stream
    guest: Guest
    participant: object


def red_guest_show(livekit, user, server_url: str, synthetic_participants, **fields) -> RedShow:
    """A scheduled 480p24 show: one guest (red camera, 440 Hz) alone on stage, one destination (KEY)."""
    values = {
        "owner": user,
        "resolution": "480p",
        "fps": FPS,
        "video_bitrate_kbps": 500,
        "audio_bitrate_kbps": 64,
        "recording_enabled": True,
        "recording_format": "mp4",
        "scene": {"host_on_stage": False, "layout": "solo"},
    }
    values.update(fields)
    stream = StreamFactory(**values)
    DestinationFactory(stream=stream, rtmp_url=server_url, stream_key=KEY)
    guest = GuestFactory(stream=stream, display_name="Red", on_stage=True)
    rtc.rtc_open_room(stream=stream, by=user)
    token = rtc._token(
        identity=guest.identity,
        name=guest.display_name,
        grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(stream), can_publish=True),
    )
    participant = synthetic_participants(livekit.url, token).connect()
    participant.publish(colour=RED, tone_hz=440.0)
    return RedShow(stream, guest, participant)


def near(sample: tuple[int, int, int], rgb: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 16 for a, b in zip(sample, rgb_to_yuv(rgb), strict=True))


def classify(frame: np.ndarray, width: int, height: int) -> str:
    """What a program frame shows: 'red' (the guest, in the middle), 'slate' (its colour in the corner, where its
    text is not), or 'other' (a name card, anything else)."""
    y = frame[: width * height].reshape(height, width)
    u = frame[width * height : width * height * 5 // 4].reshape(height // 2, width // 2)
    v = frame[width * height * 5 // 4 :].reshape(height // 2, width // 2)

    def at(x: int, yy: int) -> tuple[int, int, int]:
        return (
            int(np.median(y[yy - 6 : yy + 6, x - 6 : x + 6])),
            int(np.median(u[yy // 2 - 3 : yy // 2 + 3, x // 2 - 3 : x // 2 + 3])),
            int(np.median(v[yy // 2 - 3 : yy // 2 + 3, x // 2 - 3 : x // 2 + 3])),
        )

    if near(at(width // 2, height // 2), RED):
        return "red"
    if near(at(16, 16), SLATE_BACKGROUND):
        return "slate"
    return "other"


def frames_seen(path: Path) -> list[tuple[float, str]]:
    """(seconds, what it shows) for every frame of an FLV the ingest recorded (it may still be growing)."""
    out: list[tuple[float, str]] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                picture = frame.to_ndarray(format="yuv420p").reshape(-1)
                out.append((float(frame.time or 0.0), classify(picture, frame.width, frame.height)))
    except (av.FFmpegError, IndexError, EOFError):
        pass  # the file's growing end: what decoded so far is what we have
    return out


def seen(path: Path, what: str) -> bool:
    return any(kind == what for _t, kind in frames_seen(path))


class ProgramHealth(threading.Thread):
    """The host's studio group as a studio socket hears it: every program.health, with its arrival time."""

    def __init__(self, stream_id: int) -> None:
        super().__init__(daemon=True)
        self.group = realtime.hosts_group(stream_id)
        self.samples: list[tuple[float, dict]] = []
        self.joined = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        asyncio.run(self._listen())  # one event loop for the channel layer's whole conversation

    async def _listen(self) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self.joined.set()
        while not self.done.is_set():
            with contextlib.suppress(TimeoutError):
                message = await asyncio.wait_for(layer.receive(channel), 1.0)
                if message["type"] == "program.health":
                    self.samples.append((time.monotonic(), message["program"]))

    def start(self) -> None:
        super().start()
        assert self.joined.wait(10), "the health listener never joined the hosts group"

    def stop(self) -> None:
        self.done.set()
        self.join(5)

    def latest(self) -> dict | None:
        return self.samples[-1][1] if self.samples else None

    def since(self, t: float) -> list[dict]:
        return [p for at, p in self.samples if at >= t]


AAC_FRAME_MS = 1024 / 48  # one AAC frame at 48 kHz


def ingest_kept_the_clock(server, key: str, flv: Path, ended_at: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """What one ingest received over an outage: one connection, media time matching the wall time it was open,
    no hole in pictures or sound, every picture decodable (the growing end aside). (media s, wall s)."""
    (session,) = server.publishes.sessions(key)
    tags = flv_tags(flv)
    video = [ts for kind, ts, _key in tags if kind == 9]
    audio = [ts for kind, ts, _key in tags if kind == 8]
    wall = (session[1] or ended_at) - session[0]
    media = (video[-1] - video[0]) / 1000
    video_gap = max(b - a for a, b in itertools.pairwise(video))
    audio_gap = max(b - a for a, b in itertools.pairwise(audio))
    assert media == pytest.approx(wall, rel=0.02, abs=0.5)
    assert audio_gap <= AAC_FRAME_MS + 2, "an audio gap at the ingest"
    assert video_gap <= 250, "a hole in the pictures at the ingest"
    print(
        f"figure: ingest media {media:.2f} s over {wall:.2f} s wall; largest gaps: video {video_gap} ms, audio {audio_gap} ms"
    )
    assert decode_all(flv) >= len(video) - 2
    return media, wall


def recording_is_whole(path: str, wall: float) -> float:
    """A program recording over an outage: every picture decodes, no hole, as long as the show. Its duration."""
    times = packet_times(path)
    assert decode_all(path) == len(times) > 0
    assert max(b - a for a, b in itertools.pairwise(times)) <= 0.25, "a hole in the recording"
    duration = float(ffprobe(path)["format"]["duration"])
    assert duration == pytest.approx(wall, abs=2.0)
    return duration
