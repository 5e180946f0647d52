"""Going live and ending a show, whoever asks: the studio, the REST API, the mobile app, the admin.

``show_go_live``: the stream becomes live (the row lock makes two clicks go live once), the show is
checked against the plan and this deployment's encoders (refused before anything changes), and
once the transaction commits the LiveKit room is opened (the compositor joins it; rooms are never
auto-created) and the show is queued for a media worker (``media.run_show``). Every studio hears
``stream.status``.

``show_end``: the stream is ended; guests on stage step off; the running show notices at once
(it is woken) and finishes: the recording is stored and the room closed within seconds.

Destinations need no service here: the runner follows the enabled destinations in the database
(apps/shows/runner.py), and every destination write wakes it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core import events, realtime
from apps.core import redis as redis_client
from apps.core.ownership import ensure_owner
from apps.rtc import services as rtc
from apps.streams.models import Guest, Stream
from apps.studio.payloads import stream_payload

from .checks import show_check
from .runner import lock_key

log = logging.getLogger(__name__)

# A show queued again after losing its worker is not queued again for this long (its new run is starting).
RESUME_ONCE_SECONDS = 15


def open_room(stream: Stream) -> None:
    """The room must exist before the compositor joins (LiveKit does not auto-create rooms here).

    The studio usually opened it already (idempotent). A failure is logged, not raised: going live
    must not hang on LiveKit, and the compositor opens the room again itself and keeps retrying."""
    try:
        rtc.rtc_open_room(stream=stream, by=None)
    except Exception as exc:  # noqa: BLE001 - LiveKit down or slow: logged; the show's slate covers the gap
        log.warning("Could not open the LiveKit room of stream %s: %s", stream.pk, type(exc).__name__)


def close_room(stream: Stream) -> None:
    """Close the show's room: guests and the compositor are disconnected. Never blocks the end of a show."""
    try:
        rtc.rtc_close_room(stream=stream, by=None)
    except Exception as exc:  # noqa: BLE001 - the show has ended whatever LiveKit says; the room empties out anyway
        log.warning("Could not close the LiveKit room of stream %s: %s", stream.pk, type(exc).__name__)


def _announce(stream: Stream) -> None:
    realtime.publish_on_commit(realtime.stream_group(stream.pk), events.STREAM_STATUS, stream=stream_payload(stream))


@transaction.atomic
def show_go_live(*, stream: Stream, by: User | None) -> Stream:
    """scheduled → live, and the show starts on a media worker. Refuses what cannot be carried."""
    ensure_owner(stream.owner_id, by)
    locked = Stream.objects.select_for_update(of=("self",)).select_related("owner").get(pk=stream.pk)
    locked.transition(Stream.Status.LIVE)
    show_check(stream=locked)  # refuses (rolls back) what this deployment cannot carry
    locked.save(update_fields=["status", "started_at", "updated_at"])
    stream_id = locked.pk

    def start() -> None:
        from .tasks import run_show_task

        if settings.BROADCAST_SOURCE == "compositor":
            open_room(locked)
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # Eager mode would run the whole show inside this request; shows need a media worker.
            log.warning("Show %s not started: Celery runs eagerly, there is no media worker.", stream_id)
            return
        run_show_task.delay(stream_id)

    transaction.on_commit(start, robust=True)
    _announce(locked)
    return locked


@transaction.atomic
def show_end(*, stream: Stream, by: User | None) -> Stream:
    """live → ended. Guests still on stage step off; their invites stay for the record."""
    ensure_owner(stream.owner_id, by)
    locked = Stream.objects.select_for_update(of=("self",)).select_related("owner").get(pk=stream.pk)
    locked.transition(Stream.Status.ENDED)
    locked.save(update_fields=["status", "ended_at", "updated_at"])
    Guest.objects.filter(stream=locked, on_stage=True).update(on_stage=False)
    realtime.wake_show_on_commit(locked.pk)

    def close_if_no_show() -> None:
        try:
            running = redis_client.client().exists(lock_key(locked.pk))
        except redis_client.RedisUnavailable:
            running = True  # the show (if any) closes it when it finishes
        if not running:
            close_room(locked)  # no show is running to close it once its recording is flushed

    transaction.on_commit(close_if_no_show, robust=True)
    # No scene publish: the program's last frames keep the line-up that was on air.
    _announce(locked)
    return locked


def show_queue(*, stream_id: int) -> None:
    """Queue a live show for a media worker (`media.run_show`): going live, a hand-over, a resume."""
    from .tasks import run_show_task

    run_show_task.delay(stream_id)


def shows_resume_orphans(*, grace_seconds: float = 60.0) -> list[int]:
    """Live shows that no worker holds: queue each again, once. Returns the streams queued.

    A show that ran before (its run counter is in Redis) lost its worker: it is queued at once (every media
    worker asks once a second, apps/shows/worker.py). One that never ran is left alone for `grace_seconds`
    after going live: its first task may still be waiting for a free worker. A duplicate is harmless anyway:
    run_show's lease lets one run happen.
    """
    from .runner import runs_key

    client = redis_client.client()
    resumed = []
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    for stream_id, started_at in Stream.objects.filter(status=Stream.Status.LIVE).values_list("pk", "started_at"):
        if client.exists(lock_key(stream_id)):
            continue
        if not client.exists(runs_key(stream_id)) and (started_at is None or started_at >= cutoff):
            continue
        # One enqueue per orphan per RESUME_ONCE_SECONDS, however many workers, beat ticks or web nodes ask.
        if client.set(f"show:{stream_id}:resume", "1", nx=True, ex=RESUME_ONCE_SECONDS):
            show_queue(stream_id=stream_id)
            resumed.append(stream_id)
    if resumed:
        log.warning("Resuming orphaned shows: %s", resumed)
    return resumed
