"""One pusher per destination: a bounded queue and a thread that publishes it.

Isolation rules, so one destination never hurts the others or the encoder:

* ``offer()`` never blocks. When the queue is over its budget the pusher
  drops what it holds and everything up to the next video keyframe (whole
  GOPs), so what it later sends still decodes.
* A failed publish (unreachable, stalled for IO_TIMEOUT, closed)
  is reported (state "error", ``last_error`` readable, never the key) and
  retried with capped, jittered exponential backoff for as long as the show
  runs. After every (re)connect the pusher sends the codec headers and
  resumes at the next keyframe.
* A publish the server refuses (a wrong key: it answers, then refuses or
  closes on ``publish``) is state "refused": the message says to check the
  key, the pusher holds no packets and no connection meanwhile, and it asks
  again only every REFUSED_RETRY_SECONDS (a key fixed on the platform's side
  is picked up; a key changed here restarts the pusher at once).
* The destination host is checked against private addresses right before
  every connect (``host_check``, the same netguard used when it was saved).
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from media.broadcast.packet import TAG_VIDEO, MediaPacket
from media.broadcast.rtmp import HostCheck, PublishRefused, PublishTarget, RtmpError, RtmpPublisher
from media.broadcast.supervise import name_native_thread

log = logging.getLogger(__name__)

BACKOFF_BASE = 0.5  # seconds before the first retry
BACKOFF_CAP = 3.0  # never wait longer: a destination that is back is live again within ~5 s
# A refused key is asked again this often (doubling from the first), not in a tight loop: platforms
# rate-limit, and a wrong key stays wrong until someone fixes it.
REFUSED_RETRY_SECONDS = (10.0, 30.0, 60.0)
QUEUE_SECONDS = 4.0  # budget of a pusher's queue in media time; past it the pusher drops whole GOPs
# The sender wakes this often and writes everything queued in one syscall. Waking per packet made each
# destination cost ~1 % of a core in thread switches; 50 ms batches add at most 50 ms of latency.
BATCH_SECONDS = 0.05


def backoff_delay(failures: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Exponential, capped, with 'equal jitter' so a fleet of pushers does not reconnect in lockstep."""
    ceiling = min(cap, base * (2 ** max(0, failures - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass
class DestinationSpec:
    id: int
    url: str
    key: str = field(repr=False)
    name: str = ""
    ca_file: str | None = None


@dataclass
class PusherStats:
    state: str = "connecting"  # connecting | live | error | refused | stopped
    bytes_sent: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    failures: int = 0
    connected_at: float | None = None
    last_error: str = ""


class Pusher:
    def __init__(
        self,
        spec: DestinationSpec,
        *,
        headers: Callable[[], list[MediaPacket]],
        metadata: dict[str, Any],
        gop: Callable[[], list[MediaPacket]] = list,
        host_check: HostCheck | None = None,
        queue_seconds: float = QUEUE_SECONDS,
    ) -> None:
        self.spec = spec
        self.id = spec.id
        self._headers = headers
        self._gop = gop
        self._last_seq = 0
        self._metadata = metadata
        self._host_check = host_check
        self._queue: collections.deque[MediaPacket] = collections.deque()
        self._cond = threading.Condition()
        self._drop_until_keyframe = True  # start at a keyframe
        self._queue_ms = int(queue_seconds * 1000)
        self._stop = threading.Event()
        self.stats = PusherStats()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"pusher-{spec.id}", daemon=True)
        self._publisher: RtmpPublisher | None = None
        self._refusals = 0

    # -- called by the fan-out (frame thread): never blocks on the network --
    def offer(self, packet: MediaPacket) -> None:
        with self._cond:
            if packet.seq and packet.seq <= self._last_seq:
                return  # already queued from the GOP cache
            if self.stats.state == "refused":
                return  # nothing is held for a destination that refused us
            if self._drop_until_keyframe:
                if not (packet.kind == TAG_VIDEO and packet.keyframe):
                    if packet.kind == TAG_VIDEO:
                        self.stats.frames_dropped += 1
                    return
                self._drop_until_keyframe = False
            if self._queue and packet.timestamp_ms - self._queue[0].timestamp_ms > self._queue_ms:
                # Over budget: the destination is not keeping up. Drop the backlog and this GOP.
                dropped = sum(1 for p in self._queue if p.kind == TAG_VIDEO)
                self.stats.frames_dropped += dropped
                self._queue.clear()
                if not (packet.kind == TAG_VIDEO and packet.keyframe):
                    self._drop_until_keyframe = True
                    if packet.kind == TAG_VIDEO:
                        self.stats.frames_dropped += 1
                    return
            self._queue.append(packet)
            self._last_seq = packet.seq

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        pub = self._publisher
        if pub is not None:
            pub.close()
        self._thread.join(timeout)
        self.stats.state = "stopped"

    def snapshot(self) -> dict[str, Any]:
        s = self.stats
        return {
            "destination_id": self.id,
            "state": s.state,
            "bytes_sent": s.bytes_sent,
            "frames_sent": s.frames_sent,
            "frames_dropped": s.frames_dropped,
            "reconnects": s.reconnects,
            "uptime": round(time.monotonic() - s.connected_at, 1) if s.connected_at and s.state == "live" else 0.0,
            "last_error": s.last_error,
        }

    # -- the pusher thread --
    def _run(self) -> None:
        name_native_thread()
        while not self._stop.is_set():
            publisher = RtmpPublisher(
                PublishTarget(self.spec.url, self.spec.key, self.spec.ca_file), host_check=self._host_check
            )
            self._publisher = publisher
            try:
                self.stats.state = "connecting" if self.stats.failures == 0 else self.stats.state
                publisher.connect(self._metadata)
                if self._stop.is_set():
                    break
                self._resume_at_keyframe()
                for header in self._headers():
                    publisher.send(header)
                self.stats.state = "live"
                self.stats.connected_at = time.monotonic()
                self.stats.failures = 0
                self._refusals = 0
                log.info("Destination %s is live.", self.id)
                self._send_loop(publisher)
            except Exception as exc:  # any failure, even a bug, is retried: a pusher never dies while the show runs
                if self._stop.is_set():
                    break
                if not isinstance(exc, RtmpError):
                    log.exception("Destination %s: unexpected pusher failure", self.id)
                    exc = RtmpError(f"Internal error ({exc.__class__.__name__}); retrying.")
                self.stats.failures += 1
                self.stats.reconnects += 1
                self.stats.last_error = str(exc)
                self.stats.connected_at = None
                if isinstance(exc, PublishRefused):
                    self.stats.state = "refused"
                    self._refusals += 1
                    with self._cond:
                        self._queue.clear()
                        self._drop_until_keyframe = True
                    delay = REFUSED_RETRY_SECONDS[min(self._refusals, len(REFUSED_RETRY_SECONDS)) - 1]
                    log.warning("Destination %s refused the stream (%s); asking again in %.0f s.", self.id, exc, delay)
                else:
                    self.stats.state = "error"
                    delay = backoff_delay(self.stats.failures)
                    log.warning("Destination %s failed (%s); retrying in %.1f s.", self.id, exc, delay)
            else:
                continue
            finally:
                publisher.close()  # no connection is held while waiting to try again
                self._publisher = None
            self._stop.wait(delay)

    def _resume_at_keyframe(self) -> None:
        """Start over from the latest keyframe: the fan-out's current GOP, else the next keyframe."""
        with self._cond:
            gop = self._gop()
            first = gop[0].seq if gop else self._last_seq + 1
            self.stats.frames_dropped += sum(1 for p in self._queue if p.kind == TAG_VIDEO and p.seq < first)
            self._queue = collections.deque(gop)
            if gop:
                self._last_seq = max(self._last_seq, gop[-1].seq)
            self._drop_until_keyframe = not gop

    def _send_loop(self, publisher: RtmpPublisher) -> None:
        while not self._stop.wait(BATCH_SECONDS):
            with self._cond:
                batch = list(self._queue)
                self._queue.clear()
            if not batch:
                publisher.poll_incoming()
                if publisher.closed.is_set():
                    raise RtmpError(publisher.close_reason or "Connection closed.")
                continue
            self.stats.bytes_sent += publisher.send_many(batch)
            self.stats.frames_sent += sum(1 for p in batch if p.kind == TAG_VIDEO)
