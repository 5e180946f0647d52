"""AMF0, the encoding of RTMP's commands (connect, createStream, publish) and their answers."""

from __future__ import annotations

import struct
from typing import Any


class AmfError(ValueError):
    """Bytes that are not the AMF0 we understand."""


def amf_encode(value: Any) -> bytes:
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + (b"\x01" if value else b"\x00")
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        return b"\x02" + struct.pack(">H", len(raw)) + raw
    if isinstance(value, dict):
        out = bytearray(b"\x03")
        for k, v in value.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + amf_encode(v)
        return bytes(out) + b"\x00\x00\x09"
    raise TypeError(f"cannot AMF0-encode {type(value).__name__}")


def amf_decode_all(data: bytes) -> list[Any]:
    out: list[Any] = []
    pos = 0
    while pos < len(data):
        value, pos = _amf_decode(data, pos)
        out.append(value)
    return out


def _amf_decode(data: bytes, pos: int) -> tuple[Any, int]:
    marker = data[pos]
    pos += 1
    if marker == 0x00:
        return struct.unpack_from(">d", data, pos)[0], pos + 8
    if marker == 0x01:
        return data[pos] != 0, pos + 1
    if marker == 0x02:
        (n,) = struct.unpack_from(">H", data, pos)
        return data[pos + 2 : pos + 2 + n].decode(errors="replace"), pos + 2 + n
    if marker in (0x03, 0x08):
        if marker == 0x08:
            pos += 4
        obj: dict[str, Any] = {}
        while True:
            (n,) = struct.unpack_from(">H", data, pos)
            pos += 2
            if n == 0 and data[pos] == 0x09:
                return obj, pos + 1
            key = data[pos : pos + n].decode(errors="replace")
            obj[key], pos = _amf_decode(data, pos + n)
    if marker in (0x05, 0x06):
        return None, pos
    if marker == 0x0A:
        (count,) = struct.unpack_from(">I", data, pos)
        pos += 4
        items = []
        for _ in range(count):
            item, pos = _amf_decode(data, pos)
            items.append(item)
        return items, pos
    raise AmfError(f"unsupported AMF0 marker {marker:#x} from server")


def amf_ecma(obj: dict[str, Any]) -> bytes:
    out = bytearray(b"\x08" + struct.pack(">I", len(obj)))
    for k, v in obj.items():
        kb = k.encode()
        out += struct.pack(">H", len(kb)) + kb + amf_encode(v)
    return bytes(out) + b"\x00\x00\x09"
