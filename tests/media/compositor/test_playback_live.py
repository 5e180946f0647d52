"""Issue 7's playback test: a playlist of two generated clips plays into a live show.

A real LiveKit room (synthetic guests publishing colours and tones), the compositor, the broadcast engine and
nginx-rtmp; what the RTMP server received is decoded: the layout, then clip 1's frames, then clip 2's, then the
layout again, with each clip's tone in the mix while it plays.
"""

from __future__ import annotations

import time
import uuid

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile

from apps.library.models import MediaClip
from apps.library.services import playlist_create
from apps.shows.compositor import open_clip
from apps.streams.models import Guest
from apps.studio import playback
from media.broadcast.pusher import DestinationSpec
from media.broadcast.session import BroadcastSession, ShowConfig
from media.broadcast.source import rgb_to_yuv
from tests.support.compositor import (
    CLIP_COLOURS,
    CLIP_TONES,
    FPS,
    GREEN,
    RED,
    TONES,
    H,
    W,
    level_at,
    make_clip,
    near,
    region_yuv,
    start_session,
    state_for,
    tiles,
)
from tests.support.rtmp import rtmp_servers  # noqa: F401 - fixture

pytestmark = [pytest.mark.livekit, pytest.mark.media, pytest.mark.django_db]

RATE = 48000
CLIP_SECONDS = 1.5


def library_clip(owner, path, title: str) -> MediaClip:
    """A processed library clip whose mezzanine is the generated file (what clip_process would leave)."""
    clip = MediaClip(
        owner=owner,
        uid=uuid.uuid4().hex,
        title=title,
        status=MediaClip.Status.READY,
        duration_seconds=CLIP_SECONDS,
        width=160,
        height=90,
        fps=30,
        has_audio=True,
    )
    clip.mezzanine.save("mezzanine.mp4", ContentFile(path.read_bytes()), save=False)
    clip.save()
    return clip


def decode(path) -> tuple[list[tuple[float, np.ndarray]], float, np.ndarray]:
    """Video (pts, I420) frames; the audio's start time and its first channel."""
    video, audio = [], []
    audio_start = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            video.append((float(frame.time or 0.0), frame.to_ndarray(format="yuv420p").reshape(-1).copy()))
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            audio_start = float(frame.time or 0.0) if audio_start is None else audio_start
            audio.append(frame.to_ndarray()[0].astype(np.float64))
    return video, audio_start or 0.0, np.concatenate(audio) if audio else np.zeros(0)


def test_a_playlist_plays_into_the_live_show_and_returns_to_the_layout(show, livekit, user, rtmp_servers, tmp_path):  # noqa: F811
    stream, people = show
    red, green = people["red"][0], people["green"][0]
    Guest.objects.filter(pk__in=[red.pk, green.pk]).update(on_stage=True)
    stream.scene = {"host_on_stage": False, "layout": "side_by_side"}
    stream.save()
    first = library_clip(user, make_clip(tmp_path, "cyan", CLIP_SECONDS), "Cyan")
    second = library_clip(user, make_clip(tmp_path, "magenta", CLIP_SECONDS), "Magenta")
    playlist = playlist_create(owner=user, name="Break", clip_ids=[first.pk, second.pk])

    layout_state = state_for(stream, ("landscape",))
    session = start_session(livekit, stream, layout_state)
    session.programs.pop("vertical")
    session.open_clip = open_clip
    reports: list[dict] = []
    session.on_playback = reports.append
    program = session.program("landscape")
    (server,) = rtmp_servers(1)
    config = ShowConfig(
        width=W, height=H, fps=FPS, video_kbps=600, audio_kbps=96, preset="ultrafast", encoder_threads=1
    )
    broadcast = BroadcastSession(config, program)
    broadcast.start([DestinationSpec(id=1, url=server.url, key="show")])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not {red.identity, green.identity} <= set(session.latest_frames()):
            time.sleep(0.1)
        time.sleep(1.5)
        # The host presses play (the service stores and publishes it); the compositor follows the scene, here
        # re-read at our small canvas size as in test_live.
        playback.playback_start(stream=stream, by=user, playlist=playlist, mode="fullscreen", transition="cut")
        play_state = state_for(stream, ("landscape",))
        started_at = program._frame_index
        session.set_scene(play_state)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(r["event"] == "ended" for r in reports):
            time.sleep(0.05)
        ended_at = program._frame_index
        time.sleep(2.0)
    finally:
        broadcast.stop()
        session.stop()

    assert any(r["event"] == "ended" for r in reports), reports
    progress = [r for r in reports if r["event"] == "progress"]
    assert progress and progress[0]["clip"] == f"clip:{first.pk}"
    assert [r["remaining"] for r in progress] == sorted((r["remaining"] for r in progress), reverse=True)
    # Clip 1 then clip 2, 3 s in all, on the program clock: 45 frames at 15 fps (a frame of slack for the end).
    assert abs((ended_at - started_at) - 2 * CLIP_SECONDS * FPS) <= 2, (started_at, ended_at)

    video, audio_start, audio = decode(server.wait_for_publish("show"))
    boxes = tiles(layout_state["canvases"]["landscape"])

    def layout(frame) -> bool:
        return near(region_yuv(frame, boxes[red.identity]), rgb_to_yuv(RED)) and near(
            region_yuv(frame, boxes[green.identity]), rgb_to_yuv(GREEN)
        )

    def full(frame, colour: str) -> bool:
        points = [{"x": x, "y": y, "w": 16, "h": 16} for x in (60, W // 2, W - 80) for y in (40, H - 60)]
        return all(near(region_yuv(frame, p), rgb_to_yuv(CLIP_COLOURS[colour])) for p in points)

    before = [i for i, (_t, f) in enumerate(video) if layout(f)]
    cyan = [i for i, (_t, f) in enumerate(video) if full(f, "cyan")]
    magenta = [i for i, (_t, f) in enumerate(video) if full(f, "magenta")]
    assert len(cyan) >= FPS and len(magenta) >= FPS, (len(cyan), len(magenta), len(video))
    after = [i for i in before if i > max(magenta)]
    before = [i for i in before if i < min(cyan)]
    assert len(before) >= FPS and len(after) >= FPS, "the layout before and after the playlist"
    assert max(before) < min(cyan) and max(cyan) < min(magenta), "clip 1, then clip 2"
    # Clean cuts: no black or half-decoded frame between the layout and the clips, or back.
    assert min(cyan) - max(before) == 1 and min(magenta) - max(cyan) == 1 and min(after) - max(magenta) == 1

    # Each clip's tone is in the mix (with the room) while it plays.
    def window(indices: list[int]) -> np.ndarray:
        t0, t1 = video[indices[0]][0] + 0.2, video[indices[-1]][0] - 0.2
        return audio[round((t0 - audio_start) * RATE) : round((t1 - audio_start) * RATE)]

    one, two, later = window(cyan), window(magenta), window(after)
    assert len(one) > RATE // 2 and len(two) > RATE // 2
    assert level_at(one, CLIP_TONES["cyan"]) > 0.2 * level_at(one, TONES["red"])
    assert level_at(one, CLIP_TONES["cyan"]) > 10 * level_at(one, CLIP_TONES["magenta"])
    assert level_at(two, CLIP_TONES["magenta"]) > 10 * level_at(two, CLIP_TONES["cyan"])
    assert level_at(two, TONES["green"]) > 0.05 * level_at(two, CLIP_TONES["magenta"]), "the room is still heard"
    assert level_at(later, CLIP_TONES["magenta"]) < 0.05 * level_at(later, TONES["red"]), "the clip is over"
