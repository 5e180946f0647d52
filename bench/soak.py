"""Soak: a long 720p30 show through the faults of a real night, measured from what came out.

    .venv/bin/python -m bench.soak [--minutes 30] [--no-write]

The product's own processes on loopback, as the tests start them: PostgreSQL and Redis (scripts/testenv.sh,
ports of their own), livekit-server, a Celery media worker (the Procfile's command, `BROADCAST_SOURCE=compositor`,
x264 at the product's default preset, admitted by its own capacity measurement), three nginx-rtmp ingests.
Four synthetic guests (LiveKit participants, 320x180 at 15 fps, a colour and a tone each) on stage in a grid.
While the show runs:

* one destination's ingest is killed (SIGKILL) every 60 s and started again at once on the same port;
* one guest drops every 5 minutes (its connection closed) and comes back 10 s later;
* a comment card is put on screen every 30 s (ingested, then shown: the studio's path).

Measured, with the machine and its load (bench/RESULTS.md, section "Soak"):

* on the two destinations never killed: the output's frame intervals (decoded packet timestamps) p99 against
  the nominal interval, frames dropped (gaps) and duplicated (repeated timestamps), publishes (1 = never cut);
* every reconnect of the killed destination: its next publish after the ingest was back;
* the media process's RSS (the pool process running the show) sampled every 10 s: growth from the first
  5 minutes (after warm-up) to the last 5;
* the program recording's duration against the show's (first publish to end).

This is a bench, not a test: it asserts nothing and records what it measured. It runs pytest on this file to
reuse the tests' fixtures for the real components (tests/support/), with a database of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_PORT, REDIS_PORT = 55492, 56439  # beside a `make test` run's (55432/56379) and its side line's (+100)
KEYS = {"flaky": "soak-killed", "a": "soak-steady-a", "b": "soak-steady-b"}
FPS = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave bench/RESULTS.md alone")
    args = parser.parse_args()
    env = {
        **os.environ,
        "PG_PORT": str(PG_PORT),
        "REDIS_PORT": str(REDIS_PORT),
        "STREAMUS_ENV": "test",
        "ALLOW_PRIVATE_DESTINATIONS": "1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PG_PORT}/streamus",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "SOAK_MINUTES": str(args.minutes),
        "SOAK_WRITE": "0" if args.no_write else "1",
    }
    subprocess.run(["scripts/testenv.sh", "start"], cwd=ROOT, env=env, check=True)
    try:
        status = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(Path(__file__).relative_to(ROOT)),
                "-s",
                "-p",
                "no:randomly",
                "-o",
                "timeout=0",
                "-o",
                "addopts=-p no:cacheprovider",
            ],
            cwd=ROOT,
            env=env,
        ).returncode
    finally:
        subprocess.run(["scripts/testenv.sh", "stop"], cwd=ROOT, env=env, check=False)
    raise SystemExit(status)


# --- the soak itself, run by pytest (above) with the tests' fixtures -----------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - the bench runs in the project's virtualenv
    pytest = None  # type: ignore[assignment]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def _intervals(times: list[float]) -> dict[str, float]:
    gaps = [b - a for a, b in itertools.pairwise(times)]
    nominal = 1.0 / FPS
    dropped = sum(max(0, round(g / nominal) - 1) for g in gaps if g > 1.5 * nominal)
    duplicated = sum(1 for g in gaps if g < 0.5 * nominal)
    expected = round((times[-1] - times[0]) * FPS) + 1 if times else 0
    return {
        "frames": len(times),
        "seconds": round(times[-1] - times[0], 2) if times else 0.0,
        "p50_ms": round(_percentile(gaps, 0.5) * 1000, 1),
        "p99_ms": round(_percentile(gaps, 0.99) * 1000, 1),
        "max_ms": round(max(gaps) * 1000, 1) if gaps else float("nan"),
        "p99_vs_nominal": round(_percentile(gaps, 0.99) / nominal, 2),
        "dropped": dropped,
        "duplicated": duplicated,
        "dropped_or_duplicated_pct": round(100.0 * (dropped + duplicated) / max(1, expected), 3),
    }


if pytest is not None:

    @pytest.mark.django_db(transaction=True)
    def test_soak(livekit, user, rtmp_servers, synthetic_participants, media_workers, settings, tmp_path):
        import psutil

        from apps.engagement import services as engagement
        from apps.recordings.models import Recording
        from apps.rtc import services as rtc
        from apps.shows import services as shows
        from apps.streams.models import Stream
        from bench._results import record_section
        from tests.factories import DestinationFactory, GuestFactory, StreamFactory
        from tests.support.rtmp import ffprobe, packet_times, wait_for

        minutes = float(os.environ.get("SOAK_MINUTES", "30"))
        settings.ALLOW_PRIVATE_DESTINATIONS = True
        settings.CELERY_TASK_ALWAYS_EAGER = False
        flaky, steady_a, steady_b = rtmp_servers(3, publishes=True)
        (worker,) = media_workers(1, extra_env={"BROADCAST_SOURCE": "compositor", "BROADCAST_X264_PRESET": "veryfast"})
        stream = StreamFactory(
            owner=user,
            title="Soak",
            resolution="720p",
            fps=FPS,
            video_bitrate_kbps=2500,
            audio_bitrate_kbps=128,
            recording_enabled=True,
            recording_format="mp4",
            scene={"host_on_stage": False, "layout": "grid"},
        )
        for server, key in ((flaky, KEYS["flaky"]), (steady_a, KEYS["a"]), (steady_b, KEYS["b"])):
            DestinationFactory(stream=stream, rtmp_url=server.url, stream_key=key)
        colours = [(220, 30, 30), (30, 200, 60), (40, 60, 220), (230, 200, 40)]
        guests = [GuestFactory(stream=stream, display_name=f"Guest {i + 1}", on_stage=True) for i in range(4)]
        rtc.rtc_open_room(stream=stream, by=user)

        def join(i: int):  # type: ignore[no-untyped-def]
            token = rtc._token(
                identity=guests[i].identity,
                name=guests[i].display_name,
                grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(stream), can_publish=True),
            )
            participant = synthetic_participants(livekit.url, token).connect()
            participant.publish(colour=colours[i], tone_hz=330.0 + 110 * i)
            return participant

        people = [join(i) for i in range(4)]
        loads: list[float] = []
        rss: list[tuple[float, int]] = []
        kills: list[float] = []
        drops: list[float] = []
        cards = 0
        shows.show_go_live(stream=stream, by=user)
        started = steady_a.publishes.wait("publish", KEYS["a"], 1, timeout=90)
        print(f"soak: on air; {minutes:g} minutes", flush=True)
        deadline = started + minutes * 60
        next_kill, next_drop, next_card, next_sample = started + 60, started + 300, started + 30, started + 10
        dropped_at: float | None = None
        while (now := time.monotonic()) < deadline:
            if now >= next_kill:
                flaky.kill()
                flaky.start()
                kills.append(time.monotonic())
                next_kill += 60
            if now >= next_drop and dropped_at is None:
                people[0].close()
                dropped_at = time.monotonic()
                drops.append(dropped_at)
                next_drop += 300
            if dropped_at is not None and now - dropped_at >= 10:
                people[0] = join(0)
                dropped_at = None
            if now >= next_card:
                cards += 1
                comment = engagement.comment_ingest(
                    stream=stream,
                    platform="twitch",
                    message_id=f"soak-{cards}",
                    author_name=f"viewer{cards % 7}",
                    author_id=str(cards % 7),
                    text=f"Comment number {cards}: still watching, the show is going well!",
                )
                if comment is not None:
                    engagement.comment_show_on_screen(comment=comment)
                next_card += 30
            if now >= next_sample:
                proc = worker.show_process()
                if proc is not None:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        rss.append((now - started, proc.memory_info().rss))
                loads.append(os.getloadavg()[0])
                next_sample += 10
                if int(now - started) % 300 < 10:
                    mb = rss[-1][1] / 2**20 if rss else float("nan")
                    print(f"soak: {(now - started) / 60:.1f} min, RSS {mb:.0f} MB, load {loads[-1]:.1f}", flush=True)
            time.sleep(0.2)

        ended = time.monotonic()
        shows.show_end(stream=Stream.objects.get(pk=stream.pk), by=user)
        programs = wait_for(
            lambda: list(Recording.objects.filter(stream=stream, kind=Recording.Kind.PROGRAM).order_by("segment"))
            or None,
            120,
            message="no program recording",
        )
        wait_for(lambda: all(r.duration_seconds for r in programs) or None, 60, interval=1)

        # --- figures ---------------------------------------------------------------------------------------
        figures: dict[str, object] = {}
        for name, server in (("steady A", steady_a), ("steady B", steady_b)):
            recordings = server.recordings(KEYS["a" if server is steady_a else "b"])
            times: list[float] = []
            offset = 0.0
            for path in recordings:
                part = sorted(packet_times(path))
                times.extend(t + offset for t in part)
                offset = times[-1] + 1.0 / FPS if times else 0.0
            figures[name] = {
                **_intervals(times),
                "publishes": server.publishes.count("publish", KEYS["a" if server is steady_a else "b"]),
            }
        sessions = flaky.publishes.sessions(KEYS["flaky"])
        publishes = [s for s, _e in sessions]
        reconnects = []
        for killed in kills:
            after = [p for p in publishes if p > killed]
            reconnects.append(round(after[0] - killed, 2) if after else None)
        figures["reconnects of the killed destination (s after its ingest was back)"] = {
            "count": len(kills),
            "all": reconnects,
            "max": max((r for r in reconnects if r is not None), default=None),
            "missed": sum(1 for r in reconnects if r is None),
        }
        warm = [b for t, b in rss if 60 <= t <= 360]
        last = [b for t, b in rss if t >= (ended - started) - 300]
        growth = (sum(last) / len(last)) / (sum(warm) / len(warm)) - 1 if warm and last else float("nan")
        figures["media process RSS"] = {
            "first 5 min after warm-up (MB)": round(sum(warm) / max(1, len(warm)) / 2**20, 1),
            "last 5 min (MB)": round(sum(last) / max(1, len(last)) / 2**20, 1),
            "growth %": round(100 * growth, 2),
            "samples": len(rss),
        }
        show_seconds = ended - started
        recorded = sum(float(ffprobe(r.file.path)["format"]["duration"]) for r in programs)
        figures["program recording"] = {
            "parts": len(programs),
            "recorded s": round(recorded, 2),
            "show s": round(show_seconds, 2),
            "difference s": round(recorded - show_seconds, 2),
        }
        figures["faults"] = {"ingest kills": len(kills), "guest drops": len(drops), "cards shown": cards}
        figures["load average (1 min) during the show"] = {
            "mean": round(sum(loads) / max(1, len(loads)), 2),
            "max": round(max(loads, default=0.0), 2),
        }
        encoder_lines = [line for line in worker.log().splitlines() if "step" in line.lower() and "encoder" in line]
        figures["encoder"] = encoder_lines[-1][:300] if encoder_lines else "no step-down logged"
        text = json.dumps(figures, indent=2, default=str)
        print(text, flush=True)
        if os.environ.get("SOAK_WRITE", "1") == "1":
            when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            a, b = figures["steady A"], figures["steady B"]
            rec = figures["reconnects of the killed destination (s after its ingest was back)"]
            mem = figures["media process RSS"]
            prog = figures["program recording"]
            section = f"""## Soak

