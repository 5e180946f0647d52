"""A media worker starved of CPU mid-show: the program keeps the wall clock, its audio never gaps, the host is told.

The media worker (Celery, as the Procfile starts it) runs in a CPU cgroup of its own; for 20 s its quota
is cut to 4 % of one CPU (a 720p30 show needs about 18 % here). Outside those 20 s the cgroup has a high
weight (tests/support/media.py), as a deployment's media pods have their CPU: the test machine is shared,
and its neighbours must not be what starves the show. What the ingest received is then read tag by tag and decoded: the media
time it got matches the wall time it took (within 2 %), the audio is continuous (its timestamps and its
tone), the frame rate drops while starved and comes back after; the host's studio group got
`program.health` with falling_behind true meanwhile, false after.

A second test keeps the worker too slow for longer than BROADCAST_STEP_DOWN_SECONDS (shortened here to
5 s): the encoder steps down to fewer frames per second and says why.
"""

from __future__ import annotations

import itertools
import time

import av
import numpy as np
import pytest

from apps.shows import services as shows
from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory
from tests.support.rtmp import flv_tags, wait_for

from .conftest import AAC_FRAME_MS, ProgramHealth

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]

KEY = "starved"
FPS = 30
STARVED_SECONDS = 20.0


STARVED_CPUS = 0.04  # of one CPU, while starved


def last_video_ms(path) -> int | None:
    tags = [ts for kind, ts, _key in flv_tags(path) if kind == 9]
    return tags[-1] if tags else None


def start_show(user, rtmp_servers, media_workers, settings, *, step_down_seconds: float = 30.0):
    settings.BROADCAST_SOURCE = "test_scene"  # the worker's program too (tests/support/media.py): no LiveKit here
    (server,) = rtmp_servers(1)
    (worker,) = media_workers(1, extra_env={"BROADCAST_STEP_DOWN_SECONDS": str(step_down_seconds)})
    stream = StreamFactory(
        owner=user, resolution="720p", fps=FPS, video_bitrate_kbps=1500, audio_bitrate_kbps=64, recording_enabled=False
    )
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key=KEY)
    listener = ProgramHealth(stream.pk)
    listener.start()
    shows.show_go_live(stream=stream, by=user)
    flv = server.wait_for_publish(KEY, timeout=60)
    return server, worker, stream, listener, flv


