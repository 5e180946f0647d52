"""Encoded media as it travels from the encoder to the pushers and the recorder: FLV-shaped packets.

A packet's `data` is exactly an FLV tag body (video: AVC packet with composition time; audio: AAC),
so the RTMP session sends it as a message and the recorder writes it as a tag, unchanged.
H.264 helpers turn the encoder's Annex B output into the AVCC form FLV carries.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# FLV tag types, which are also the RTMP message types that carry them.
TAG_AUDIO = 8
TAG_VIDEO = 9


@dataclass(frozen=True, slots=True)
class MediaPacket:
    """One encoded audio or video packet as an FLV tag body (what RTMP carries)."""

    kind: int  # TAG_AUDIO or TAG_VIDEO
    timestamp_ms: int  # decode time on the show's timeline
    data: bytes
    keyframe: bool = False
    header: bool = False  # a sequence header (codec config), not media
    seq: int = 0  # position in the show, stamped by the fan-out; lets a joining pusher splice without gaps


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01)."""
    nals: list[bytes] = []
    i, n = 0, len(data)
    starts: list[int] = []
    while i + 3 <= n:
        if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
            starts.append(i + 3)
            i += 3
        else:
            i += 1
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else n
        nal = data[s:end]
        # a 4-byte start code leaves a trailing zero on the previous NAL
        if k + 1 < len(starts) and nal.endswith(b"\x00"):
            nal = nal.rstrip(b"\x00")
        if nal:
            nals.append(nal)
    return nals


def is_annexb(data: bytes) -> bool:
    return data.startswith(b"\x00\x00\x00\x01") or data.startswith(b"\x00\x00\x01")


def avcc_from_extradata(extradata: bytes) -> bytes:
    """AVCDecoderConfigurationRecord from encoder extradata (Annex B SPS/PPS, or already avcC)."""
    if not is_annexb(extradata):
        return extradata
    nals = split_annexb(extradata)
    sps = [n for n in nals if n[0] & 0x1F == 7]
    pps = [n for n in nals if n[0] & 0x1F == 8]
    if not sps or not pps:
        raise ValueError("H.264 extradata has no SPS/PPS")
    out = bytearray([1, sps[0][1], sps[0][2], sps[0][3], 0xFF, 0xE0 | len(sps)])
    for s in sps:
        out += struct.pack(">H", len(s)) + s
    out.append(len(pps))
    for p in pps:
        out += struct.pack(">H", len(p)) + p
    return bytes(out)


def avc_payload(data: bytes) -> bytes:
    """Length-prefixed NAL units (what FLV/MP4 carry) from an encoder packet."""
    if not is_annexb(data):
        return data
    return b"".join(struct.pack(">I", len(n)) + n for n in split_annexb(data) if n[0] & 0x1F not in (7, 8, 9))
