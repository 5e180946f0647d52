"""The recorder's FFmpeg is SIGKILLed mid-show: its file plays to within one fragment of the kill, a new part starts
at once, and the destinations never notice.

The broadcast engine itself (media/broadcast, a real FFmpeg recorder and a real nginx-rtmp): the file is
fragmented MP4, so what was written before the kill plays; the session sees its recorder gone within a
second and starts the next part on a fresh keyframe.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from media.broadcast.pusher import DestinationSpec
from media.broadcast.recorder import FRAGMENT_MICROSECONDS
from tests.support.rtmp import decode_all, ffprobe, packet_times, wait_for

pytestmark = pytest.mark.media

FRAGMENT = FRAGMENT_MICROSECONDS / 1e6


def test_recorder_killed_mid_show_plays_to_the_kill_and_a_new_part_starts(make_session, rtmp_servers):
    (server,) = rtmp_servers(1)
    session = make_session()
    session.start([DestinationSpec(1, server.url, "steady")])
    first = session.recordings[0]
    wait_for(lambda: session.program_snapshot()["media_seconds"] >= 4, 20)
    recorder = session.recorder
    assert recorder is not None and recorder.proc is not None
    media_at_kill = session.figures.audio_seconds  # media time on the wall clock (audio covers every slot)
    os.kill(recorder.proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()

    # A new part within a second or two, written from a keyframe on.
    wait_for(lambda: len(session.recordings) == 2 and session.recorder.alive, 5, message="no new part")
    assert time.monotonic() - killed_at <= 2.5
    print(f"figure: new recording part {time.monotonic() - killed_at:.2f} s after the kill")
    media_at_restart = session.figures.audio_seconds
    second = session.recordings[1]
    wait_for(lambda: second.exists() and second.stat().st_size > 20_000, 10, message="the new part stays empty")
    wait_for(lambda: session.figures.audio_seconds >= media_at_kill + 3, 20)
    session.stop()
    media_at_stop = session.figures.audio_seconds

    # The killed part plays to within one fragment of the kill, every picture of it decodes.
    played = float(ffprobe(first)["format"]["duration"])
    assert played >= media_at_kill - FRAGMENT - 0.1, (played, media_at_kill)
    print(f"figure: the killed part plays to {media_at_kill - played:+.2f} s of the kill")
    pictures = packet_times(first)
    assert decode_all(first) == len(pictures) > 0
    # The new part starts close to where the first stopped (one keyframe after noticing) and plays on.
    info = ffprobe(second)
    assert float(info["format"]["duration"]) >= media_at_stop - media_at_restart - FRAGMENT
    assert decode_all(second) == len(packet_times(second)) > 0
    # The destination never noticed: one publish, no reconnects.
    assert len(server.recordings("steady")) == 1
    assert session.pushers[1].stats.reconnects == 0
