"""Live-show control: the services the API and studio call, and the media worker's side of a show.

Services (keyword-only, raise ValidationError):

* ``broadcast_start`` — checks the show fits the plan and this worker's encoders
  (refusing before going live), then on commit opens the LiveKit room (the
  compositor joins it; rooms are never auto-created) and enqueues ``media.run_show``.
* ``broadcast_stop`` — signals the running show through Redis; graceful: the
  recording is finished, uploaded and its Recording row created within ~5 s.
  On commit the LiveKit room is closed too (a failure is logged, never blocks the end).
* ``destination_add_live`` / ``destination_remove_live`` — start or stop one
  pusher while live.

``run_show`` runs in the media worker (Celery task ``media.run_show``):

1. take the per-stream Redis lock (waiting out a dead worker's lock), so a show
   runs once and a destination never gets two pushes;
2. load the stream and its destinations, decrypt keys (registered with the log
   redactor), pick the encoder and the program source (``settings.BROADCAST_SOURCE``:
   the LiveKit compositor, one room connection for both canvases, or the test scene);
3. finish recordings a killed run left in the spool (fragmented, so playable);
4. start the BroadcastSession (workers/broadcast) and serve control commands
   from Redis until stopped or the stream ends, refreshing the lock;
5. stop the session, upload the recording, create the Recording row.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from apps.accounts.tiers import limits_for
from apps.core.logging import register_secret, unregister_secret
from apps.core.ownership import ensure_owner
from apps.destinations import netguard, platform_services
from apps.destinations.models import Canvas, StreamDestination
from apps.recordings.models import Recording
from apps.streams.models import Stream
from workers.broadcast.capacity import CapacityError, choose_encoder
from workers.broadcast.pusher import DestinationSpec
from workers.broadcast.session import BroadcastSession, ShowConfig
from workers.broadcast.source import ProgramSource, TestSceneSource

log = logging.getLogger(__name__)

LOCK_TTL_MS = 10_000  # a dead worker's lock frees this fast; a live one refreshes it every poll
CONTROL_POLL_SECONDS = 0.25  # how quickly a stop/add/remove reaches the running show
STATUS_CHECK_SECONDS = 2.0  # how often the control loop re-reads the stream's status from the database
DB_SUMMARY_SECONDS = 5.0  # how often a destination's health summary is written to its row
STOP_TTL_SECONDS = 3600

_REFRESH = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

SourceFactory = Callable[[Stream, ShowConfig], ProgramSource]


def control_key(stream_id: int) -> str:
    return f"show:{stream_id}:control"


def lock_key(stream_id: int) -> str:
    return f"show:{stream_id}:lock"


def stop_key(stream_id: int) -> str:
    return f"show:{stream_id}:stop"


def runs_key(stream_id: int) -> str:
    """How many times a run of this show has started (each resume after a crash counts)."""
    return f"show:{stream_id}:runs"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def spool_dir(stream_id: int) -> Path:
    return Path(settings.BROADCAST_SPOOL_DIR) / str(stream_id)


# --- checks ---------------------------------------------------------------------


def broadcast_check(*, stream: Stream) -> str:
    """The encoder this show will use, or ValidationError: plan ceiling first, then this worker's capacity."""
    width, height = stream.size
    fps = int(stream.fps)
    limits = limits_for(stream.owner)
    if not limits.allows_resolution(height, fps):
        message = (
            f"Your plan streams up to {limits.ceiling_label}; {stream.resolution} at {fps} fps needs a higher plan."
        )
        raise ValidationError({"resolution": message}, code="tier_limit")
    try:
        return choose_encoder(width, height, fps, canvases=2 if stream.vertical_canvas else 1)
    except CapacityError as exc:
        raise ValidationError({"resolution": str(exc)}, code="capacity") from exc


def _check_destination_host(destination: StreamDestination) -> None:
    parts = urlsplit(destination.rtmp_url)
    try:
        netguard.check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "rtmps" else 1935))
    except netguard.PrivateAddressError as exc:
        raise ValidationError({"rtmp_url": str(exc)}) from exc


