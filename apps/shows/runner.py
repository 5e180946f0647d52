"""Running one live show in a media worker (Celery task ``media.run_show``): the database is the truth.

``run_show``:

1. take the show's lease in Redis (waiting out a dead worker's), so a show runs once and a
   destination never gets two pushes; a thread keeps it (``LeaseKeeper``), through Redis outages too;
2. load the stream and its enabled destinations, decrypt their keys (registered with the log
   redactor), pick the encoder and the program source (``settings.BROADCAST_SOURCE``: the LiveKit
   compositor, one room connection for both canvases, or the generated test scene);
3. store any recording a killed run left in the spool (fragmented, so playable);
4. start the BroadcastSession (media/broadcast) for each canvas;
5. reconcile with the database until the stream is no longer live: every few seconds, and at once
   when a write wakes it (``realtime.wake_show_on_commit``), re-read the stream's status and its
   enabled destinations and apply the difference — start a pusher for a destination added or
   enabled, stop one removed or disabled, restart one whose address or key changed; advance the
   rolling comment-card queue (whether or not the show reads any platform chat);
6. stop the sessions, store the recording segments, close the room; or, when the worker is stopping
   (SIGTERM, apps/shows/worker.py), hand the show over: release the lease as soon as the pushers are
   closed and queue the show for another worker, then store the segment.

Nothing in this loop trusts a command: a lost wake-up costs a few seconds, never a wrong state. Redis
or the database going away does not end a show: the sessions keep pushing and recording, the loop
retries, and catches up when they are back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import cast

import psutil
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, close_old_connections

from apps.core import realtime
from apps.core import redis as redis_client
from apps.core.lease import Lease, LeaseKeeper
from apps.core.logging import bind_ids, register_secret, unregister_secret
from apps.destinations import netguard, platform_services
from apps.destinations.models import Canvas, StreamDestination
from apps.engagement.services import card_queue_advance
from apps.recordings.services import hold_for_storing, program_recording_save, program_recordings_recover
from apps.streams.models import Stream
from apps.studio.scene import scene_publish
from media.broadcast.pusher import DestinationSpec
from media.broadcast.session import BroadcastSession, ShowConfig
from media.broadcast.source import ProgramSource, TestSceneSource

from . import capacity
from .checks import show_check
from .health import HealthPublisher
from .watcher import PlatformGoLiveWatcher

log = logging.getLogger(__name__)

# A dead worker's lease frees this fast (then another media worker resumes the show, apps/shows/worker.py);
# a live one refreshes it from a thread of its own every LEASE_REFRESH_SECONDS.
LEASE_TTL_MS = 4_000
LEASE_REFRESH_SECONDS = 0.5
WAKE_POLL_SECONDS = 0.25  # the loop's tick: lease refresh, wake-ups, the card queue
RECONCILE_SECONDS = 2.0  # how often the runner re-reads the stream and its destinations unprompted
RUNS_TTL_SECONDS = 3600

SourceFactory = Callable[[Stream, ShowConfig], ProgramSource]

# Set in a media worker's pool process when the worker is told to stop (apps/shows/worker.py): the show
# running here hands over to another worker, and no new show starts here.
HANDOVER = threading.Event()


def lock_key(stream_id: int) -> str:
    return f"show:{stream_id}:lock"


def runs_key(stream_id: int) -> str:
    """How many times a run of this show has started (each resume after a crash counts)."""
    return f"show:{stream_id}:runs"


def spool_dir(stream_id: int) -> Path:
    return Path(settings.BROADCAST_SPOOL_DIR) / str(stream_id)


def test_scene_source(stream: Stream, config: ShowConfig) -> ProgramSource:
    """The generated test scene with the stream's title (BROADCAST_SOURCE=test_scene): no LiveKit needed."""
    return TestSceneSource(width=config.width, height=config.height, fps=config.fps, title=stream.title)


def program_source_factory(*, resumed: bool = False) -> SourceFactory:
    """A fresh source factory for one run of a show, as ``settings.BROADCAST_SOURCE`` says.

    The compositor factory is stateful: its first call joins the room, the second (the vertical canvas)
    reuses the same connection, so it must not be shared between runs. A resumed run does not wait for
    the room: its destinations get the slate at once, the people as soon as the compositor is back in."""
    if settings.BROADCAST_SOURCE == "test_scene":
        return test_scene_source
    from .compositor import CompositorSourceFactory  # livekit SDK: only in the media process

    return CompositorSourceFactory(join_wait=0.0 if resumed else None)


