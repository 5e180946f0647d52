"""Prometheus metrics: what every StreamUs process exposes, and how it is scraped.

Exposition, one registry per process (prometheus-client's default registry):

* web (Daphne): ``GET /metrics`` on the web port (``apps.core.views.metrics``). Answered to a
  loopback client outside production (``make run``), and to ``Authorization: Bearer $METRICS_TOKEN``
  when a token is set (the compose stack's Prometheus); anything else gets a 404.
* Celery pool processes (queues ``default`` and ``media``): each pool child serves its own registry on
  ``METRICS_PORT + its pool index``, bound to ``METRICS_BIND`` (loopback unless a deployment opens it
  on its private network). Billiard keeps a child's index when it replaces the child, so the ports are
  a fixed list (``-c 2`` → two targets).
* beat (one per deployment): serves ``METRICS_PORT`` with the cluster-wide figures read at scrape time
  (``streamus.observability.ClusterCollector``): queue depth, beat's heartbeat, live shows, people in
  studios, guests on stage, storage used, disk.
* LiveKit: its own endpoint (``prometheus.port`` in docker/livekit.yaml).

Why a port per pool process and not the client's multiprocess mode: a live show runs in one media pool
process for its whole life and its series are labelled by stream id. In multiprocess mode the values
live in per-process mmap files that the parent sums; a show's series cannot be removed when the show
ends (``remove()`` does not reach the files), and the counters and histograms of a dead process stay in
the sum for good, so every show ever run would stay on the endpoint. With a registry per process the
series of a show disappear when it ends, histograms and counters are the client's ordinary ones, and a
scrape costs the process a few hundred microseconds on a thread of its own.

Label values are ids and fixed words only, never names, URLs or keys.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# --- web ---------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "streamus_http_requests",
    "HTTP requests answered, by view (URL name), method and status.",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "streamus_http_request_duration_seconds",
    "Time from the request entering the middleware chain to its response, by view and method.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKETS_OPEN = Gauge(
    "streamus_websockets_open",
    "Websockets open on this web process, by kind (studio, comments).",
    ["kind"],
)
CHANNEL_SEND_FAILURES = Counter(
    "streamus_channel_layer_send_failures",
    "Realtime events that could not be handed to the channel layer (Redis down or too slow), by event.",
    ["event"],
)

# --- work --------------------------------------------------------------------------------------
TASKS = Counter(
    "streamus_celery_tasks",
    "Celery tasks finished by this pool process, by queue, task and outcome (succeeded, failed, retried).",
    ["queue", "task", "outcome"],
)
TASK_DURATION = Histogram(
    "streamus_celery_task_duration_seconds",
    "Run time of Celery tasks, by queue and task (a live show is one media.run_show).",
    ["queue", "task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200, 86400),
)

# Beat's heartbeat: a task beat schedules and a default worker runs writes the time here, so the
# figure proves beat, the broker and a worker are all moving.
HEARTBEAT_KEY = "streamus:heartbeat:beat"
# Celery's queues in the Redis broker (lists named after the queue) and the hash of messages a
# worker holds without having acknowledged them (acks_late: the running shows).
QUEUES = ("default", "media")
UNACKED_KEY = "unacked"


def view_label(request: Any) -> str:
    """The URL name of the view that answered (the route, never the path: ids stay out of labels)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unresolved>"
    return str(match.view_name or getattr(match, "route", "") or "<unnamed>")


# --- per-process exporters (Celery pool children, beat) -----------------------------------------
_server_lock = threading.Lock()
_serving: int | None = None
BIND_RETRY_SECONDS = 30.0  # a replaced pool process's predecessor may hold its port this long at most


def serve(port: int, *, bind: str, retry_seconds: float = BIND_RETRY_SECONDS) -> None:
    """Serve this process's registry on `bind:port` from a thread; once per process.

    A pool process that replaces one that died may find the port still held for a moment: it keeps
    trying (in the background) for `retry_seconds` rather than go unscraped for its whole life."""
    global _serving
    with _server_lock:
        if _serving is not None:
            return
        _serving = port

    def listen() -> None:
        deadline = time.monotonic() + retry_seconds
        while True:
            try:
                start_http_server(port, addr=bind)
            except OSError as exc:
                if time.monotonic() >= deadline:
                    log.warning("metrics: cannot listen on %s:%s (%s); this process is not scraped", bind, port, exc)
                    return
                time.sleep(1.0)
                continue
            log.info("metrics on http://%s:%s/metrics", bind, port)
            return

    threading.Thread(target=listen, name="metrics-listen", daemon=True).start()


def pool_index() -> int:
    """This Celery pool child's index (0 .. concurrency-1), stable when billiard replaces the child."""
    from billiard.process import current_process

    index = getattr(current_process(), "index", None)
    return int(index) if index is not None else 0


# --- cluster-wide figures (beat's endpoint) ------------------------------------------------------


def disk_usage(path: Path) -> tuple[int, int] | None:
    """(used, size) in bytes of the filesystem that holds (or will hold) `path`; None if none can be read."""
    for candidate in (path, *path.parents):
        try:
            usage = shutil.disk_usage(candidate)
        except OSError:
            continue
        return usage.total - usage.free, usage.total
    return None


class DiskCollector(Collector):
    """Used and total bytes of the filesystems StreamUs writes recordings and uploads to."""

    def __init__(self, volumes: dict[str, Path]) -> None:
        self.volumes = volumes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        used = GaugeMetricFamily(
            "streamus_disk_used_bytes", "Bytes used on the filesystem, by volume.", labels=["volume"]
        )
        size = GaugeMetricFamily("streamus_disk_size_bytes", "Size of the filesystem, by volume.", labels=["volume"])
        for name, path in self.volumes.items():
            found = disk_usage(path)
            if found is not None:
                used.add_metric([name], found[0])
                size.add_metric([name], found[1])
        yield used
        yield size