# --- services -------------------------------------------------------------------


def broadcast_start(*, stream: Stream, by: Any) -> None:
    """Start the show's media (the stream is, or is becoming, live). Refuses what cannot be carried."""
    ensure_owner(stream.owner_id, by)
    broadcast_check(stream=stream)
    stream_id = stream.pk

    def enqueue() -> None:
        from apps.streams.tasks import run_show_task

        if settings.BROADCAST_SOURCE == "compositor":
            _open_room(stream)
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # Eager mode would run the whole show inside this request; shows need a media worker.
            log.warning("Show %s not started: Celery runs eagerly, there is no media worker.", stream_id)
            return
        _redis().delete(stop_key(stream_id), control_key(stream_id))
        run_show_task.delay(stream_id)

    transaction.on_commit(enqueue, robust=True)


def broadcast_stop(*, stream: Stream, by: Any) -> None:
    """Ask the running show to stop; it finishes and uploads the recording within seconds."""
    ensure_owner(stream.owner_id, by)
    stream_id = stream.pk

    def signal() -> None:
        r = _redis()
        r.set(stop_key(stream_id), "1", ex=STOP_TTL_SECONDS)
        r.rpush(control_key(stream_id), json.dumps({"op": "stop"}))
        r.expire(control_key(stream_id), STOP_TTL_SECONDS)
        if not r.exists(lock_key(stream_id)):
            _close_room(stream)  # no show is running to close it once its recording is flushed

    transaction.on_commit(signal, robust=True)


def _open_room(stream: Stream) -> None:
    """The room must exist before the compositor joins (LiveKit does not auto-create rooms here).

    The studio usually opened it already (idempotent). A failure is logged, not raised: going live
    must not hang on LiveKit, and the compositor opens the room again itself and keeps retrying."""
    from apps.rtc.services import rtc_open_room

    try:
        rtc_open_room(stream=stream, by=None)
    except Exception:  # noqa: BLE001 - LiveKit down or slow: logged; the show's slate covers the gap
        log.warning("Could not open the LiveKit room of stream %s.", stream.pk, exc_info=True)


def _close_room(stream: Stream) -> None:
    """Close the show's room: guests and the compositor are disconnected. Never blocks the end of a show."""
    from apps.rtc.services import rtc_close_room

    try:
        rtc_close_room(stream=stream, by=None)
    except Exception:  # noqa: BLE001 - the show has ended whatever LiveKit says; the room empties out anyway
        log.warning("Could not close the LiveKit room of stream %s.", stream.pk, exc_info=True)


def destination_add_live(*, destination: StreamDestination, by: Any) -> None:
    stream = destination.stream
    ensure_owner(stream.owner_id, by)
    if not stream.is_live:
        raise ValidationError({"status": "The stream is not live; the destination starts when it goes live."})
    if not destination.enabled:
        raise ValidationError({"enabled": "Enable the destination first."})
    if destination.account_id is not None:
        # A connected channel: create its platform side and fetch ingest + key before the pusher starts.
        prepared = platform_services.prepare_platform_destination(destination=destination)
        if not prepared.ok:
            raise ValidationError({"destination": prepared.message})
        destination.refresh_from_db()
    _check_destination_host(destination)
    _send_control(stream.pk, {"op": "add", "id": destination.pk})


def destination_remove_live(*, destination: StreamDestination, by: Any) -> None:
    stream = destination.stream
    ensure_owner(stream.owner_id, by)
    if not stream.is_live:
        raise ValidationError({"status": "The stream is not live."})
    _send_control(stream.pk, {"op": "remove", "id": destination.pk})