def slate_image(stream: Stream) -> str | None:
    """The brand kit's logo as a local file for the slate (storage may be S3), or None for the plain card."""
    if stream.brand_kit is None:
        return None
    asset = stream.brand_kit.assets.filter(kind="logo").first()
    if asset is None or not asset.file:
        return None
    target = spool_dir(stream.pk) / "slate" / f"logo-{asset.uid}.img"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with asset.file.open("rb") as src:
            target.write_bytes(src.read())
    except (OSError, ValueError):
        log.warning("Brand logo of stream %s unavailable; using the plain slate.", stream.pk)
        return None
    return str(target)


def destination_spec(destination: StreamDestination) -> DestinationSpec:
    key = destination.decrypt_stream_key()
    register_secret(key)  # from here on the key is masked in every log line
    return DestinationSpec(
        id=destination.pk,
        url=destination.rtmp_url,
        key=key,
        name=destination.display_name,
        ca_file=getattr(settings, "BROADCAST_EXTRA_CA_FILE", None) or None,
    )


def _fingerprint(destination: StreamDestination) -> str:
    """What a running pusher was started with: a change means stop it and start it again."""
    material = f"{destination.rtmp_url}\n{destination.stream_key_encrypted}\n{destination.canvas}"
    return hashlib.sha256(material.encode()).hexdigest()


def _host_check(host: str, port: int) -> list[str]:
    return netguard.check_host(host, port)


class ShowRun:
    """One run of one show in this worker: its sessions, the pushers they run, the secrets it holds."""

    def __init__(
        self, stream: Stream, sessions: dict[str, BroadcastSession], health: HealthPublisher | None = None
    ) -> None:
        self.stream = stream
        self.sessions = sessions
        self.health = health
        self.stream_version = stream.updated_at  # the row as this run last drew it
        self.running: dict[int, tuple[str, str]] = {}  # destination id → (canvas, fingerprint)
        self.secrets: list[str] = []
        self.skipped: set[int] = set()  # connected channels whose platform side failed to prepare
        self.worker: str | None = None

    def session_for(self, canvas: str) -> BroadcastSession:
        # A vertical destination on a stream without the vertical program gets the landscape one.
        return self.sessions.get(canvas) or self.sessions[Canvas.LANDSCAPE]

    def wanted(self) -> dict[int, StreamDestination]:
        rows = StreamDestination.objects.filter(stream_id=self.stream.pk, enabled=True).exclude(pk__in=self.skipped)
        return {d.pk: d for d in rows}

    def start_pusher(self, destination: StreamDestination) -> None:
        if destination.account_id is not None:
            # A connected channel added while live: create its platform side and fetch ingest + key first
            # (idempotent: what exists already is reused).
            prepared = platform_services.prepare_platform_destination(destination=destination)
            if not prepared.ok:
                self.skipped.add(destination.pk)
                return
            destination.refresh_from_db()
        spec = destination_spec(destination)
        self.secrets.append(spec.key)
        canvas = destination.canvas if destination.canvas in self.sessions else Canvas.LANDSCAPE
        self.session_for(canvas).add_destination(spec)
        self.running[destination.pk] = (canvas, _fingerprint(destination))

    def stop_pusher(self, destination_id: int) -> None:
        canvas, _ = self.running.pop(destination_id)
        self.session_for(canvas).remove_destination(destination_id)
        if self.health is not None:
            self.health.forget_destination(destination_id)
        StreamDestination.objects.filter(pk=destination_id).update(status=StreamDestination.Status.DISCONNECTED)

    def reconcile(self) -> None:
        """Make the running pushers match the enabled destinations, and the program the stream's settings."""
        updated_at = Stream.objects.filter(pk=self.stream.pk).values_list("updated_at", flat=True).first()
        if updated_at is not None and updated_at != self.stream_version:
            # The stream changed outside the studio (a brand kit applied on air, say): draw it again.
            self.stream_version = updated_at
            scene_publish(stream_id=self.stream.pk)
        wanted = self.wanted()
        for destination_id in [d for d in self.running if d not in wanted]:
            self.stop_pusher(destination_id)
            log.info("Show %s: destination %s stopped.", self.stream.pk, destination_id)
        for destination in wanted.values():
            known = self.running.get(destination.pk)
            if known is not None and known[1] != _fingerprint(destination):
                self.stop_pusher(destination.pk)  # its address or key changed
                known = None
            if known is None:
                self.start_pusher(destination)
                log.info("Show %s: destination %s started.", self.stream.pk, destination.pk)


