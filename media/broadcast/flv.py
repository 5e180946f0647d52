"""FLV: tag bodies for H.264/AAC packets, the file header and tags (the recorder's FLV and the RTMP payloads)."""

from __future__ import annotations

import struct

from media.broadcast.packet import TAG_AUDIO, TAG_VIDEO, MediaPacket, avc_payload


def flv_video_header(avcc: bytes) -> MediaPacket:
    return MediaPacket(TAG_VIDEO, 0, b"\x17\x00\x00\x00\x00" + avcc, keyframe=True, header=True)


def flv_audio_header(asc: bytes) -> MediaPacket:
    return MediaPacket(TAG_AUDIO, 0, b"\xaf\x00" + asc, header=True)


def flv_video(data: bytes, dts_ms: int, cts_ms: int, keyframe: bool) -> MediaPacket:
    first = 0x17 if keyframe else 0x27
    cts = struct.pack(">i", cts_ms)[1:]
    return MediaPacket(TAG_VIDEO, dts_ms, bytes([first, 1]) + cts + avc_payload(data), keyframe=keyframe)


def flv_audio(data: bytes, ts_ms: int) -> MediaPacket:
    return MediaPacket(TAG_AUDIO, ts_ms, b"\xaf\x01" + data)


def flv_file_header() -> bytes:
    return b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"


def flv_tag(packet: MediaPacket) -> bytes:
    ts = packet.timestamp_ms & 0xFFFFFFFF
    size = len(packet.data)
    head = bytes([packet.kind]) + size.to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big") + bytes([ts >> 24])
    return head + b"\x00\x00\x00" + packet.data + struct.pack(">I", size + 11)