def broadcast_resume_orphans(*, grace_seconds: float = 60.0) -> list[int]:
    """Live shows that no worker holds (their worker died whole, its message unacked): enqueue them again.

    Streams that went live less than `grace_seconds` ago are left alone: their task may still be queued.
    A duplicate is harmless anyway: run_show's lock lets only one run happen.
    """
    from apps.streams.tasks import run_show_task

    r = _redis()
    resumed = []
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    for stream_id in Stream.objects.filter(status=Stream.Status.LIVE, started_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        if r.exists(lock_key(stream_id)) or r.get(stop_key(stream_id)):
            continue
        # One enqueue per orphan per minute, however many beat ticks or web nodes ask.
        if r.set(f"show:{stream_id}:resume", "1", nx=True, ex=60):
            run_show_task.delay(stream_id)
            resumed.append(stream_id)
    if resumed:
        log.warning("Resuming orphaned shows: %s", resumed)
    return resumed


def _send_control(stream_id: int, command: dict[str, Any]) -> None:
    def push() -> None:
        r = _redis()
        r.rpush(control_key(stream_id), json.dumps(command))
        r.expire(control_key(stream_id), STOP_TTL_SECONDS)

    transaction.on_commit(push, robust=True)


# --- the media worker's side ------------------------------------------------------------


class ShowLock:
    """A Redis lock with a token, refreshed by its holder; a holder that dies loses it after LOCK_TTL_MS."""

    def __init__(self, r: redis.Redis, stream_id: int) -> None:
        self.r = r
        self.key = lock_key(stream_id)
        self.token = uuid.uuid4().hex

    def acquire(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while True:
            if self.r.set(self.key, self.token, nx=True, px=LOCK_TTL_MS):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)

    def refresh(self) -> bool:
        return bool(self.r.eval(_REFRESH, 1, self.key, self.token, str(LOCK_TTL_MS)))

    def release(self) -> None:
        self.r.eval(_RELEASE, 1, self.key, self.token)


def test_scene_source(stream: Stream, config: ShowConfig) -> ProgramSource:
    """The generated test scene with the stream's title (BROADCAST_SOURCE=test_scene): no LiveKit needed."""
    return TestSceneSource(width=config.width, height=config.height, fps=config.fps, title=stream.title)


def program_source_factory() -> SourceFactory:
    """A fresh source factory for one run of a show, as ``settings.BROADCAST_SOURCE`` says.

    The compositor factory is stateful: its first call joins the room, the second (the vertical canvas)
    reuses the same connection, so it must not be shared between runs."""
    if settings.BROADCAST_SOURCE == "test_scene":
        return test_scene_source
    from workers.compositor.show import CompositorSourceFactory  # livekit SDK: only in the media process

    return CompositorSourceFactory()


def slate_image(stream: Stream) -> str | None:
    """The brand kit's logo as a local file for the slate (storage may be S3), or None for the plain card."""
    if stream.brand_kit_id is None:
        return None
    from apps.branding.models import BrandAsset

    asset = BrandAsset.objects.filter(kit_id=stream.brand_kit_id, kind=BrandAsset.Kind.LOGO).first()
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


def _host_check(host: str, port: int) -> list[str]:
    return netguard.check_host(host, port)


class HealthPublisher:
    """Health samples → the stream's Channels group every second, and a summary on each destination row."""

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        self.layer = get_channel_layer()
        self._last_db: dict[int, tuple[float, str, str]] = {}

    def __call__(self, samples: list[dict[str, Any]]) -> None:
        group = f"stream-{self.stream_id}"
        for sample in samples:
            did = sample["destination_id"]
            message = {"type": "destination.health", "destination": {"id": did, **sample}}
            if self.layer is not None:
                async_to_sync(self.layer.group_send)(group, message)
            self._summarize(did, sample)

    def _summarize(self, did: int, sample: dict[str, Any]) -> None:
        now = time.monotonic()
        status = {"live": StreamDestination.Status.CONNECTED, "error": StreamDestination.Status.ERROR}.get(
            sample["state"], StreamDestination.Status.DISCONNECTED
        )
        last = self._last_db.get(did)
        if last and now - last[0] < DB_SUMMARY_SECONDS and last[1] == status and last[2] == sample["last_error"]:
            return
        self._last_db[did] = (now, status, sample["last_error"])
        StreamDestination.objects.filter(pk=did).update(status=status, last_error=sample["last_error"], health=sample)

    def thread_exit(self) -> None:
        """Called on the health thread as it ends: its database connection is its own."""
        connection.close()


def run_show(
    *,
    stream_id: int,
    source_factory: SourceFactory | None = None,
    lock_wait: float | None = None,
    on_started: Callable[[BroadcastSession], None] | None = None,
) -> str:
    """Run one live show to its end. Returns why it returned: stopped, ended, busy, not-live, refused."""
    r = _redis()
    lock = ShowLock(r, stream_id)
    if not lock.acquire(LOCK_TTL_MS / 1000 + 2 if lock_wait is None else lock_wait):
        log.info("Show %s is already running on another worker.", stream_id)
        return "busy"
    secrets: list[str] = []
    try:
        stream = Stream.objects.select_related("owner", "brand_kit").filter(pk=stream_id).first()
        if stream is None or not stream.is_live or r.get(stop_key(stream_id)):
            return "not-live"
        try:
            encoder = broadcast_check(stream=stream)
        except ValidationError as exc:
            reason = "; ".join(exc.messages)
            StreamDestination.objects.filter(stream=stream, enabled=True).update(
                status=StreamDestination.Status.ERROR, last_error=reason
            )
            log.warning("Show %s refused: %s", stream_id, reason)
            return "refused"
        r.incr(runs_key(stream_id))
        r.expire(runs_key(stream_id), STOP_TTL_SECONDS)
        recover_partial_recordings(stream)
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
        )
        # Connected channels (YouTube/Twitch/Facebook): create the platform side and fetch ingest + key;
        # a platform that fails is marked on its destination and skipped, the others go live.
        skip = platform_services.broadcast_prepare(stream=stream)
        destinations = list(stream.destinations.filter(enabled=True).exclude(pk__in=skip))
        health = HealthPublisher(stream_id)
        # One encode per canvas: the landscape program (recorded) always; the vertical 9:16 program only
        # when the stream asks for it, for the destinations that chose it.
        configs = {Canvas.LANDSCAPE: config}
        if stream.vertical_canvas:
            configs[Canvas.VERTICAL] = dataclasses.replace(config, width=height, height=width, recording_path=None)
        sessions: dict[str, BroadcastSession] = {}
        make_source = source_factory or program_source_factory()
        for canvas, canvas_config in configs.items():
            source = make_source(stream, canvas_config)
            sessions[canvas] = BroadcastSession(canvas_config, source, host_check=_host_check, on_health=health)
        session = sessions[Canvas.LANDSCAPE]
        for canvas_session in sessions.values():
            # A vertical destination on a stream without the vertical program gets the landscape one.
            specs = [destination_spec(d) for d in destinations if (sessions.get(d.canvas) or session) is canvas_session]
            secrets += [s.key for s in specs]
            canvas_session.start(specs)
        watcher = platform_services.PlatformGoLiveWatcher(stream_id).start()  # YouTube: live once video is seen
        log.info("Show %s is on air with %d destination(s).", stream_id, len(destinations))
        if on_started:
            on_started(session)
        outcome = "error"
        try:
            outcome = _control_loop(r, lock, stream, sessions, secrets)
        finally:
            for other in sessions.values():
                if other is not session:
                    other.stop()
            path = session.stop()
            if outcome in {"stopped", "ended"} and settings.BROADCAST_SOURCE == "compositor":
                # Only now: closing the room earlier would put name cards in the last frames of the show.
                _close_room(stream)
            watcher.stop()
            if path is not None and path.exists() and path.stat().st_size > 0:
                save_recording(stream=stream, path=path)
            StreamDestination.objects.filter(stream=stream).update(status=StreamDestination.Status.DISCONNECTED)
            platform_services.broadcast_finish(stream=stream)  # YouTube complete, Facebook end_live_video
            shutil.rmtree(spool_dir(stream_id) / "slate", ignore_errors=True)
        return outcome
    finally:
        for key in secrets:
            unregister_secret(key)
        lock.release()
        close_old_connections()


