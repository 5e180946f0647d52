"""One encode fanned out to real nginx-rtmp ingests: what arrives, and what survives failures."""

from __future__ import annotations

import itertools
import time

import pytest

from media.broadcast.pusher import DestinationSpec, backoff_delay
from tests.support.engine import FPS, HEIGHT, WIDTH
from tests.support.rtmp import (
    Blackhole,
    SilentServer,
    audio_stream,
    decode_all,
    ffprobe,
    keyframe_times,
    packet_times,
    video_stream,
    wait_for,
)

pytestmark = pytest.mark.media


def assert_continuous(times: list[float], *, max_gap: float = 0.25) -> None:
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps, "no packets"
    assert max(gaps) <= max_gap, f"timestamp gap of {max(gaps):.3f} s"
    assert min(gaps) > 0, "timestamps went backwards or repeated"


def test_one_encode_reaches_three_destinations_and_survives_one_dying(make_session, rtmp_servers, tmp_path):
    servers = rtmp_servers(3)
    session = make_session()
    session.start([DestinationSpec(i, s.url, f"key{i}") for i, s in enumerate(servers)])
    for i, s in enumerate(servers):
        s.wait_for_publish(f"key{i}")

    # Kill one ingest mid-show; it reports the failure and keeps retrying.
    victim = servers[1]
    victim.kill()
    wait_for(lambda: session.pushers[1].stats.state == "error", 10, message="pusher never noticed the kill")
    assert session.pushers[1].stats.last_error
    wait_for(lambda: session.pushers[1].stats.reconnects >= 2, 10)

    victim.start()
    back_at = time.monotonic()
    victim.wait_for_publish("key1", count=2, timeout=10, min_bytes=1)
    assert time.monotonic() - back_at <= 5.0
    wait_for(lambda: session.pushers[1].stats.state == "live", 5)
    # let the resumed publish carry a few GOPs
    wait_for(lambda: session.pushers[1].stats.frames_sent >= 200 and session.frames_encoded >= 330, 20)
    assert session.stop() is not None

    for i in (0, 2):
        flv = servers[i].recordings(f"key{i}")
        assert len(flv) == 1, "an unaffected destination reconnected"
        info = ffprobe(flv[0])
        v = video_stream(info)
        assert (v["codec_name"], v["width"], v["height"], v["r_frame_rate"]) == ("h264", WIDTH, HEIGHT, f"{FPS}/1")
        assert audio_stream(info)["codec_name"] == "aac"
        assert float(info["format"]["duration"]) >= 9.0
        times = packet_times(flv[0])
        assert_continuous(times)
        assert len(times) >= 9 * FPS
        assert decode_all(flv[0]) >= 9 * FPS
        keys = keyframe_times(flv[0])
        assert len(keys) >= 4 and all(abs((b - a) - 2.0) < 0.05 for a, b in itertools.pairwise(keys))

    resumed = servers[1].recordings("key1")[1]
    assert video_stream(ffprobe(resumed))["codec_name"] == "h264"
    assert decode_all(resumed) > FPS  # starts at a keyframe: decodes from its first packet

    # The recording saw the whole show, once: every picture the encoder made (on a busy machine the engine
    # drops pictures to keep the wall clock, media/broadcast/pacing.py; none may go missing after it).
    pictures = packet_times(tmp_path / "program.mp4")
    assert abs(len(pictures) - session.frames_encoded) <= 1, (len(pictures), session.frames_encoded)
    assert decode_all(tmp_path / "program.mp4") == len(pictures)


def test_dead_and_stalled_destinations_do_not_delay_the_others(make_session, rtmp_servers):
    (good,) = rtmp_servers(1)
    blackhole, silent = Blackhole(), SilentServer()
    try:
        session = make_session(record=False)
        session.start(
            [
                DestinationSpec(1, blackhole.url, "never-accepts"),
                DestinationSpec(2, silent.url, "never-reads"),
                DestinationSpec(3, good.url, "good"),
            ]
        )
        good.wait_for_publish("good")
        wait_for(lambda: session.frames_encoded >= 5 * FPS, 15)
        wait_for(
            lambda: all(session.pushers[i].stats.state == "error" for i in (1, 2)),
            15,
            message="bad pushers not in error",
        )
        started = session.started_at
        assert started is not None
        elapsed = time.monotonic() - started
        # The encoder never waited for the bad ones (each would block it for seconds at a time)...
        assert session.frames_encoded >= (elapsed - 1.0) * FPS * 0.6  # 0.6: slack for a loaded test machine
        # ...and the good destination got everything the encoder made, as it made it.
        assert session.pushers[3].stats.frames_sent >= session.frames_encoded - FPS
        session.stop()
    finally:
        blackhole.close()
        silent.close()

    times = packet_times(good.recordings("good")[0])
    assert_continuous(times)
    for i in (1, 2):
        stats = session.pushers[i].stats
        print(i, stats)
        assert stats.frames_sent == 0
        assert stats.reconnects >= 1
    assert "timed out" in session.pushers[1].stats.last_error
    assert "did not answer" in session.pushers[2].stats.last_error