`python -m bench.soak --minutes {minutes:g}`, {when}, on {_cpu_model()} ({os.cpu_count()} cores), load average
{figures["load average (1 min) during the show"]["mean"]} (max {figures["load average (1 min) during the show"]["max"]})
during the show. A 720p30 show (x264 veryfast as admitted, 2,500 + 128 kbit/s, program recording in fragmented MP4)
with four synthetic guests (320x180 at 15 fps) in a grid, three RTMP destinations; the first one's ingest killed
every 60 s and started again, one guest dropping for 10 s every 5 minutes, a comment card every 30 s.

| measure | steady A | steady B | target |
|---|---|---|---|
| output frame interval p99 ÷ nominal (33.3 ms) | {a["p99_vs_nominal"]} ({a["p99_ms"]} ms) | {b["p99_vs_nominal"]} ({b["p99_ms"]} ms) | ≤ 1.5 |
| frames dropped + duplicated | {a["dropped"]} + {a["duplicated"]} of {a["frames"]} ({a["dropped_or_duplicated_pct"]} %) | {b["dropped"]} + {b["duplicated"]} of {b["frames"]} ({b["dropped_or_duplicated_pct"]} %) | ≤ 0.1 % |
| publishes (1: never cut) | {a["publishes"]} | {b["publishes"]} | 1 |

| measure | value | target |
|---|---|---|
| reconnects of the killed destination, after its ingest was back | {rec["count"]}, max {rec["max"]} s, missed {rec["missed"]} | each ≤ 5 s |
| media process RSS, first 5 min after warm-up → last 5 min | {mem["first 5 min after warm-up (MB)"]} → {mem["last 5 min (MB)"]} MB ({mem["growth %"]} %) | growth < 5 % |
| program recording vs the show | {prog["recorded s"]} s in {prog["parts"]} part(s) vs {prog["show s"]} s ({prog["difference s"]} s) | within 1 s |

Encoder: {figures["encoder"]}

Every figure: `{json.dumps(figures, default=str)}`
"""
            record_section("Soak", section)
            print("soak: bench/RESULTS.md section written", flush=True)


if __name__ == "__main__":
    main()
