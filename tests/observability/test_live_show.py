"""A live show watched from the outside, as an operator would: a real Prometheus with the project's scrape
config and alert rules scraping every StreamUs process, and the host's studio socket.

The processes are the product's: Daphne serving streamus.asgi:application, Celery workers for the
`default` and `media` queues and beat as the Procfile starts them (each serving its metrics), the test
session's LiveKit with its Prometheus endpoint, nginx-rtmp as the destination. A synthetic guest on
stage publishes a textured camera and a tone; the show goes live through the API with a known request id.

1. The series an operator needs exist with sane values: real-time factor ≈ 1, the destination live at
   about its configured bitrate, the recording growing, the guest's track received, the figures of the
   web process, the workers, beat and LiveKit. Every panel of both Grafana dashboards evaluates to a
   series (their data is kept for docs/dashboards/render.py).
2. The host's socket gets program.health once a second, not falling behind. The media process is then
   starved of CPU (a cgroup quota; the rest of the time its cgroup has 10x the default CPU weight, as the
   media pods of a deployment have their CPU): the host is warned, Prometheus sees the show falling
   behind and the alert pending; given its CPU back, the warning goes.
3. The destination's RTMP server is killed: the first scrape after the engine's next health sample shows
   the destination down.
4. The go-live request's id is on every log line of the show in the media process, with the stream id;
   the workers log JSON; an error of the show reaches Sentry with both ids as tags; when the show stops,
   its series leave the media process's endpoint.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from django.conf import settings
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from apps.rtc import services as rtc
from apps.shows import runner
from apps.studio import scene
from tests.factories import DestinationFactory, GuestFactory, StreamFactory
from tests.observability import dashboards
from tests.observability.stack import Prometheus, celery, wait_metrics
from tests.support.live_server import free_port, server_env, wait_until
from tests.support.media import CpuGroup
from tests.support.rtmp import rtmp_servers  # noqa: F401 - fixture
from tests.support.sentry import sentry_ingest  # noqa: F401 - fixture

pytestmark = [pytest.mark.livekit, pytest.mark.media, pytest.mark.django_db(transaction=True)]

FPS = 24
VIDEO_KBPS, AUDIO_KBPS = 500, 64
# The media worker's own lines (its calibration, its supervisor: apps/shows/worker.py), of no show.
MEDIA_WORKER_LOGGERS = ("apps.shows.worker", "apps.shows.capacity")
MEDIA_CPU_WEIGHT = 10  # times the default CPU weight (tests/faults/test_starvation.py's figure)
# Where the panels' data is kept for docs/dashboards/render.py (the README's dashboard pictures).
SNAPSHOT = Path(settings.BASE_DIR) / "var" / "test" / "observability" / "dashboards.json"


class HostSocket:
    """The host's studio websocket (bearer auth, as the mobile app does), its events kept in order."""

    def __init__(self, url: str, origin: str, access: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(url, origin=origin, open_timeout=30)  # type: ignore[arg-type]
        self.ws.send(json.dumps({"type": "auth", "access": access}))
        self.events: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, name="host-socket", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):
            for raw in self.ws:
                event = json.loads(raw)
                with self.cond:
                    self.events.append(event)
                    self.cond.notify_all()

    def wait(self, predicate: Any, timeout: float, what: str, after: int = 0) -> dict[str, Any]:
        """The first event from index `after` on (see `mark`) that matches."""
        deadline, seen = time.monotonic() + timeout, after
        with self.cond:
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = sorted({e.get("type", "?") for e in self.events})
                    raise AssertionError(f"the host's socket never got {what} in {timeout:.0f}s (got {kinds})")
                self.cond.wait(left)

    def mark(self) -> int:
        with self.cond:
            return len(self.events)

    def since(self, mark: int, kind: str) -> list[dict[str, Any]]:
        with self.cond:
            return [e for e in self.events[mark:] if e.get("type") == kind]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        self.thread.join(5)


