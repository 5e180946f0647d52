"""SIGKILL the media worker's process mid-show: no FFmpeg survives, the recording plays, the show resumes once."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings
from django.db import connection

from apps.recordings.models import Recording
from apps.streams import broadcast
from apps.streams.models import Stream
from apps.streams.tasks import run_show_task
from tests.factories import DestinationFactory, StreamFactory
from tests.support.rtmp import decode_all, ffprobe, wait_for

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def media_worker(tmp_path, settings):
    """A real Celery worker on the `media` queue (prefork, one child), against this test's database."""
    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "BROADCAST_SPOOL_DIR": str(settings.BROADCAST_SPOOL_DIR),
        "BROADCAST_X264_PRESET": "ultrafast",
        "BROADCAST_SOURCE": "test_scene",
        "ALLOW_PRIVATE_DESTINATIONS": "1",
        "STREAMUS_ENV": "test",
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    r = redis.Redis.from_url(settings.REDIS_URL)
    r.delete("media")  # stale messages from an earlier run must not start shows here
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "streamus",
            "worker",
            "-Q",
            "media",
            "-c",
            "1",
            "-P",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"media-test-{os.getpid()}@%h",
            "--loglevel",
            "INFO",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield proc
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    log.close()


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
    r.delete(broadcast.runs_key(stream.pk), broadcast.lock_key(stream.pk), broadcast.stop_key(stream.pk))

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
    assert decode_all(copy) >= int(duration * 30) - 5

    # 3. The show is picked up again, exactly once.
    server.wait_for_publish("crash-key", count=2, timeout=60, min_bytes=1)
    assert int(r.get(broadcast.runs_key(stream.pk)) or 0) == 2
    interrupted = wait_for(lambda: Recording.objects.filter(stream=stream, title__endswith="(interrupted)").first(), 10)
    assert interrupted.duration_seconds >= (killed_at - on_air_since) - 2.0
    resumed_child = wait_for(lambda: show_child(media_worker), 10)
    assert resumed_child.pid != child.pid
    stream.refresh_from_db()
    broadcast.broadcast_stop(stream=stream, by=None)
    wait_for(lambda: Recording.objects.filter(stream=stream).count() == 2, 15, message="no final recording")
    assert len(server.recordings("crash-key")) == 2
    assert int(r.get(broadcast.runs_key(stream.pk)) or 0) == 2
    wait_for(lambda: not r.exists(broadcast.lock_key(stream.pk)), 10)