def handover_requested() -> bool:
    """This process was told to stop (SIGTERM in a media worker's pool process, apps/shows/worker.py)."""
    return HANDOVER.is_set()


def run_show(
    *,
    stream_id: int,
    source_factory: SourceFactory | None = None,
    lock_wait: float | None = None,
    on_started: Callable[[BroadcastSession], None] | None = None,
    worker: str | None = None,
) -> str:
    """Run one live show to its end. Returns why it returned: ended, busy, not-live, refused, crashed, lost-lock,
    handed-over. `worker` is the media worker's name (its capacity record, apps/shows/capacity.py)."""
    # Every log line of this show, on any of its threads, and its error reports carry the stream id
    # (and the go-live request's id, bound from the task's headers: streamus/observability.py).
    bind_ids(stream_id=stream_id, process=True)
    client = redis_client.client()
    if handover_requested():
        # This worker is stopping: the show goes to another one (this pool process takes no new show).
        _hand_over(stream_id)
        return "handed-over"
    lease = Lease(client, lock_key(stream_id), ttl_ms=LEASE_TTL_MS)
    if not lease.acquire(LEASE_TTL_MS / 1000 + 2 if lock_wait is None else lock_wait):
        log.info("Show %s is already running on another worker.", stream_id)
        return "busy"
    keeper = LeaseKeeper(lease, interval=LEASE_REFRESH_SECONDS).start()
    run: ShowRun | None = None
    try:
        stream = Stream.objects.select_related("owner", "brand_kit").filter(pk=stream_id).first()
        if stream is None or not stream.is_live:
            return "not-live"
        try:
            encoder = show_check(stream=stream, going_live=False)
        except ValidationError as exc:
            reason = "; ".join(exc.messages)
            StreamDestination.objects.filter(stream=stream, enabled=True).update(
                status=StreamDestination.Status.ERROR, last_error=reason
            )
            log.warning("Show %s refused: %s", stream_id, reason)
            return "refused"
        resumed = int(client.incr(runs_key(stream_id))) > 1  # type: ignore[arg-type]
        client.expire(runs_key(stream_id), RUNS_TTL_SECONDS)
        program_recordings_recover(stream=stream, directory=spool_dir(stream_id))
        width, height = stream.size
        config = ShowConfig(
            width=width,
            height=height,
            fps=int(stream.fps),
            video_kbps=stream.video_bitrate_kbps,
            audio_kbps=stream.audio_bitrate_kbps,
            title=stream.title,
            encoder=encoder,
            preset=getattr(settings, "BROADCAST_X264_PRESET", "veryfast"),
            recording_path=(
                spool_dir(stream_id) / f"{uuid.uuid4().hex}.{stream.recording_format}"
                if stream.recording_enabled
                else None
            ),
            recording_format=stream.recording_format,
            slate_image=slate_image(stream),
            ffmpeg=settings.FFMPEG_BIN,
            step_down_seconds=settings.BROADCAST_STEP_DOWN_SECONDS,
        )
        config = _start_step(config, stream, worker, encoder)
        health = HealthPublisher(
            stream_id,
            video_kbps=stream.video_bitrate_kbps,
            audio_kbps=stream.audio_bitrate_kbps,
            spool=spool_dir(stream_id) if stream.recording_enabled else None,
        )
        # One encode per canvas: the landscape program (recorded) always; the vertical 9:16 program only
        # when the stream asks for it, for the destinations that chose it.
        configs: dict[str, ShowConfig] = {Canvas.LANDSCAPE: config}
        if stream.vertical_canvas:
            configs[Canvas.VERTICAL] = dataclasses.replace(config, width=height, height=width, recording_path=None)
        make_source = source_factory or program_source_factory(resumed=resumed)
        sessions = {
            canvas: BroadcastSession(
                canvas_config,
                make_source(stream, canvas_config),
                host_check=_host_check,
                on_health=health,
                name=canvas,
            )
            for canvas, canvas_config in configs.items()
        }
        for canvas, session in sessions.items():
            session.on_frame_timing = health.frame_timing(canvas)
        # The compositor's received tracks, audio level and WebRTC statistics (None for the test scene).
        health.compositor = getattr(make_source, "session", None)
        run = ShowRun(stream, sessions, health)
        run.worker = worker
        # Connected channels (YouTube/Twitch/Facebook): create the platform side and fetch ingest + key;
        # a platform that fails is marked on its destination and skipped, the others go live.
        run.skipped = platform_services.broadcast_prepare(stream=stream)
        wanted = run.wanted()
        for canvas, session in sessions.items():
            specs = []
            for destination in wanted.values():
                if (destination.canvas if destination.canvas in sessions else Canvas.LANDSCAPE) == canvas:
                    specs.append(destination_spec(destination))
                    run.running[destination.pk] = (canvas, _fingerprint(destination))
            run.secrets += [spec.key for spec in specs]
            session.start(specs)
        watcher = PlatformGoLiveWatcher(stream_id).start()  # YouTube: live once video is seen
        log.info("Show %s is on air with %d destination(s).", stream_id, len(run.running))
        if on_started:
            on_started(sessions[Canvas.LANDSCAPE])
        outcome = "error"
        try:
            outcome = _loop(keeper, run)
        finally:
            _finish(run, outcome, keeper)
            watcher.stop()
        return outcome
    finally:
        if run is not None:
            for key in run.secrets:
                unregister_secret(key)
            if run.health is not None:
                run.health.close()
        keeper.stop()
        with contextlib.suppress(*redis_client.RedisUnavailable):
            lease.release()
        close_old_connections()


