"""Copy each encoded packet to every sink (pushers and the recorder) without blocking.

The fan-out also keeps the current GOP (packets since the last video
keyframe), like an RTMP server's GOP cache: a pusher that (re)connects starts
from that keyframe at once instead of waiting up to a GOP for the next one.

Sinks are held in an immutable tuple replaced on add/remove (copy on write),
so the frame thread iterates without a lock while the control thread adds or
removes destinations live.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Protocol

from media.broadcast.packet import TAG_VIDEO, MediaPacket


class Sink(Protocol):
    id: int

    def offer(self, packet: MediaPacket) -> None: ...


class Fanout:
    def __init__(self) -> None:
        self._sinks: tuple[Sink, ...] = ()
        self._lock = threading.Lock()
        self._gop: list[MediaPacket] = []
        self._gop_lock = threading.Lock()
        self._seq = 0
        self.last_timestamp_ms = 0
        self.bytes_published = 0  # every packet's size once: what one destination should be receiving

    def add(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = (*self._sinks, sink)

    def remove(self, sink_id: int) -> Sink | None:
        with self._lock:
            found = next((s for s in self._sinks if s.id == sink_id), None)
            self._sinks = tuple(s for s in self._sinks if s.id != sink_id)
            return found

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return self._sinks

    def current_gop(self) -> list[MediaPacket]:
        """Packets from the latest video keyframe on (empty before the first keyframe)."""
        with self._gop_lock:
            return list(self._gop)

    def restart_gop(self, headers: list[MediaPacket]) -> None:
        """New codec configuration mid-show: every sink gets the new sequence headers; a pusher that
        (re)connects from now on starts from the next keyframe (the old GOP no longer decodes)."""
        with self._gop_lock:
            self._gop = []
        sinks = self._sinks
        for header in headers:
            self._seq += 1
            packet = dataclasses.replace(header, seq=self._seq)
            for sink in sinks:
                sink.offer(packet)

    def publish(self, packets: list[MediaPacket]) -> None:
        sinks = self._sinks
        for packet in packets:
            self.last_timestamp_ms = packet.timestamp_ms
            self.bytes_published += len(packet.data)
            self._seq += 1
            packet = dataclasses.replace(packet, seq=self._seq)
            with self._gop_lock:
                if packet.kind == TAG_VIDEO and packet.keyframe and not packet.header:
                    self._gop = [packet]
                elif self._gop:
                    self._gop.append(packet)
            for sink in sinks:
                sink.offer(packet)