def fps_by_second(tags: list[tuple[int, int, bool]]) -> dict[int, int]:
    video = [ts for kind, ts, _key in tags if kind == 9]
    counts: dict[int, int] = {}
    for ts in video:
        counts[ts // 1000] = counts.get(ts // 1000, 0) + 1
    return counts


def test_starved_show_keeps_the_wall_clock_and_its_audio(user, rtmp_servers, media_workers, settings):
    _server, worker, stream, listener, flv = start_show(user, rtmp_servers, media_workers, settings)
    try:
        # Steady first: a few seconds at full rate.
        wait_for(lambda: (last_video_ms(flv) or 0) >= 4000, 30, interval=0.2)
        t1, m1 = time.monotonic(), last_video_ms(flv)
        worker.cpu.limit(STARVED_CPUS)
        starved_at = time.monotonic()
        try:
            # The host hears it: falling behind, while starved.
            wait_for(
                lambda: any(p["falling_behind"] for p in listener.since(starved_at)),
                STARVED_SECONDS,
                interval=0.2,
                message="no falling_behind while starved",
            )
            behind = next(p for p in listener.since(starved_at) if p["falling_behind"])
            assert behind["message"].startswith("Falling behind")
            assert behind["real_time_factor"] < 0.97
            wait_for(lambda: time.monotonic() - starved_at >= STARVED_SECONDS, STARVED_SECONDS + 1, interval=0.2)
        finally:
            worker.cpu.limit(None)
        fed_at = time.monotonic()
        # ... and hears it is over.
        wait_for(
            lambda: listener.since(fed_at) and not listener.since(fed_at)[-1]["falling_behind"],
            20,
            interval=0.2,
            message=f"still falling behind after the starvation: {[(round(p['real_time_factor'], 2), p['fps']) for p in listener.since(fed_at)]}",
        )
        wait_for(lambda: time.monotonic() - fed_at >= 10, 11, interval=0.2)
        t2, m2 = time.monotonic(), last_video_ms(flv)
    finally:
        listener.stop()
        shows.show_end(stream=Stream.objects.get(pk=stream.pk), by=user)
        wait_for(lambda: not worker.running_show(), 20, message="the show did not end")

    # 1. Media time kept the wall clock through the starvation (within 2 %).
    assert m1 is not None and m2 is not None
    media, wall = (m2 - m1) / 1000, t2 - t1
    assert abs(media - wall) <= 0.02 * wall, f"{media:.2f} s of media in {wall:.2f} s of wall time"
    print(f"figure: {media:.2f} s of media in {wall:.2f} s of wall time through {STARVED_SECONDS:.0f} s starved")

    tags = flv_tags(flv)
    # 2. Audio is continuous: one AAC frame after another, no gap, all the way.
    audio = [ts for kind, ts, _key in tags if kind == 8]
    gaps = [b - a for a, b in itertools.pairwise(audio)]
    assert max(gaps) <= AAC_FRAME_MS + 2, f"audio gap of {max(gaps)} ms"
    video = [ts for kind, ts, _key in tags if kind == 9]
    assert abs((audio[-1] - audio[0]) - (video[-1] - video[0])) <= 200, "audio and video spans differ"
    # ... and it is the program's tone throughout, never silence.
    with av.open(str(flv)) as container:
        pcm = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    windows = pcm[: len(pcm) // 4800 * 4800].reshape(-1, 4800)  # 100 ms each
    levels = np.sqrt((windows.astype(np.float64) ** 2).mean(axis=1))
    assert levels[5:-5].min() > 0.05, f"a quiet 100 ms in the audio (level {levels[5:-5].min():.3f})"

    # 3. The frame rate dropped while starved and came back after.
    per_second = fps_by_second(tags)
    seconds = sorted(per_second)[1:-1]  # whole seconds only
    starved = [per_second[s] for s in seconds if m1 / 1000 + 2 <= s <= m1 / 1000 + STARVED_SECONDS - 2]
    after = [per_second[s] for s in seconds if s >= m2 / 1000 - 5]
    assert min(starved) < 0.8 * FPS, f"the frame rate never dropped while starved: {starved}"
    assert min(after) >= 0.9 * FPS, f"the frame rate did not come back: {after}"
    print(f"figure: frames per second while starved {min(starved)}-{max(starved)}, after {min(after)}-{max(after)}")


def test_a_machine_that_stays_too_slow_steps_the_encoder_down(user, rtmp_servers, media_workers, settings):
    server, worker, stream, listener, flv = start_show(user, rtmp_servers, media_workers, settings, step_down_seconds=5)
    try:
        wait_for(lambda: (last_video_ms(flv) or 0) >= 4000, 30, interval=0.2)
        worker.cpu.limit(STARVED_CPUS)
        started = time.monotonic()
        try:
            stepped = wait_for(
                lambda: next((p for p in listener.since(started) if p["step"]["level"] >= 1), None),
                45,
                interval=0.2,
                message="the encoder never stepped down",
            )
        finally:
            worker.cpu.limit(None)
        step = stepped["step"]
        # Tests run x264 ultrafast already: the first step down is the frame rate.
        assert (step["preset"], step["fps"], step["height"]) == ("ultrafast", 15, 720), step
        assert "could not keep up with 720p30 (ultrafast)" in step["reason"]
        assert "now goes out at 720p15 (ultrafast)" in step["reason"]
        assert step["reason"] in stepped["message"]  # the host reads why
        stepped_at = last_video_ms(flv) or 0
        wait_for(lambda: (last_video_ms(flv) or 0) >= stepped_at + 4000, 30, interval=0.2)
    finally:
        listener.stop()
        shows.show_end(stream=Stream.objects.get(pk=stream.pk), by=user)
        wait_for(lambda: not worker.running_show(), 20, message="the show did not end")
    # At the ingest: a steady 15 fps cadence after the step (every other slot), on the same connection.
    video = [ts for kind, ts, _key in flv_tags(flv) if kind == 9]
    after = [b - a for a, b in itertools.pairwise(t for t in video if t >= stepped_at + 1000)]
    assert after and np.median(after) == pytest.approx(1000 / 15, abs=2), np.median(after)
    assert len(server.recordings(KEY)) == 1, "the step down reconnected the destination"