def _start_step(config: ShowConfig, stream: Stream, worker: str | None, encoder: str) -> ShowConfig:
    """Where on the step-down ladder this worker starts the show: its own measurement (apps/shows/capacity.py)."""
    if worker is None or encoder != "libx264":
        return config
    try:
        answer = capacity.admission(stream, worker=worker)
    except DatabaseError:
        return config
    if answer is None:
        return config
    level = answer.fit.level if answer.fit is not None else len(capacity.ladder_of(config)) - 1
    start = capacity.ladder_of(config)[level]
    with contextlib.suppress(*redis_client.RedisUnavailable):  # this worker is busier now, until it reports
        capacity.show_running(worker, stream.pk, answer.need * start.fps / max(1, config.fps))
    if level == 0:
        return config
    reason = (
        f"This server has room for {start.label} now (it measured {answer.need:.1f} CPU cores needed for "
        f"{answer.asked.label}, {answer.room:.1f} free), so the program starts there."
    )
    log.warning("Show %s: %s", stream.pk, reason)
    return dataclasses.replace(config, start_level=level, start_reason=reason)


def _hand_over(stream_id: int) -> None:
    """Queue the show again for another media worker (this one is stopping and consumes no more tasks)."""
    from .services import show_queue

    show_queue(stream_id=stream_id)
    log.warning("Show %s handed over: queued for another media worker.", stream_id)


