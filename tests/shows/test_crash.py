"""SIGKILL the media worker's process mid-show: no FFmpeg survives, the recording plays, the show resumes once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings

from apps.recordings.models import Recording
from apps.shows import runner as broadcast
from apps.shows import services as shows
from apps.shows.tasks import run_show_task
from apps.streams.models import Stream
from tests.factories import DestinationFactory, StreamFactory
from tests.support.rtmp import decode_all, ffprobe, packet_times, wait_for

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]


def show_child(worker: subprocess.Popen) -> psutil.Process | None:
    """The pool process running the show: the worker's child that has an FFmpeg child of its own."""
    for child in psutil.Process(worker.pid).children():
        if any("ffmpeg" in " ".join(c.cmdline()) for c in child.children()):
            return child
    return None


def test_sigkill_of_the_media_process(media_worker, rtmp_servers, tmp_path):
    (server,) = rtmp_servers(1)
    stream = StreamFactory(resolution="480p", fps=30, video_bitrate_kbps=400, audio_bitrate_kbps=64)
    stream.transition(Stream.Status.LIVE)
    stream.save()
    DestinationFactory(stream=stream, rtmp_url=server.url, stream_key="crash-key")
    r = redis.Redis.from_url(settings.REDIS_URL)
    r.delete(broadcast.runs_key(stream.pk), broadcast.lock_key(stream.pk))

    run_show_task.delay(stream.pk)
    first = server.wait_for_publish("crash-key", timeout=60)
    on_air_since = first.stat().st_ctime
    child = wait_for(lambda: show_child(media_worker), 10, message="no pool process with an FFmpeg child")
    ffmpegs = [c for c in child.children(recursive=True) if "ffmpeg" in " ".join(c.cmdline())]
    spool = Path(settings.BROADCAST_SPOOL_DIR) / str(stream.pk)
    wait_for(lambda: time.time() - on_air_since >= 5, 10)

    killed_at = time.time()
    os.kill(child.pid, signal.SIGKILL)

    # 1. No FFmpeg outlives the process that started it.
    def gone(p: psutil.Process) -> bool:
        try:
            return p.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_for(lambda: all(gone(p) for p in ffmpegs), 5, message="orphan FFmpeg after SIGKILL")

    # 2. The partial recording plays to within 2 s of the kill.
    partial = wait_for(lambda: sorted(spool.glob("*.mp4")), 5)[0]
    copy = tmp_path / "partial.mp4"
    shutil.copy(partial, copy)
    duration = float(ffprobe(copy)["format"]["duration"])
    assert duration >= (killed_at - on_air_since) - 2.0, (duration, killed_at - on_air_since)
    # Every picture in it decodes, to the end (pictures the machine could not draw in time are not in it:
    # the program keeps the wall clock, media/broadcast/pacing.py).
    pictures = packet_times(copy)
    assert decode_all(copy) == len(pictures) and pictures[-1] >= duration - 0.5, (len(pictures), duration)

    # 3. The show is picked up again, exactly once.
    server.wait_for_publish("crash-key", count=2, timeout=60, min_bytes=1)
    assert int(r.get(broadcast.runs_key(stream.pk)) or 0) == 2
    interrupted = wait_for(lambda: Recording.objects.filter(stream=stream, title__endswith="(interrupted)").first(), 10)
    assert interrupted.duration_seconds >= (killed_at - on_air_since) - 2.0
    resumed_child = wait_for(lambda: show_child(media_worker), 10)
    assert resumed_child.pid != child.pid
    stream.refresh_from_db()
    shows.show_end(stream=stream, by=None)
    wait_for(lambda: Recording.objects.filter(stream=stream).count() == 2, 15, message="no final recording")
    assert len(server.recordings("crash-key")) == 2
    assert int(r.get(broadcast.runs_key(stream.pk)) or 0) == 2
    wait_for(lambda: not r.exists(broadcast.lock_key(stream.pk)), 10)
