"""A media worker killed outright, or stopped for a deploy, mid-show: the show goes on from another worker.

Two real media workers (Celery, prefork) share the media queue; the show runs on one of them with the
LiveKit compositor as its program (one guest on stage, red). What the destination's ingest sees is the
evidence: its on_publish hooks say when each publish began and ended (never two at once), and its
recordings are decoded frame by frame (slate first, then the guest again).
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from apps.recordings.models import Recording
from apps.shows import services as shows
from apps.streams.models import Stream
from tests.support.rtmp import decode_all, ffprobe, wait_for

from .conftest import KEY, frames_seen, red_guest_show, seen

pytestmark = [pytest.mark.media, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]

# The promise (docs/RELIABILITY.md): the show is pushed again, from another worker, this soon after its worker died.
RESUME_SECONDS = 10.0


def on_air_with_red(livekit, user, rtmp_servers, synthetic_participants, media_workers):
    (server,) = rtmp_servers(1, publishes=True)
    workers = media_workers(2, extra_env={"BROADCAST_SOURCE": "compositor"})
    show = red_guest_show(livekit, user, server.url, synthetic_participants)
    shows.show_go_live(stream=show.stream, by=user)
    server.publishes.wait("publish", KEY, 1, timeout=60)
    first = server.wait_for_publish(KEY, timeout=30)
    wait_for(lambda: seen(first, "red"), 30, interval=0.5, message="the guest never reached the ingest")
    holder = wait_for(lambda: next((w for w in workers if w.running_show()), None), 10, message="no worker runs it")
    other = next(w for w in workers if w is not holder)
    # A few seconds of program on air before the fault.
    on_air = server.publishes.wait("publish", KEY, 1)
    wait_for(lambda: time.monotonic() - on_air >= 5, 10)
    return server, show, holder, other, on_air


def assert_resumed_with_slate_then_guest(server, fault_at: float) -> tuple[float, list]:
    resumed_at = server.publishes.wait("publish", KEY, 2, timeout=30)
    assert resumed_at - fault_at <= RESUME_SECONDS, f"pushed again {resumed_at - fault_at:.1f} s after the fault"
    print(f"figure: pushed again {resumed_at - fault_at:.1f} s after the fault")
    second = server.wait_for_publish(KEY, count=2, timeout=30, min_bytes=1)
    wait_for(lambda: seen(second, "red"), 20, interval=0.5, message="the guest never came back")
    frames = frames_seen(second)
    kinds = [k for _t, k in frames]
    first_red = kinds.index("red")
    # The resumed show went out with the slate at once, while its compositor rejoined the room.
    assert kinds[0] == "slate", kinds[:10]
    assert "other" not in kinds[: kinds.index("slate") + 1]
    assert frames[first_red][0] - frames[0][0] <= RESUME_SECONDS, "the guest took too long to come back"
    # A few seconds of the resumed show before the test goes on.
    wait_for(lambda: frames_seen(second)[-1][0] - frames[first_red][0] >= 3, 20, interval=0.5)
    return resumed_at, frames


def test_media_worker_killed_mid_show_resumes_on_another_worker(
    livekit, user, rtmp_servers, synthetic_participants, media_workers
):
    server, show, holder, other, on_air = on_air_with_red(
        livekit, user, rtmp_servers, synthetic_participants, media_workers
    )
    killed = holder.kill()  # the whole worker: main process, pool process, FFmpeg
    killed_at = time.monotonic()
    assert any(cmd.startswith("ffmpeg") for cmd in killed), killed  # it was recording

    assert_resumed_with_slate_then_guest(server, killed_at)
    assert other.running_show(), "the show did not resume on the other worker"
    # Exactly one publisher at the ingest at any time.
    assert server.publishes.max_concurrent(KEY) == 1

    # The recording goes on as a second part; both are the show's program, in order.
    shows.show_end(stream=Stream.objects.get(pk=show.stream.pk), by=user)
    parts = wait_for(
        lambda: list(Recording.objects.filter(stream=show.stream, kind=Recording.Kind.PROGRAM).order_by("segment"))
        if Recording.objects.filter(stream=show.stream).count() == 2
        else None,
        30,
        message="not two program parts",
    )
    assert [p.segment for p in parts] == [1, 2]
    assert parts[0].title.endswith("(interrupted)") and "part 2" in parts[1].title
    assert parts[0].duration_seconds >= (killed_at - on_air) - 2.0  # fragmented: plays to within a fragment
    for part in parts:
        assert decode_all(part.file.path) > 0 and float(ffprobe(part.file.path)["format"]["duration"]) > 1
    assert server.publishes.max_concurrent(KEY) == 1


def test_media_worker_stopped_for_a_deploy_hands_the_show_over(
    livekit, user, rtmp_servers, synthetic_participants, media_workers
):
    server, show, holder, other, on_air = on_air_with_red(
        livekit, user, rtmp_servers, synthetic_participants, media_workers
    )
    holder.terminate()  # SIGTERM to the main process, as `docker stop` and Kubernetes do
    stopped_at = time.monotonic()

    assert_resumed_with_slate_then_guest(server, stopped_at)
    assert other.running_show(), "the other worker did not take the show"
    assert server.publishes.max_concurrent(KEY) == 1
    # The stopped worker stored its part and exited within the grace period the deployment files give it.
    assert holder.proc is not None
    holder.proc.wait(settings.MEDIA_STOP_GRACE_SECONDS)
    assert holder.proc.returncode == 0, holder.log()[-2000:]
    exited_after = time.monotonic() - stopped_at
    assert exited_after <= settings.MEDIA_STOP_GRACE_SECONDS
    print(f"figure: the stopped worker exited {exited_after:.1f} s after SIGTERM")
    first_part = Recording.objects.get(stream=show.stream, segment=1)
    assert not first_part.title.endswith("(interrupted)"), "the stopped worker stored its own part"
    assert first_part.duration_seconds >= (stopped_at - on_air) - 1.0

    shows.show_end(stream=Stream.objects.get(pk=show.stream.pk), by=user)
    wait_for(lambda: Recording.objects.filter(stream=show.stream).count() == 2, 30, message="no second part")
    assert server.publishes.max_concurrent(KEY) == 1