def _loop(keeper: LeaseKeeper, run: ShowRun) -> str:
    """Reconcile until the show ends. Redis or the database being away does not end it: the sessions keep
    pushing and recording; the loop retries and catches up when they are back."""
    stream_id = run.stream.pk
    wake = realtime.show_wake_key(stream_id)
    client = keeper.lease.client
    next_reconcile = time.monotonic() + RECONCILE_SECONDS
    meter = _CostMeter(run)
    while True:
        if keeper.lost.is_set():
            # Someone else holds the show now (we were cut off past the TTL): never push twice.
            log.error("Show %s lost its lease; stopping this run.", stream_id)
            return "lost-lock"
        if handover_requested():
            return "handed-over"
        woken = None
        try:
            woken = cast("list[bytes] | None", client.blpop([wake], timeout=WAKE_POLL_SECONDS))
            if woken is not None:
                client.delete(wake)  # one look serves every wake-up queued so far
        except redis_client.RedisUnavailable:
            time.sleep(WAKE_POLL_SECONDS)  # Redis away: the show goes on; look again shortly
        if woken is not None or time.monotonic() >= next_reconcile:
            next_reconcile = time.monotonic() + RECONCILE_SECONDS
            try:
                if not Stream.objects.filter(pk=stream_id, status=Stream.Status.LIVE).exists():
                    return "ended"
                run.reconcile()
            except DatabaseError:
                log.warning("Show %s: database unavailable; the show goes on, retrying.", stream_id)
                close_old_connections()
        try:
            card_queue_advance(stream=run.stream)
        except DatabaseError:
            close_old_connections()  # the card queue catches up when the database is back
        except redis_client.RedisUnavailable:
            pass  # the card queue catches up when Redis is back
        meter.step()
        if not all(session.running for session in run.sessions.values()):
            return "crashed"


class _CostMeter:
    """Every LEARN_SECONDS: what this show really costs (this process's CPU), for the worker's capacity record."""

    def __init__(self, run: ShowRun) -> None:
        self.run = run
        self.process = psutil.Process()
        self.mark = self._now()

    def _now(self) -> tuple[float, float]:
        t = self.process.cpu_times()
        return time.monotonic(), t.user + t.system + t.children_user + t.children_system

    def step(self) -> None:
        if self.run.worker is None:
            return
        now = self._now()
        if now[0] - self.mark[0] < capacity.LEARN_SECONDS:
            return
        observed = (now[1] - self.mark[1]) / (now[0] - self.mark[0])
        self.mark = now
        landscape = self.run.sessions[Canvas.LANDSCAPE]
        snapshot = landscape.program_snapshot()
        if snapshot["on_slate"]:
            return  # the slate costs little: it says nothing about the show
        try:
            capacity.learn_from_show(
                self.run.worker,
                stream=self.run.stream,
                step=landscape.step_now,
                canvases=len(self.run.sessions),
                observed=observed,
                real_time_factor=snapshot["real_time_factor"],
            )
        except (DatabaseError, *redis_client.RedisUnavailable):
            pass  # the next one will do


def _finish(run: ShowRun, outcome: str, keeper: LeaseKeeper) -> None:
    """Stop the sessions; hand the show over or close it; store the recording segments.

    Handing over, the lease is released as soon as the pushers are closed, so the next worker starts
    pushing while this one is still storing its segment."""
    landscape = run.sessions[Canvas.LANDSCAPE]
    for session in run.sessions.values():
        if session is not landscape:
            session.stop()
    landscape.stop()
    stream = run.stream
    # Locked until stored: the next run (handed over to, or resuming) must not store them too.
    storing = hold_for_storing([p for p in landscape.recordings if p.exists()])
    if outcome == "handed-over":
        _hand_over(stream.pk)
        keeper.stop()
        with contextlib.suppress(*redis_client.RedisUnavailable):
            keeper.lease.release()
    if outcome == "ended" and settings.BROADCAST_SOURCE == "compositor":
        # Only now: closing the room earlier would put name cards in the last frames of the show.
        from .services import close_room

        close_room(stream)
    # One file per segment: a step down to other codec settings starts a new one (media/broadcast/session.py).
    with storing:
        for path in landscape.recordings:
            if path.exists() and path.stat().st_size > 0:
                program_recording_save(stream=stream, path=path)
    if outcome == "ended":
        StreamDestination.objects.filter(stream=stream).update(status=StreamDestination.Status.DISCONNECTED)
        platform_services.broadcast_finish(stream=stream)  # YouTube complete, Facebook end_live_video
    # Any other outcome: the show goes on elsewhere (handed over, resumed after a crash, another holder):
    # its platform broadcasts stay open and its destinations' state is the next run's to report.
    shutil.rmtree(spool_dir(stream.pk) / "slate", ignore_errors=True)
    if run.worker is not None:
        with contextlib.suppress(*redis_client.RedisUnavailable):
            capacity.show_running(run.worker, stream.pk, None)