def program_health(falling_behind: bool) -> Any:
    return lambda e: e.get("type") == "program.health" and e["program"]["falling_behind"] is falling_behind


@pytest.fixture
def clean_queues():
    r = redis.Redis.from_url(settings.REDIS_URL)
    # Ids repeat across runs (fresh test database, same Redis): no queued task or show key from earlier.
    r.delete("default", "media", "unacked", *r.scan_iter("show:*"), *r.scan_iter(scene.redis_key(0).replace("0", "*")))
    yield r
    r.delete("default", "media")
    r.close()


def test_a_live_show_seen_from_prometheus_and_the_studio(
    clean_queues,
    livekit,
    user,
    web_factory,
    rtmp_servers,  # noqa: F811 - the fixture imported above
    synthetic_participants,
    sentry_ingest,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    r = clean_queues
    (ingest,) = rtmp_servers(1)
    token = secrets.token_urlsafe(32)
    token_file = tmp_path / "metrics-token"
    token_file.write_text(token)
    sentry = sentry_ingest
    spool = tmp_path / "spool"

    # --- the product's processes ---------------------------------------------------------------
    web = web_factory(extra_env={"METRICS_TOKEN": token, "LOG_LEVEL": "INFO"})
    base = server_env(redis_url=settings.REDIS_URL)
    base.update(
        {
            "BROADCAST_SOURCE": "compositor",
            "BROADCAST_X264_PRESET": "ultrafast",
            "BROADCAST_SPOOL_DIR": str(spool),
            "ALLOW_PRIVATE_DESTINATIONS": "1",
            "LOG_LEVEL": "INFO",
            "SENTRY_DSN": sentry.dsn,
        }
    )
    ports = {"worker": free_port(), "media": free_port(), "beat": free_port()}
    common = ["--without-gossip", "--without-mingle", "--without-heartbeat", "-P", "prefork", "-c", "1"]
    worker = celery(
        "worker",
        ["worker", "-Q", "default", "-n", f"default-obs-{ports['worker']}@%h", "--loglevel", "INFO", *common],
        {**base, "METRICS_PORT": str(ports["worker"])},
        tmp_path,
    )
    media = celery(
        "media",
        ["worker", "-Q", "media", "-n", f"media-obs-{ports['media']}@%h", "--loglevel", "INFO", *common],
        {**base, "METRICS_PORT": str(ports["media"])},
        tmp_path,
    )
    beat = celery(
        "beat",
        ["beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "celerybeat-schedule")],
        {**base, "METRICS_PORT": str(ports["beat"])},
        tmp_path,
    )
    processes = [worker, media, beat]
    prometheus = Prometheus.with_project_config(
        tmp_path / "prometheus",
        targets={
            "web": [f"127.0.0.1:{web.port}"],
            "worker": [f"127.0.0.1:{ports['worker']}"],
            "media": [f"127.0.0.1:{ports['media']}"],
            "beat": [f"127.0.0.1:{ports['beat']}"],
            "livekit": [f"127.0.0.1:{livekit.prometheus_port}"],
        },
        token_file=token_file,
    )
    host: HostSocket | None = None
    cpu: CpuGroup | None = None
    try:
        for name in ("worker", "media", "beat"):
            wait_metrics(ports[name], {"worker": worker, "media": media, "beat": beat}[name])
        # The media worker gets the CPU a deployment gives its media pods (as in tests/faults): this machine
        # is shared, and only the quota below, not the neighbours, is meant to starve the show.
        media_pid = media.proc.pid  # type: ignore[union-attr]
        cpu = CpuGroup(f"streamus-obs-{media_pid}")
        cpu.weight(MEDIA_CPU_WEIGHT)
        for process in [psutil.Process(media_pid), *psutil.Process(media_pid).children(recursive=True)]:
            cpu.add(process.pid)  # the pool process too; the show's FFmpeg, started later, inherits it
        prometheus.start()
        interval = prometheus.scrape_interval

        # --- a show: one guest on stage, one destination, recorded ----------------------------
        stream = StreamFactory(
            owner=user,
            resolution="480p",
            fps=FPS,
            video_bitrate_kbps=VIDEO_KBPS,
            audio_bitrate_kbps=AUDIO_KBPS,
            recording_enabled=True,
            recording_format="mp4",
            scene={"host_on_stage": False, "layout": "solo"},
        )
        destination = DestinationFactory(stream=stream, rtmp_url=ingest.url, stream_key="watched")
        guest = GuestFactory(stream=stream, display_name="Textured", on_stage=True)
        access = str(AccessToken.for_user(user))
        host = HostSocket(f"ws://127.0.0.1:{web.port}/ws/studio/{stream.pk}/", web.url, access)
        host.wait(lambda e: e.get("type") == "state.full", 30, "state.full")

        request_id = secrets.token_hex(16)
        request = urllib.request.Request(
            web.url + reverse("api-stream-go-live", kwargs={"pk": stream.pk}),
            method="POST",
            headers={"Authorization": f"Bearer {access}", "X-Request-ID": request_id},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert response.headers["X-Request-ID"] == request_id
        participant_token = rtc._token(
            identity=guest.identity,
            name=guest.display_name,
            grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(stream), can_publish=True),
        )
        synthetic_participants(livekit.url, participant_token, fps=15).connect().publish(
            colour=(200, 60, 40), tone_hz=440.0, texture=True
        )
        ingest.wait_for_publish("watched", timeout=90)
        on_air = time.time()

        # --- 1. the series, once a few windows of the show are in -----------------------------
        sid = f'stream_id="{stream.pk}"'
        wait_until(
            lambda: prometheus.value(f"min_over_time(streamus_compositor_tracks{{{sid}}}[15s])") == 1,
            60,
            "15 s of the guest's track in the program",
            interval=1,
        )
        wait_until(lambda: time.time() - on_air >= 25, 30, "25 s of show")
        figures: dict[str, float] = {}
        rtf = prometheus.value(f'avg_over_time(streamus_show_real_time_factor{{{sid},canvas="landscape"}}[15s])')
        assert rtf is not None and 0.97 <= rtf <= 1.03, rtf
        figures["real-time factor (15 s mean)"] = rtf
        kbps = prometheus.value(f"avg_over_time(streamus_destination_bitrate_kbps{{{sid}}}[15s])")
        configured = VIDEO_KBPS + AUDIO_KBPS
        assert prometheus.value(f"streamus_show_configured_bitrate_kbps{{{sid}}}") == configured
        assert kbps is not None and 0.75 * configured <= kbps <= 1.3 * configured, (kbps, configured)
        figures["destination kbit/s (15 s mean)"] = kbps
        live = prometheus.query(f'streamus_destination_state{{{sid},state="live"}} == 1')
        assert [s["metric"]["destination_id"] for s in live] == [str(destination.pk)]
        assert prometheus.value(f"sum(streamus_destination_state{{{sid}}})") == 1  # one state at a time
        assert prometheus.value(f"streamus_destination_fps{{{sid}}}") >= FPS * 0.8
        assert prometheus.value(f"increase(streamus_destination_sent_bytes_total{{{sid}}}[10s])") > 0
        assert prometheus.value(f"streamus_destination_reconnects_total{{{sid}}}") == 0
        assert prometheus.value(f"streamus_show_falling_behind{{{sid}}}") == 0
        assert prometheus.value(f'rate(streamus_show_frames_total{{{sid},outcome="encoded"}}[20s])') >= FPS * 0.9
        for histogram in ("render", "encode"):
            p95 = prometheus.value(
                f"histogram_quantile(0.95, sum by (le) (rate(streamus_show_frame_{histogram}_seconds_bucket{{{sid}}}[15s])))"
            )
            assert p95 is not None and 0 < p95 < 1 / FPS, (histogram, p95)
            figures[f"frame {histogram} p95 (ms)"] = p95 * 1000
        assert prometheus.value(f"delta(streamus_recording_bytes{{{sid}}}[10s])") > 0
        assert prometheus.value(f"streamus_recording_fragment_lag_seconds{{{sid}}}") < 2
        source = f'{sid},source="{guest.identity}"'
        assert prometheus.value(f"streamus_compositor_track_fps{{{source}}}") >= 10
        assert prometheus.value(f"streamus_compositor_track_frame_age_seconds{{{source}}}") < 1
        assert prometheus.value(f"streamus_compositor_track_height_pixels{{{source}}}") >= 180
        participant = f'{sid},participant="{guest.identity}"'
        assert prometheus.value(f'streamus_participant_packet_loss_ratio{{{participant},kind="video"}}') < 0.05
        assert prometheus.value(f'streamus_participant_jitter_seconds{{{participant},kind="audio"}}') is not None
        assert prometheus.value(f"streamus_compositor_rtt_seconds{{{sid}}}") is not None
        level = prometheus.value(f'streamus_program_audio_level_dbfs{{{sid},canvas="landscape"}}')
        assert level is not None and -30 < level < 0, level  # the guest's tone at 0.3 of full scale
        # The web process, the workers, beat and LiveKit.
        assert prometheus.value('sum(streamus_http_requests_total{view="api-stream-go-live",status="200"})') == 1
        assert prometheus.value('streamus_websockets_open{kind="studio"}') == 1
        assert prometheus.value('sum(streamus_celery_tasks_total{queue="default",outcome="succeeded"})') >= 1
        assert prometheus.value("time() - streamus_beat_heartbeat_timestamp_seconds") < 60
        assert prometheus.value("streamus_live_streams") == 1
        assert prometheus.value("streamus_guests_on_stage") == 1
        assert prometheus.value("streamus_studio_people") >= 1
        assert prometheus.value("streamus_redis_up") == prometheus.value("streamus_database_up") == 1
        assert prometheus.value('streamus_celery_queue_length{queue="media"}') == 0
        assert prometheus.value("streamus_celery_tasks_unacked") >= 1  # the running show (acks_late)
        assert prometheus.value('streamus_disk_size_bytes{volume="spool"}') > 0
        assert prometheus.value("sum(livekit_packet_total)") > 0
        assert prometheus.query("livekit_jitter_us_bucket"), "LiveKit's jitter histogram"
        down = prometheus.query("up == 0")
        assert not down, down
        scrape = {
            s["metric"]["job"]: float(s["value"][1]) * 1000
            for s in prometheus.query("max by (job) (scrape_duration_seconds)")
        }
        figures.update({f"scrape {job} (ms)": ms for job, ms in scrape.items()})

        # Every panel of both dashboards parses and returns a series during the show.
        figures["dashboard queries"] = dashboards.check(prometheus, stream_id=stream.pk)

        # --- 2. the studio is honest: starved, the host is warned; fed again, the warning goes --
        fine = host.wait(
            lambda e: program_health(False)(e) and e["program"]["real_time_factor"] >= 0.97,
            20,
            "program.health in real time",
            after=host.mark(),
        )
        contract = {"media_seconds", "wall_seconds", "real_time_factor", "fps", "frames_encoded", "frames_late"}
        contract |= {"frames_dropped", "frames_duplicated", "render_ms", "encode_ms", "step", "message"}
        assert contract <= set(fine["program"]), fine
        assert fine["program"]["message"] == ""
        healthy = host.wait(
            lambda e: e.get("type") == "destination.health" and e["destination"]["id"] == destination.pk,
            10,
            "destination.health",
            after=host.mark(),
        )
        assert healthy["destination"]["state"] == "live" and healthy["destination"]["falling_behind"] is False
        early = [round(e["program"]["real_time_factor"], 2) for e in host.since(0, "program.health")[:12]]
        print("\nreal-time factor in the first program.health events:", early)
        cpu.limit(0.1)  # a tenth of one CPU for the media worker, its show and its FFmpeg
        try:
            warned = host.wait(program_health(True), 60, "a falling-behind warning (CPU quota 10 %)", after=host.mark())
            assert warned["program"]["real_time_factor"] < 0.97
            assert warned["program"]["message"].startswith("Falling behind: the server cannot keep up")
            wait_until(
                lambda: prometheus.value(f"streamus_show_falling_behind{{{sid}}}") == 1,
                4 * interval,
                "Prometheus seeing the warning",
            )
            wait_until(
                lambda: prometheus.query(f'ALERTS{{alertname="ShowFallingBehind",{sid}}}'),
                4 * interval,
                "the ShowFallingBehind alert pending",
            )
        finally:
            cpu.limit(None)
        figures["real-time factor starved"] = warned["program"]["real_time_factor"]
        host.wait(program_health(False), 60, "the warning gone once the CPU is back", after=host.mark())

        # --- 3. the destination's server dies: the next scrape after a health sample sees it --
        killed = time.time()
        ingest.kill()
        seen_after = killed + 1.5  # the engine samples once a second; the pusher notices at once
        wait_until(lambda: prometheus.last_scrape("media") > seen_after, 3 * interval, "a scrape after the kill")
        state = prometheus.query(f"streamus_destination_state{{{sid}}} == 1", at=time.time())
        assert [s["metric"]["state"] for s in state] != ["live"], state
        assert state[0]["metric"]["state"] == "reconnecting", state  # the pusher retries for the whole show
        figures["kill → first scrape showing it (s)"] = prometheus.last_scrape("media") - killed

        # --- 4. the show's error reaches Sentry with the ids; its series leave with it ---------
        # Another worker holds the show now (as after a network split): this run stops, logging an error.
        r.set(runner.lock_key(stream.pk), "another-worker")
        event = sentry.wait_for(lambda e: "lost its lease" in json.dumps(e.get("logentry", e)), 30)
        assert event["tags"]["request_id"] == request_id
        assert event["tags"]["stream_id"] == str(stream.pk)
        wait_until(
            lambda: prometheus.last_scrape("media") > time.time() - interval / 2
            and not prometheus.query(f"streamus_show_live{{{sid}}}"),
            6 * interval,
            "the show's series gone from the media endpoint",
        )
        # The whole show as the dashboards draw it (README: docs/dashboards/render.py).
        data = dashboards.collect(prometheus, stream_id=stream.pk, start=on_air - 15, end=time.time(), step=interval)
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(json.dumps(data))
    finally:
        if host is not None:
            host.close()
        prometheus.stop()
        for process in processes:
            process.stop()
        if cpu is not None:
            cpu.remove()
        r.delete(runner.lock_key(stream.pk) if "stream" in locals() else "-")

    # The go-live request's id, with the stream id, on every line the show logged; every line is JSON.
    show_lines = 0
    for process in (media, worker, beat):
        for line in process.log_lines():
            try:
                record = json.loads(line)  # workers and beat log JSON lines, nothing else on stderr
            except ValueError:
                raise AssertionError(f"{process.name} logged a line that is not JSON: {line!r}") from None
            of_the_show = record["logger"].startswith(("apps.shows", "media.")) and not record["logger"].startswith(
                MEDIA_WORKER_LOGGERS
            )
            if process is media and (of_the_show or record.get("stream_id") == str(stream.pk)):
                show_lines += 1
                assert record["request_id"] == request_id, record
                assert record["stream_id"] == str(stream.pk), record
    assert show_lines >= 3, media.tail()
    print("\nobserved show:", json.dumps({k: round(v, 3) for k, v in figures.items()}, indent=1))