def _control_loop(
    r: redis.Redis, lock: ShowLock, stream: Stream, sessions: dict[str, BroadcastSession], secrets: list[str]
) -> str:
    stream_id = stream.pk
    next_status_check = time.monotonic() + STATUS_CHECK_SECONDS
    while True:
        if not lock.refresh():
            # Someone else holds the show now (we were paused past the TTL): never push twice.
            log.error("Show %s lost its lock; stopping this run.", stream_id)
            return "lost-lock"
        item = cast("list[bytes] | None", r.blpop([control_key(stream_id)], timeout=CONTROL_POLL_SECONDS))
        if item is not None:
            command = json.loads(item[1])
            op = command.get("op")
            if op == "stop":
                return "stopped"
            if op == "add":
                destination = StreamDestination.objects.filter(pk=command.get("id"), stream_id=stream_id).first()
                if destination is not None and destination.enabled:
                    spec = destination_spec(destination)
                    secrets.append(spec.key)
                    sessions.get(destination.canvas, sessions[Canvas.LANDSCAPE]).add_destination(spec)
            elif op == "remove":
                destination_id = int(command.get("id", 0))
                if any(s.remove_destination(destination_id) for s in sessions.values()):
                    StreamDestination.objects.filter(pk=command.get("id")).update(
                        status=StreamDestination.Status.DISCONNECTED
                    )
        if r.get(stop_key(stream_id)):
            return "stopped"
        if time.monotonic() >= next_status_check:
            next_status_check = time.monotonic() + STATUS_CHECK_SECONDS
            if not Stream.objects.filter(pk=stream_id, status=Stream.Status.LIVE).exists():
                return "ended"
        if not all(s.running for s in sessions.values()):
            return "crashed"


