"""A small RTMP/RTMPS publisher: the RTMP session (handshake, chunking, commands, media messages).

The pieces it sends are elsewhere: packets in packet.py, FLV tag bodies in flv.py, commands in amf0.py.

Why our own client instead of ``ffmpeg -c copy rtmp://host/app/KEY``
-------------------------------------------------------------------
FFmpeg takes its output URL on the command line, and for RTMP the stream key
is part of that URL, so every ``ps`` on the machine would show it. PyAV in a
child process would keep the URL in memory, but it either reopens an encoder
for stream-copy outputs or needs a demuxable template, and it holds a Python
interpreter (~40 MB) per destination. Publishing is a small protocol: a
handshake, ``connect`` / ``createStream`` / ``publish`` in AMF0, then audio
and video messages that are exactly FLV tag bodies. Doing it ourselves keeps
the key inside the media process (it only travels in the ``publish``
command, over TLS for rtmps), gives us per-socket timeouts so a stalled
destination fails fast instead of blocking, and costs a thread per
destination, not a process.

RTMPS uses the ``ssl`` module with certificate and host name verification
(a custom CA file only for tests). What is sent: the simple (version 3)
handshake, chunk size 4096, AMF0 commands, and fmt-0 chunk headers for every
message with extended timestamps past 0xFFFFFF ms.
"""

from __future__ import annotations

import contextlib
import copy
import os
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from media.broadcast.amf0 import AmfError, amf_decode_all, amf_ecma, amf_encode
from media.broadcast.packet import TAG_AUDIO, MediaPacket

HANDSHAKE_SIZE = 1536
OUT_CHUNK_SIZE = 4096
CONNECT_TIMEOUT = 5.0  # seconds for TCP + TLS + handshake + publish: an ingest that slow is broken
IO_TIMEOUT = 5.0  # a send that cannot progress this long means the destination stopped reading
# Kernel send buffer per destination. Small on purpose: backlog should sit in the pusher's queue, where
# it is dropped by whole GOPs, not in the kernel where it only adds latency. 256 KB still covers the
# bandwidth-delay product of ~10 Mbps over 200 ms.
SEND_BUFFER_BYTES = 256 * 1024

MSG_SET_CHUNK_SIZE = 1
MSG_ABORT = 2
MSG_ACK = 3
MSG_USER_CONTROL = 4
MSG_WINDOW_ACK = 5
MSG_PEER_BW = 6
MSG_AUDIO = 8
MSG_VIDEO = 9
MSG_DATA_AMF0 = 18
MSG_COMMAND_AMF0 = 20


class RtmpError(Exception):
    """A readable reason a publish failed; never contains the stream key."""


class PublishRefused(RtmpError):
    """The server answered, and refused to take this stream: a wrong or expired stream key, or a stream name
    already live from elsewhere. Retrying at once will not help; the message says what to check."""


class _NeedMore(Exception):
    """The buffered bytes end in the middle of a chunk."""


# --- the publisher ------------------------------------------------------------


@dataclass
class PublishTarget:
    """Where to publish. `key` is secret: repr() and str() never show it."""

    url: str  # rtmp[s]://host[:port]/app[/more]
    key: str = field(repr=False)
    ca_file: str | None = None  # extra CA to trust (tests); system CAs otherwise

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "rtmps" else 1935)

    @property
    def app(self) -> str:
        return urlsplit(self.url).path.strip("/")

    @property
    def tc_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}/{self.app}"


HostCheck = Callable[[str, int], list[str]]