def test_add_and_remove_destinations_live(make_session, rtmp_servers):
    first, second = rtmp_servers(2)
    session = make_session(record=False)
    session.start([DestinationSpec(1, first.url, "one")])
    first.wait_for_publish("one")
    assert session.add_destination(DestinationSpec(2, second.url, "two"))
    assert not session.add_destination(DestinationSpec(2, second.url, "two")), "a destination got two pushes"
    second.wait_for_publish("two")
    assert session.remove_destination(1)
    frames_at_removal = session.frames_encoded
    wait_for(lambda: session.frames_encoded >= frames_at_removal + 2 * FPS, 10)
    session.stop()
    assert len(first.recordings("one")) == 1 and len(second.recordings("two")) == 1
    # "one" stopped at the removal; "two" went on
    assert float(ffprobe(second.recordings("two")[0])["format"]["duration"]) >= 2.0
    assert_continuous(packet_times(second.recordings("two")[0]))


def test_backoff_is_capped_and_jittered():
    delays = [backoff_delay(n) for n in range(1, 12) for _ in range(20)]
    assert max(delays) <= 3.0
    assert min(delays) >= 0.25
    assert len({round(d, 3) for d in delays}) > 50  # jittered, not lockstep
    assert max(backoff_delay(1) for _ in range(50)) <= 0.5


def test_a_destination_that_stops_reading_mid_show_drops_gops_and_is_reported(make_session, rtmp_servers, monkeypatch):
    from media.broadcast import rtmp
    from tests.support.rtmp import StallingProxy

    monkeypatch.setattr(rtmp, "SEND_BUFFER_BYTES", 16 * 1024)  # see the stall within seconds at test bitrates
    monkeypatch.setattr(rtmp, "IO_TIMEOUT", 3.0)
    good, behind_proxy = rtmp_servers(2)
    proxy = StallingProxy(behind_proxy.port)
    try:
        session = make_session(record=False)
        session.start([DestinationSpec(1, good.url, "steady"), DestinationSpec(2, proxy.url, "wedged")])
        good.wait_for_publish("steady")
        behind_proxy.wait_for_publish("wedged")
        proxy.freeze()
        frozen_at = time.monotonic()
        wait_for(lambda: session.pushers[2].stats.frames_dropped > FPS, 20, message="no GOPs dropped")
        wait_for(lambda: session.pushers[2].stats.state == "error", 20)
        assert "stopped reading" in session.pushers[2].stats.last_error
        elapsed = time.monotonic() - frozen_at
        frames_then = session.frames_encoded
        wait_for(lambda: session.frames_encoded >= frames_then + FPS, 5)
        session.stop()
    finally:
        proxy.close()
    assert elapsed < 20
    steady = good.recordings("steady")
    assert len(steady) == 1
    assert_continuous(packet_times(steady[0]))


def test_pusher_queue_is_bounded_and_drops_whole_gops():
    from media.broadcast.packet import TAG_AUDIO, TAG_VIDEO, MediaPacket
    from media.broadcast.pusher import Pusher

    pusher = Pusher(DestinationSpec(1, "rtmp://127.0.0.1:1/live", "k"), headers=list, metadata={}, queue_seconds=4.0)
    seq = 0
    for frame in range(30 * 20):  # 20 s of media into a pusher that never sends
        seq += 1
        ts = frame * 1000 // 30
        pusher.offer(MediaPacket(TAG_VIDEO, ts, b"v", keyframe=frame % 60 == 0, seq=seq))
        seq += 1
        pusher.offer(MediaPacket(TAG_AUDIO, ts, b"a", seq=seq))
        queue = list(pusher._queue)
        if queue:  # empty while it waits for the next keyframe after a drop
            assert queue[-1].timestamp_ms - queue[0].timestamp_ms <= 4000 + 34
            assert queue[0].kind == TAG_VIDEO and queue[0].keyframe, "the backlog must start at a keyframe"
    assert 30 * 2 <= sum(1 for p in pusher._queue if p.kind == TAG_VIDEO) <= 4 * 30 + 1
    assert pusher.stats.frames_dropped >= 30 * 20 - 4 * 30 - 60
