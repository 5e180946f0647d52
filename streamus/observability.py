"""What Celery processes add to be seen from outside: ids in task headers, JSON logs, metrics.

Connected from streamus/celery.py, so every worker, pool process and beat has it:

* ``before_task_publish``: the id of the request (or task) that queues a task travels in its headers
  (``request_id``), so the go-live request's id reaches the media process that runs the show;
* ``task_prerun`` / ``task_postrun``: the pool process binds that id (and, for a show, the runner binds
  the stream id) for the task's duration, on every log line and Sentry event; task outcomes and run
  times are counted per queue;
* ``setup_logging``: workers and beat log through settings.LOGGING (JSON lines, secrets redacted),
  not through handlers of Celery's own;
* ``worker_process_init``: each pool process serves its metrics on METRICS_PORT + its pool index;
* ``beat_init``: beat serves METRICS_PORT with the deployment-wide figures (``ClusterCollector``).

apps/core/metrics.py says why a port per process rather than the client's multiprocess mode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from celery.signals import (
    beat_init,
    before_task_publish,
    celeryd_after_setup,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_process_init,
)
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
# Python's warnings become log records (JSON lines), from the start: Celery warns about running as root
# before it sets up logging.
logging.captureWarnings(True)

_started: dict[str, float] = {}  # task id → monotonic start, in this pool process
_consumes: set[str] = set()  # the queues of this worker (set in the parent, inherited by its pool)


@setup_logging.connect
def _django_logging(**kwargs: Any) -> None:
    """Workers and beat log through settings.LOGGING (JSON lines, secrets redacted on every handler).

    Without a receiver here Celery replaces the root handlers with its own, and nothing it prints would be
    redacted. The level is LOG_LEVEL, as for the web process; celery's own -l option is not used.
    """
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    from apps.core.logging import current_ids

    if headers is None:
        return
    request_id = current_ids()["request_id"]
    if request_id != "-" and not headers.get("request_id"):
        headers["request_id"] = request_id


def _queue(task: Any) -> str:
    info = getattr(task.request, "delivery_info", None) or {}
    return str(info.get("routing_key") or info.get("queue") or "default")


@task_prerun.connect
def _task_started(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    from apps.core.logging import bind_ids, unbind_process_ids

    unbind_process_ids()
    request_id = getattr(task.request, "request_id", None) if task is not None else None
    # A task queued by beat or by hand has no request: its own id stands in.
    bind_ids(request_id=str(request_id or task_id), process=True)
    _started[task_id] = time.monotonic()


@task_postrun.connect
def _task_finished(task_id: str = "", task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    from apps.core import metrics
    from apps.core.logging import unbind_process_ids

    started = _started.pop(task_id, None)
    if task is not None:
        queue, name = _queue(task), str(task.name)
        if state == "SUCCESS":
            metrics.TASKS.labels(queue, name, "succeeded").inc()
        if started is not None:
            metrics.TASK_DURATION.labels(queue, name).observe(time.monotonic() - started)
    unbind_process_ids()


@task_failure.connect
def _task_failed(sender: Any = None, **kwargs: Any) -> None:
    from apps.core import metrics

    if sender is not None:
        metrics.TASKS.labels(_queue(sender), str(sender.name), "failed").inc()


@task_retry.connect
def _task_retried(sender: Any = None, **kwargs: Any) -> None:
    from apps.core import metrics

    if sender is not None:
        metrics.TASKS.labels(_queue(sender), str(sender.name), "retried").inc()


@celeryd_after_setup.connect
def _remember_queues(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    if instance is not None:
        _consumes.update(instance.app.amqp.queues.consume_from or ())


@worker_process_init.connect
def _serve_pool_metrics(**kwargs: Any) -> None:
    from django.conf import settings

    from apps.core import metrics

    if "media" in _consumes:
        # Where live shows spool their recordings: the disk the RecordingDiskFull alert watches.
        REGISTRY.register(metrics.DiskCollector({"spool": Path(settings.BROADCAST_SPOOL_DIR)}))
    if settings.METRICS_PORT:
        metrics.serve(settings.METRICS_PORT + metrics.pool_index(), bind=settings.METRICS_BIND)
        from apps.core import redis as redis_client

        redis_client.reset()  # pools made by the parent before the fork are not this process's


@beat_init.connect
def _serve_cluster_metrics(**kwargs: Any) -> None:
    from django.conf import settings

    from apps.core import metrics

    if not settings.METRICS_PORT:
        return
    volumes = {"media": Path(settings.MEDIA_ROOT)} if settings.STORAGE == "local" else {}
    REGISTRY.register(metrics.DiskCollector(volumes))
    REGISTRY.register(ClusterCollector())
    metrics.serve(settings.METRICS_PORT, bind=settings.METRICS_BIND)


class ClusterCollector(Collector):
    """Figures of the whole deployment, read from Redis and the database at each scrape (beat only).

    A source that cannot be read leaves its families empty and says so (streamus_redis_up,
    streamus_database_up) rather than failing the scrape: Prometheus still gets the rest.
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._redis()
        yield from self._database()

    def _redis(self) -> Iterable[GaugeMetricFamily]:
        from apps.core import metrics
        from apps.core import redis as redis_client
        from apps.studio import presence

        depth = GaugeMetricFamily(
            "streamus_celery_queue_length", "Tasks waiting in the broker, by queue.", labels=["queue"]
        )
        unacked = GaugeMetricFamily(
            "streamus_celery_tasks_unacked", "Tasks a worker has taken and not acknowledged yet (running shows)."
        )
        heartbeat = GaugeMetricFamily(
            "streamus_beat_heartbeat_timestamp_seconds",
            "When a default worker last ran beat's heartbeat task (Unix time).",
        )
        people = GaugeMetricFamily("streamus_studio_people", "People with a studio open (host, guests, moderators).")
        redis_up = GaugeMetricFamily("streamus_redis_up", "Whether beat could read Redis at this scrape.")
        try:
            client = redis_client.client()
            pipe = client.pipeline(transaction=False)
            for queue in metrics.QUEUES:
                pipe.llen(queue)
            pipe.hlen(metrics.UNACKED_KEY)
            pipe.get(metrics.HEARTBEAT_KEY)
            found = pipe.execute()
            for queue, length in zip(metrics.QUEUES, found, strict=False):
                depth.add_metric([queue], int(length))
            unacked.add_metric([], int(found[len(metrics.QUEUES)]))
            if found[-1] is not None:
                heartbeat.add_metric([], float(found[-1]))
            people.add_metric([], presence.people_online())
            redis_up.add_metric([], 1)
        except redis_client.RedisUnavailable as exc:
            log.warning("metrics: Redis unreadable: %s", type(exc).__name__)
            redis_up.add_metric([], 0)
        yield from (depth, unacked, heartbeat, people, redis_up)

    def _database(self) -> Iterable[GaugeMetricFamily]:
        from django.db import DatabaseError, connection

        live = GaugeMetricFamily("streamus_live_streams", "Shows on air now.")
        on_stage = GaugeMetricFamily("streamus_guests_on_stage", "Guests on stage in shows on air now.")
        storage = GaugeMetricFamily(
            "streamus_storage_used_bytes", "Bytes stored for users, by kind (what the quotas count).", labels=["kind"]
        )
        database_up = GaugeMetricFamily("streamus_database_up", "Whether beat could read the database at this scrape.")
        try:
            live_count, stage_count, sums = database_figures()
            live.add_metric([], live_count)
            on_stage.add_metric([], stage_count)
            for kind, total in sums.items():
                storage.add_metric([kind], total)
            database_up.add_metric([], 1)
        except DatabaseError as exc:
            log.warning("metrics: database unreadable: %s", type(exc).__name__)
            database_up.add_metric([], 0)
        finally:
            # The exporter answers each scrape on a fresh thread: its connection must not outlive it.
            connection.close()
        yield from (live, on_stage, storage, database_up)


def database_figures() -> tuple[int, int, dict[str, float]]:
    """(shows on air, guests on stage in them, bytes stored by kind)."""
    from django.db.models import Sum

    from apps.branding.models import BrandAsset
    from apps.library.models import MediaClip, UploadSession
    from apps.recordings.models import Recording
    from apps.streams.models import Guest, Stream

    live = Stream.objects.filter(status=Stream.Status.LIVE).count()
    on_stage = Guest.objects.filter(on_stage=True, stream__status=Stream.Status.LIVE).count()
    sums = {
        "recordings": Recording.objects.aggregate(total=Sum("size_bytes"))["total"],
        "clips": MediaClip.objects.aggregate(total=Sum("size_bytes"))["total"],
        "brand_assets": BrandAsset.objects.aggregate(total=Sum("size_bytes"))["total"],
        "uploads_in_flight": UploadSession.objects.active().aggregate(total=Sum("received_bytes"))["total"],
    }
    return live, on_stage, {kind: float(total or 0) for kind, total in sums.items()}