class RtmpPublisher:
    """One publish session. Not thread-safe for sending; `closed` is set by the reader thread."""

    def __init__(self, target: PublishTarget, *, host_check: HostCheck | None = None) -> None:
        self.target = target
        self.host_check = host_check
        self.sock: socket.socket | ssl.SSLSocket | None = None
        self.closed = threading.Event()
        self.close_reason = ""
        self.in_chunk_size = 128
        self._rx = bytearray()
        self._chunk_state: dict[int, dict[str, int]] = {}
        self._partial: dict[int, bytearray] = {}
        self.stream_id = 0
        self._txn = 0
        self._buffered_only = False
        self._send_lock = threading.Lock()

    # -- connection --
    def connect(self, metadata: dict[str, Any]) -> None:
        """Resolve (SSRF check), connect, handshake, publish. Raises RtmpError with a readable reason."""
        t = self.target
        if t.scheme not in ("rtmp", "rtmps"):
            raise RtmpError("Only rtmp:// and rtmps:// ingest URLs are supported.")
        if self.host_check is not None:
            try:
                addresses = self.host_check(t.host, t.port)
            except ValueError as exc:  # netguard.PrivateAddressError
                raise RtmpError(str(exc)) from exc
        else:
            addresses = [str(info[4][0]) for info in socket.getaddrinfo(t.host, t.port, type=socket.SOCK_STREAM)]
        deadline = time.monotonic() + CONNECT_TIMEOUT
        last: Exception | None = None
        sock: socket.socket | None = None
        for address in addresses:
            try:
                # Connect to the address we checked, not to a fresh DNS answer.
                sock = socket.create_connection((str(address), t.port), timeout=CONNECT_TIMEOUT)
                break
            except OSError as exc:
                last = exc
        if sock is None:
            raise RtmpError(f"Cannot connect to {t.host}:{t.port}: {_reason(last)}")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            sock.settimeout(max(0.5, deadline - time.monotonic()))
            if t.scheme == "rtmps":
                ctx = ssl.create_default_context()
                if t.ca_file:
                    ctx.load_verify_locations(cafile=t.ca_file)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                try:
                    sock = ctx.wrap_socket(sock, server_hostname=t.host)
                except ssl.SSLCertVerificationError as exc:
                    raise RtmpError(f"TLS certificate of {t.host} rejected: {exc.verify_message}") from exc
                except (ssl.SSLError, OSError) as exc:
                    raise RtmpError(f"TLS with {t.host} failed: {_reason(exc)}") from exc
            self.sock = sock
            self._handshake()
            self._publish(metadata, deadline)
        except RtmpError:
            self.close()
            raise
        except AmfError as exc:
            self.close()
            raise RtmpError(f"{t.host}:{t.port} answered the RTMP session with {exc}") from exc
        except TimeoutError as exc:
            self.close()
            raise RtmpError(f"{t.host}:{t.port} did not answer the RTMP session in {CONNECT_TIMEOUT:.0f} s.") from exc
        except (OSError, struct.error, IndexError) as exc:
            self.close()
            raise RtmpError(f"RTMP session with {t.host}:{t.port} failed: {_reason(exc)}") from exc
        sock.settimeout(IO_TIMEOUT)

    def _handshake(self) -> None:
        assert self.sock is not None
        c1 = struct.pack(">II", int(time.monotonic() * 1000) & 0xFFFFFFFF, 0) + os.urandom(HANDSHAKE_SIZE - 8)
        self.sock.sendall(b"\x03" + c1)
        s0s1 = self._recv_exact(1 + HANDSHAKE_SIZE)
        if s0s1[0] != 3:
            raise RtmpError(f"{self.target.host} does not speak RTMP (version byte {s0s1[0]}).")
        self._recv_exact(HANDSHAKE_SIZE)  # S2, an echo of C1; servers differ in what they put there
        self.sock.sendall(s0s1[1:])  # C2 echoes S1

    def _publish(self, metadata: dict[str, Any], deadline: float) -> None:
        t = self.target
        self._send_message(MSG_SET_CHUNK_SIZE, 2, 0, struct.pack(">I", OUT_CHUNK_SIZE), 0)
        self._command(
            "connect",
            {
                "app": t.app,
                "type": "nonprivate",
                "flashVer": "FMLE/3.0 (compatible; StreamUs)",
                "tcUrl": t.tc_url,
            },
        )
        self._await_result("connect", deadline)
        self._command("releaseStream", None, t.key)
        self._command("FCPublish", None, t.key)
        self._command("createStream", None)
        result = self._await_result("createStream", deadline)
        self.stream_id = int(result[3]) if len(result) > 3 and isinstance(result[3], float) else 1
        self._command("publish", None, t.key, "live", stream_id=self.stream_id, csid=8)
        try:
            self._await_status("NetStream.Publish.Start", deadline)
        except PublishRefused:
            raise
        except RtmpError as exc:
            # Ingests (nginx-rtmp, Twitch) answer a key they do not accept by closing the connection.
            raise PublishRefused(
                f"{t.host} refused the stream key (it closed the connection when asked to publish). "
                "Check this destination's stream key, then save it again."
            ) from exc
        meta = b"".join(amf_encode(v) for v in ("@setDataFrame", "onMetaData")) + amf_ecma(metadata)
        self._send_message(MSG_DATA_AMF0, 8, self.stream_id, meta, 0)

    def _command(self, name: str, obj: Any, *args: Any, stream_id: int = 0, csid: int = 3) -> None:
        self._txn += 1
        payload = amf_encode(name) + amf_encode(float(self._txn)) + amf_encode(obj)
        payload += b"".join(amf_encode(a) for a in args)
        self._send_message(MSG_COMMAND_AMF0, csid, stream_id, payload, 0)

    def _await_result(self, what: str, deadline: float) -> list[Any]:
        txn = float(self._txn)
        while True:
            values = self._next_command(deadline)
            if values and values[0] == "_result" and len(values) > 1 and values[1] == txn:
                return values
            if values and values[0] == "_error":
                raise RtmpError(f"The server refused {what}: {_status_text(values)}")

    def _await_status(self, code: str, deadline: float) -> None:
        while True:
            values = self._next_command(deadline)
            if values and values[0] == "onStatus":
                info = values[3] if len(values) > 3 and isinstance(values[3], dict) else {}
                if info.get("code") == code:
                    return
                if info.get("level") == "error" or "Failed" in str(info.get("code", "")):
                    raise PublishRefused(
                        f"The server refused to publish ({info.get('code')}). Check this destination's stream key."
                    )
            elif values and values[0] == "_error":
                raise PublishRefused(
                    f"The server refused to publish ({_status_text(values)}). Check this destination's stream key."
                )

    def _next_command(self, deadline: float) -> list[Any]:
        assert self.sock is not None
        while True:
            if time.monotonic() > deadline:
                raise RtmpError(f"{self.target.host} did not answer the RTMP session in {CONNECT_TIMEOUT:.0f} s.")
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            msg = self._read_message()
            if msg is None:
                continue
            mtype, payload = msg
            if mtype == MSG_COMMAND_AMF0:
                return amf_decode_all(payload)

    # -- chunk stream reading (only used for the session setup and draining) --
    def _recv_exact(self, n: int) -> bytes:
        assert self.sock is not None
        while len(self._rx) < n:
            if self._buffered_only:
                raise _NeedMore
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RtmpError(f"{self.target.host} closed the connection.")
            self._rx += chunk
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def _read_message(self) -> tuple[int, bytes] | None:
        """Read one chunk; return (type, payload) when it completes a message."""
        b0 = self._recv_exact(1)[0]
        fmt, csid = b0 >> 6, b0 & 0x3F
        if csid == 0:
            csid = 64 + self._recv_exact(1)[0]
        elif csid == 1:
            lo, hi = self._recv_exact(2)
            csid = 64 + lo + hi * 256
        st = self._chunk_state.setdefault(csid, {"ts": 0, "len": 0, "type": 0, "sid": 0})
        if fmt <= 2:
            raw_ts = int.from_bytes(self._recv_exact(3), "big")
            if fmt <= 1:
                st["len"] = int.from_bytes(self._recv_exact(3), "big")
                st["type"] = self._recv_exact(1)[0]
            if fmt == 0:
                st["sid"] = struct.unpack("<I", self._recv_exact(4))[0]
            if raw_ts == 0xFFFFFF:
                self._recv_exact(4)
        partial = self._partial.setdefault(csid, bytearray())
        take = min(self.in_chunk_size, st["len"] - len(partial))
        partial += self._recv_exact(take)
        if len(partial) < st["len"]:
            return None
        payload = bytes(partial)
        partial.clear()
        if st["type"] == MSG_SET_CHUNK_SIZE:
            self.in_chunk_size = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
        return st["type"], payload

    def poll_incoming(self) -> None:
        """Read what the server sent (acks, pings, a final onStatus) without blocking, so its buffers never
        fill and a server that went away is noticed. Runs on the sending thread: an SSL socket must not be
        read and written from two threads at once."""
        sock = self.sock
        if sock is None or self.closed.is_set():
            return
        try:
            while True:
                readable, _, _ = select.select([sock], [], [], 0)
                pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
                if not readable and not pending:
                    break
                sock.setblocking(False)
                try:
                    data = sock.recv(65536)
                except (ssl.SSLWantReadError, BlockingIOError):
                    break
                finally:
                    sock.settimeout(IO_TIMEOUT)
                if not data:
                    raise RtmpError(f"{self.target.host} closed the connection.")
                self._rx += data
            self._parse_buffered()
        except (RtmpError, OSError, struct.error, IndexError, ValueError) as exc:
            self.close_reason = str(exc) if isinstance(exc, RtmpError) else f"Connection lost: {_reason(exc)}"
            self.closed.set()

    def _parse_buffered(self) -> None:
        self._buffered_only = True
        try:
            while self._rx:
                snapshot = (bytes(self._rx), copy.deepcopy(self._chunk_state), copy.deepcopy(self._partial))
                try:
                    msg = self._read_message()
                except _NeedMore:
                    self._rx = bytearray(snapshot[0])
                    self._chunk_state, self._partial = snapshot[1], snapshot[2]
                    return
                if msg and msg[0] == MSG_COMMAND_AMF0:
                    values = amf_decode_all(msg[1])
                    if values and values[0] == "onStatus":
                        info = values[3] if len(values) > 3 and isinstance(values[3], dict) else {}
                        if info.get("level") == "error":
                            raise RtmpError(f"The server ended the publish: {info.get('code')}")
        finally:
            self._buffered_only = False

    # -- sending --
    def _send_message(self, mtype: int, csid: int, stream_id: int, payload: bytes, timestamp: int) -> None:
        assert self.sock is not None
        data = self._chunks(mtype, csid, stream_id, payload, timestamp)
        with self._send_lock:
            self.sock.sendall(data)

    @staticmethod
    def _chunks(mtype: int, csid: int, stream_id: int, payload: bytes, timestamp: int) -> bytes:
        ts = timestamp & 0xFFFFFFFF
        extended = ts >= 0xFFFFFF
        header = bytes([csid & 0x3F])  # fmt 0
        header += (0xFFFFFF if extended else ts).to_bytes(3, "big")
        header += len(payload).to_bytes(3, "big") + bytes([mtype]) + struct.pack("<I", stream_id)
        ext = struct.pack(">I", ts) if extended else b""
        parts = [header, ext, payload[:OUT_CHUNK_SIZE]]
        cont = bytes([0xC0 | (csid & 0x3F)]) + ext
        for off in range(OUT_CHUNK_SIZE, len(payload), OUT_CHUNK_SIZE):
            parts.append(cont)
            parts.append(payload[off : off + OUT_CHUNK_SIZE])
        return b"".join(parts)

    def send(self, packet: MediaPacket) -> int:
        """Send one media packet; returns bytes sent. Raises RtmpError when the destination is gone or stalled."""
        self.poll_incoming()
        if self.closed.is_set():
            raise RtmpError(self.close_reason or "Connection closed.")
        csid = 4 if packet.kind == TAG_AUDIO else 6
        try:
            self._send_message(packet.kind, csid, self.stream_id, packet.data, packet.timestamp_ms)
        except TimeoutError as exc:
            raise RtmpError(f"{self.target.host} stopped reading for {IO_TIMEOUT:.0f} s.") from exc
        except OSError as exc:
            raise RtmpError(f"Connection lost: {_reason(exc)}") from exc
        return len(packet.data)

    def send_many(self, packets: Iterable[MediaPacket]) -> int:
        """Send a batch in one write (one syscall per batch, not per packet); returns payload bytes sent."""
        self.poll_incoming()
        if self.closed.is_set():
            raise RtmpError(self.close_reason or "Connection closed.")
        assert self.sock is not None
        total = 0
        parts = []
        for p in packets:
            parts.append(self._chunks(p.kind, 4 if p.kind == TAG_AUDIO else 6, self.stream_id, p.data, p.timestamp_ms))
            total += len(p.data)
        try:
            with self._send_lock:
                self.sock.sendall(b"".join(parts))
        except TimeoutError as exc:
            raise RtmpError(f"{self.target.host} stopped reading for {IO_TIMEOUT:.0f} s.") from exc
        except OSError as exc:
            raise RtmpError(f"Connection lost: {_reason(exc)}") from exc
        return total

    def close(self) -> None:
        self.closed.set()
        sock, self.sock = self.sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _status_text(values: list[Any]) -> str:
    info = values[3] if len(values) > 3 and isinstance(values[3], dict) else {}
    return str(info.get("code") or info.get("description") or "error")


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "no address"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return getattr(exc, "strerror", None) or exc.__class__.__name__
