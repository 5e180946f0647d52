"""A guest's connection drops mid-show — half a second of lost packets, a close and reconnect at once, and 10 s
away — the program goes on, their tile shows their name card meanwhile and their camera again when they are
back, and nobody else's tile moves.

Two guests side by side (red left, blue right), each a real LiveKit participant; a real media worker runs the
show with the compositor. First every packet of red's media sockets is dropped for 0.5 s (iptables; the
connection stays up); then red leaves the room (its connection closed) and joins again, publishing again, at
once and after 10 s. What the ingest received is decoded frame by frame and sampled in the middle of each half.

The layout comes from who is on stage (the studio's state), not from who is connected: a dropped guest keeps
their place however long the drop, so the layout never reflows under a reconnecting guest (issue 18 asks
for no reflow under 3 s; StreamUs does not reflow at all until the host takes them off stage).
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from apps.rtc import services as rtc
from apps.shows import services as shows
from apps.streams.models import Stream
from media.broadcast.slate import SLATE_BACKGROUND
from tests.factories import GuestFactory
from tests.support.compositor import BLUE, RED
from tests.support.livekit import participant_process
from tests.support.rtmp import flv_tags, judged_frames, wait_for

from .conftest import AAC_FRAME_MS, KEY, near, red_guest_show

pytestmark = [pytest.mark.media, pytest.mark.livekit, pytest.mark.django_db(transaction=True)]

LONG_DROP_SECONDS = 10.0
BLACKOUT_SECONDS = 0.5
BACK_SECONDS = 10.0  # a guest who is back is on the program again within this


def _what(y, u, v, x: int, yy: int) -> str:
    sample = (
        int(np.median(y[yy - 6 : yy + 6, x - 6 : x + 6])),
        int(np.median(u[yy // 2 - 3 : yy // 2 + 3, x // 2 - 3 : x // 2 + 3])),
        int(np.median(v[yy // 2 - 3 : yy // 2 + 3, x // 2 - 3 : x // 2 + 3])),
    )
    for name, rgb in (("red", RED), ("blue", BLUE), ("slate", SLATE_BACKGROUND)):
        if near(sample, rgb):
            return name
    return "other"


def _left_right(frame) -> tuple[str, str]:
    w, h = frame.width, frame.height
    data = frame.to_ndarray(format="yuv420p").reshape(-1)
    y = data[: w * h].reshape(h, w)
    u = data[w * h : w * h * 5 // 4].reshape(h // 2, w // 2)
    v = data[w * h * 5 // 4 :].reshape(h // 2, w // 2)
    return _what(y, u, v, w // 4, h // 2), _what(y, u, v, 3 * w // 4, h // 2)


def udp_ports() -> set[int]:
    """The UDP ports this process holds (the synthetic participants' media sockets live here)."""
    return {c.laddr.port for c in psutil.Process().net_connections(kind="udp")}


@contextlib.contextmanager
def packets_dropped(ports: set[int]):  # type: ignore[no-untyped-def]
    """Every packet to or from these local UDP ports is dropped (iptables on loopback) while the block runs: the
    connection stays up, its media is lost, as on a network that drops out for a moment."""
    rules = [["OUTPUT", "-p", "udp", "--sport", str(p), "-j", "DROP"] for p in sorted(ports)]
    rules += [["INPUT", "-p", "udp", "--dport", str(p), "-j", "DROP"] for p in sorted(ports)]
    added = []
    try:
        for rule in rules:
            subprocess.run(["iptables", "-w", "-I", *rule], check=True, capture_output=True)
            added.append(rule)
        yield
    finally:
        for rule in added:
            subprocess.run(["iptables", "-w", "-D", *rule], check=False, capture_output=True)


def halves(path: Path, *, complete: bool = False) -> list[tuple[float, str, str]]:
    """(seconds, left, right) for every frame the ingest recorded: 'red', 'blue', 'slate' or 'other' (a name
    card), sampled in the middle of each half."""
    judged = judged_frames(path, _left_right, "halves", complete=complete)
    return [(t, *sides) for t, sides in judged]  # type: ignore[misc]


@pytest.fixture
def processes():  # type: ignore[no-untyped-def]
    with contextlib.ExitStack() as stack:
        yield stack


def test_a_guest_dropping_keeps_their_place_shows_their_name_card_and_comes_back(
    livekit, user, rtmp_servers, synthetic_participants, media_workers, processes
):
    (server,) = rtmp_servers(1, publishes=True)
    media_workers(1, extra_env={"BROADCAST_SOURCE": "compositor"})
    before_red = udp_ports()
    show = red_guest_show(
        livekit, user, server.url, synthetic_participants, scene={"host_on_stage": False, "layout": "side_by_side"}
    )
    red_ports = udp_ports() - before_red  # the red guest's media sockets (the participants run in this process)
    assert red_ports, "no UDP socket for the red guest's media"
    blue_guest = GuestFactory(stream=show.stream, display_name="Blue", on_stage=True)
    # Blue only watches: their camera runs in a process of its own, out of reach of this one's decoding.
    blue_token = rtc._token(
        identity=blue_guest.identity,
        name=blue_guest.display_name,
        grants=rtc.api.VideoGrants(room_join=True, room=rtc.room_name(show.stream), can_publish=True),
    )
    processes.enter_context(participant_process(livekit.url, blue_token, colour=BLUE, tone_hz=660.0))
    red = show.participant

    shows.show_go_live(stream=show.stream, by=show.stream.owner)
    on_air = server.publishes.wait("publish", KEY, 1, timeout=60)
    flv = server.wait_for_publish(KEY, timeout=30)

    def both_on() -> bool:
        last = halves(flv)[-5:]
        return len(last) == 5 and all(f[1:] == ("red", "blue") for f in last)

    wait_for(both_on, 30, interval=1.0, message="the two guests never reached the ingest side by side")

    # 0. Half a second of lost packets on a connection that stays up: red's media sockets drop everything.
    blackout_at = time.monotonic() - on_air
    with packets_dropped(red_ports):
        wait_for(lambda: time.monotonic() - on_air - blackout_at >= BLACKOUT_SECONDS, 2, interval=0.05)
    blackout_end = time.monotonic() - on_air
    wait_for(both_on, BACK_SECONDS, interval=1.0, message="red did not come back after half a second of loss")

    # 1. The shortest drop: the connection closed and opened again at once.
    short_at = time.monotonic() - on_air
    red.disconnect()  # type: ignore[attr-defined]
    red.connect().publish(colour=RED, tone_hz=440.0)  # type: ignore[attr-defined]
    short_back = time.monotonic() - on_air
    wait_for(both_on, BACK_SECONDS, interval=1.0, message="red did not come back after the short drop")

    # 2. A 10 s drop.
    long_at = time.monotonic() - on_air
    red.disconnect()  # type: ignore[attr-defined]
    wait_for(lambda: time.monotonic() - on_air - long_at >= LONG_DROP_SECONDS, LONG_DROP_SECONDS + 2, interval=0.2)
    red.connect().publish(colour=RED, tone_hz=440.0)  # type: ignore[attr-defined]
    long_back = time.monotonic() - on_air
    wait_for(both_on, BACK_SECONDS, interval=1.0, message="red did not come back after the 10 s drop")
    back_seen = time.monotonic() - on_air

    shows.show_end(stream=Stream.objects.get(pk=show.stream.pk), by=user)
    server.publishes.wait("publish_done", KEY, 1, timeout=30)

    frames = halves(flv, complete=True)  # the finished file, every frame judged afresh
    assert frames, "nothing decoded at the ingest"
    t0 = frames[0][0]
    # From the first picture with both guests on (before it, the compositor was joining: name cards).
    frames = frames[next(i for i, f in enumerate(frames) if f[1:] == ("red", "blue")) :]
    # The program went on: one publish, never the slate, pictures and sound without a hole.
    assert server.publishes.count("publish", KEY) == 1
    assert not any("slate" in f[1:] for f in frames)
    tags = flv_tags(flv)
    video = [ts for kind, ts, _key in tags if kind == 9]
    audio = [ts for kind, ts, _key in tags if kind == 8]
    assert max(b - a for a, b in itertools.pairwise(video)) <= 250
    assert max(b - a for a, b in itertools.pairwise(audio)) <= AAC_FRAME_MS + 2
    # Nobody else moved: the right half is blue's, through both drops: blue, or for a moment blue's own name card
    # (CI twice saw blue's camera miss half a second, for 1 and 4 frames, while it ran in this test process, which
    # also decodes the ingest; it now has its own process), never red, never the slate.
    rights = [right for _t, _left, right in frames]
    assert set(rights) <= {"blue", "other"}, [f for f in frames if f[2] not in ("blue", "other")][:5]
    assert rights.count("blue") >= 0.99 * len(rights), [f for f in frames if f[2] != "blue"][:10]
    # Red's half is never anything but red or their name card (never blue: no reflow).
    assert {left for _t, left, _right in frames} <= {"red", "other"}
    # During the 10 s drop (its middle: media time follows the wall clock, the first picture is near 0 s),
    # their name card; red again once back.
    during = [left for t, left, _r in frames if long_at + 2 <= t - t0 <= long_at + LONG_DROP_SECONDS - 2]
    assert during and all(left == "other" for left in during), during[:10]
    # The half-second loss: red's tile froze or showed the name card for a moment, then red again, soon.
    after_blackout = next(t - t0 for t, left, _r in frames if t - t0 >= blackout_end + 0.5 and left == "red")
    assert after_blackout - blackout_end <= BACK_SECONDS
    carded = sum(1 for t, left, _r in frames if blackout_at <= t - t0 <= blackout_end + 3 and left == "other")
    print(
        f"figure: 0.5 s loss: {carded} frames of name card, red on air again {after_blackout - blackout_end:.1f} s after"
    )
    first_red_after = next(t - t0 for t, left, _r in frames if t - t0 >= long_back and left == "red")
    assert first_red_after - long_back <= BACK_SECONDS
    print(
        f"figure: short drop {short_back - short_at:.1f} s (reconnect included), red back "
        f"{first_red_after - long_back:.1f} s after rejoining from the 10 s drop (seen at the test {back_seen - long_back:.1f} s)"
    )