# --- recordings ----------------------------------------------------------------------


def probe(path: Path) -> dict[str, Any]:
    """ffprobe the finished file (local files only: protocol whitelist)."""
    out = subprocess.run(
        [
            settings.FFPROBE_BIN,
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def save_recording(*, stream: Stream, path: Path, title: str = "") -> Recording:
    """Upload a finished (or crash-truncated) program recording and create its row from ffprobe's view of it."""
    info = probe(path)
    fmt = info.get("format", {})
    video: dict[str, Any] = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), {})
    duration = float(fmt.get("duration") or 0.0)
    size = path.stat().st_size
    bitrate = int(fmt.get("bit_rate") or (size * 8 / duration if duration else 0))
    recording = Recording(
        stream=stream,
        kind=Recording.Kind.PROGRAM,
        title=title or stream.title,
        size_bytes=size,
        duration_seconds=duration,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        format=Recording.Format.WEBM if path.suffix == ".webm" else Recording.Format.MP4,
        bitrate_kbps=bitrate // 1000,
    )
    # default_storage: local files, or S3 where boto3 uploads large files in parts.
    with path.open("rb") as fh:
        recording.file.save(f"{stream.pk}-{path.stem}{path.suffix}", File(fh), save=False)
    recording.save()
    path.unlink(missing_ok=True)
    log.info("Recording %s saved (%.1f s, %d bytes).", recording.pk, duration, size)
    return recording


def recover_partial_recordings(stream: Stream) -> list[Recording]:
    """Files a killed run left behind are fragmented, so they play: store them as recordings too."""
    saved = []
    directory = spool_dir(stream.pk)
    candidates = [*directory.glob("*.mp4"), *directory.glob("*.webm")] if directory.exists() else []
    for path in sorted(candidates):
        if path.stat().st_size == 0:
            path.unlink()
            continue
        try:
            saved.append(save_recording(stream=stream, path=path, title=f"{stream.title} (interrupted)"))
        except (subprocess.CalledProcessError, ValueError):
            log.warning("Could not recover partial recording %s", path.name)
    return saved


__all__ = [
    "broadcast_check",
    "broadcast_start",
    "broadcast_stop",
    "destination_add_live",
    "destination_remove_live",
    "run_show",
]
