"""Comments benchmark: ingest + moderation throughput, and delivery latency to many studio websockets.

    STREAMUS_ENV=test DATABASE_URL=postgres://... REDIS_URL=redis://.../N \\
        .venv/bin/python -m bench.comments [--comments 3000] [--clients 500] [--rate 50] [--seconds 5]

1. Throughput: `comment_ingest` (sanitize, profanity + blocked words, link/spam
   rules, per-author flood counter in Redis, ban lookup, INSERT, on-commit event)
   called back to back on a realistic mix (plain, emoji, links, profanity, zalgo,
   2 KB pastes) from 200 authors; then the same ids again (re-delivery: dedupe);
   then `comments_ingest_many` in bursts of 200, as the chat runner stores them.
2. Delivery: a real Daphne serving our ASGI app; `--clients` websockets in a
   separate process subscribe to ws/streams/<id>/comments/ as the host; the main
   process ingests `--rate` comments/s for `--seconds`, in bursts every 20 ms as
   the chat runner's BatchingSink stores them. Latency per (client,
   comment) = arrival at the client minus the moment `comment_ingest` was called.

Runs in a throwaway database (created and dropped here). Prints `metric: value`
lines and rewrites the "Comments" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"

TEXTS = [
    "great show, greetings from Lisbon!",
    "👨\u200d👩\u200d👧\u200d👦 family watching 👍🏽",
    "check out example.com for more",
    "what the fuck was that",
    "Z" + "\u0315\u031b\u0340\u0341\u0358" * 20 + "algo",
    "<script>alert(1)</script> hi",
    "long paste " * 200,
    "question: when is the next episode?",
]


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamus.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_ingest(stream: Any, count: int) -> list[tuple[str, str]]:
    from apps.engagement.services import comment_ingest, engagement_settings_for

    options = engagement_settings_for(stream)
    options.flood_max_comments = 1000  # measure the pipeline, not the flood rule hiding everything
    options.save()
    started = time.perf_counter()
    for n in range(count):
        comment_ingest(
            stream=stream,
            platform="youtube",
            message_id=f"bench-{n}",
            author_name=f"Viewer {n % 200}",
            author_id=f"author-{n % 200}",
            text=TEXTS[n % len(TEXTS)],
        )
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    for n in range(count):
        comment_ingest(
            stream=stream, platform="youtube", message_id=f"bench-{n}", author_name="x", author_id="x", text="dup"
        )
    dup_elapsed = time.perf_counter() - started
    from apps.engagement.services import IncomingMessage, comments_ingest_many

    messages = [
        IncomingMessage("twitch", f"burst-{n}", f"Viewer {n % 200}", TEXTS[n % len(TEXTS)], f"author-{n % 200}")
        for n in range(count)
    ]
    started = time.perf_counter()
    stored = 0
    for offset in range(0, count, 200):
        stored += len(comments_ingest_many(stream=stream, messages=messages[offset : offset + 200]))
    burst_elapsed = time.perf_counter() - started
    assert stored == count
    return [
        ("ingest_comments", str(count)),
        ("ingest_per_second", f"{count / elapsed:.0f}"),
        ("ingest_ms_per_comment", f"{elapsed / count * 1000:.2f}"),
        ("redelivery_per_second", f"{count / dup_elapsed:.0f}"),
        ("ingest_batched_per_second", f"{count / burst_elapsed:.0f}"),
    ]


def _clients(url: str, cookie: str, count: int, ready: Any, results: Any, quiet: float) -> None:
    """Child process: `count` websockets; records (comment id, arrival time) until `quiet` seconds without news."""

    async def main() -> None:
        import websockets.exceptions
        from websockets.asyncio.client import connect

        arrivals: list[tuple[int, float]] = []
        sockets = []
        for _ in range(count):
            ws = await connect(url, additional_headers={"Cookie": cookie, "Origin": "http://127.0.0.1"})
            sockets.append(ws)
        for ws in sockets:
            await ws.send('{"type": "ping"}')
            await ws.recv()
        ready.set()

        # Receive only: stamp the arrival, keep the raw frame, parse after the run, so the
        # measuring side spends as little CPU as possible while the server works.
        raw_arrivals: list[tuple[float, bytes]] = []
        last = [time.monotonic()]

        async def reader(ws: Any) -> None:
            with contextlib.suppress(OSError, RuntimeError, websockets.exceptions.WebSocketException):
                while True:
                    # decode=False: keep the UTF-8 bytes; decoding 100 MB/s here would be the harness's cost.
                    raw = await ws.recv(decode=False)
                    raw_arrivals.append((time.time(), raw))
                    last[0] = time.monotonic()

        readers = [asyncio.create_task(reader(ws)) for ws in sockets]
        while time.monotonic() - last[0] < quiet:
            await asyncio.sleep(0.2)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for at, raw in raw_arrivals:
            _collect(json.loads(raw), at, arrivals)
        results.put((arrivals, len(raw_arrivals)))
        for ws in sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1)

    asyncio.run(main())


def _collect(event: dict[str, Any], at: float, arrivals: list[tuple[int, float]]) -> None:
    """(comment number, arrival time) for each comment an event carries."""
    if event.get("type") == "comment.batch":  # events the server had waiting, sent as one frame
        for inner in event["events"]:
            _collect(inner, at, arrivals)
    elif event.get("type") == "comment.created":
        arrivals.append((int(event["comment"]["author_id"].split("-")[1]), at))
    elif event.get("type") == "comment.created_many":
        arrivals.extend((int(c["author_id"].split("-")[1]), at) for c in event["comments"])


def bench_delivery(
    stream: Any, user: Any, db_url: str, clients: int, rate: float, seconds: float
) -> list[tuple[str, str]]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.engagement.ingest.runner import BatchingSink
    from apps.engagement.services import IncomingMessage, comments_ingest_many

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "streamus.settings"}
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "streamus.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        ctx = mp.get_context("spawn")
        ready, results = ctx.Event(), ctx.Queue()
        url = f"ws://127.0.0.1:{port}/ws/streams/{stream.pk}/comments/"
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
        child = ctx.Process(target=_clients, args=(url, cookie, clients, ready, results, 3.0))
        child.start()
        if not ready.wait(120):
            raise RuntimeError("websocket clients did not connect")
        sent: dict[int, float] = {}
        total = int(rate * seconds)
        # As the chat runner does: what arrived in the last TICK seconds is stored as one burst.
        tick = BatchingSink.MAX_DELAY
        started = time.monotonic()
        n = 0
        while n < total:
            due = min(total, int((time.monotonic() - started) * rate) + 1)
            burst = []
            for index in range(n, due):
                sent[index] = time.time()
                burst.append(IncomingMessage("twitch", f"fan-{index}", "Viewer", "hello studio", f"n-{index}"))
            if burst:
                comments_ingest_many(stream=stream, messages=burst)
            n = due
            time.sleep(max(0.0, started + n / rate - time.monotonic(), tick - 0.001 if n < total else 0.0))
        achieved = total / (time.monotonic() - started)
        arrivals, frames = results.get(timeout=300)
        child.join(30)
    finally:
        os.killpg(daphne.pid, signal.SIGTERM)
        daphne.wait(10)
    latencies = [(at - sent[n]) * 1000 for n, at in arrivals if n in sent]
    expected = total * clients
    return [
        ("delivery_clients", str(clients)),
        ("delivery_rate_target_per_second", f"{rate:g}"),
        ("delivery_rate_achieved_per_second", f"{achieved:.0f}"),
        ("delivery_messages_expected", str(expected)),
        ("delivery_messages_received", str(len(latencies))),
        # Frames the clients read: fewer than events x clients when the server batched waiting events.
        ("delivery_frames_received", str(frames)),
        ("delivery_latency_ms_p50", f"{_percentile(latencies, 50):.1f}"),
        ("delivery_latency_ms_p95", f"{_percentile(latencies, 95):.1f}"),
        ("delivery_latency_ms_max", f"{max(latencies) if latencies else float('nan'):.1f}"),
        ("delivery_latency_ms_mean", f"{statistics.fmean(latencies) if latencies else float('nan'):.1f}"),
    ]


def write_results(metrics: list[tuple[str, str]], args: argparse.Namespace) -> None:
    values = dict(metrics)
    section = "\n".join(
        [
            "## Comments",
            "",
            f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} with `.venv/bin/python -m bench.comments "
            f"--comments {args.comments} --clients {args.clients} --rate {args.rate:g} --seconds {args.seconds:g}` on "
            f"{os.cpu_count()} CPUs shared with other work (1-minute load average {values['load_average_1m']} at the "
            "end); PostgreSQL and Redis on loopback; one Daphne process; the 500 clients in one Python process.",
            "",
            "| what | value | target |",
            "|---|---|---|",
            f"| comments ingested + moderated per second, one by one | {values['ingest_per_second']} | |",
            f"| comments ingested + moderated per second, bursts of 200 (chat runner) | "
            f"{values['ingest_batched_per_second']} | ≥ 1,000 |",
            f"| re-delivered (duplicate) comments dropped per second | {values['redelivery_per_second']} | |",
            f"| delivery p95 to {values['delivery_clients']} websockets at {values['delivery_rate_target_per_second']}"
            f" comments/s (ms) | {values['delivery_latency_ms_p95']} | ≤ 50 at 500 sockets |",
            f"| messages received / expected | {values['delivery_messages_received']} / "
            f"{values['delivery_messages_expected']} | all |",
            f"| websocket frames received (events batched when the server is behind) | "
            f"{values['delivery_frames_received']} | |",
            "",
            "```",
            *[f"{k}: {v}" for k, v in metrics],
            "```",
            "",
        ]
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(r"^## Comments\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    os.environ.setdefault("STREAMUS_ENV", "test")
    _setup_django()
    from django.db import connection

    from apps.engagement import realtime
    from tests.factories import StreamFactory, UserFactory

    test_name = os.environ.get("BENCH_DATABASE_NAME", "bench_comments")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        realtime.redis_client().flushdb()
        user = UserFactory()
        stream = StreamFactory(owner=user)
        metrics = bench_ingest(stream, args.comments)
        db_url = os.environ.get("DATABASE_URL", "")
        if db_url.startswith("postgres"):
            db_url = db_url.rsplit("/", 1)[0] + "/" + test_name
        metrics += bench_delivery(stream, user, db_url, args.clients, args.rate, args.seconds)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    metrics.append(("load_average_1m", f"{os.getloadavg()[0]:.1f}"))
    for key, value in metrics:
        print(f"{key}: {value}")
    if not args.no_write:
        write_results(metrics, args)


if __name__ == "__main__":
    main()
