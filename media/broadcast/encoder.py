"""The one encode of a show: raw I420 + PCM in, FLV-ready H.264/AAC packets out.

Every pusher and the recorder receive the same packet objects; nothing is
encoded per destination. Keyframes come at a fixed interval (2 s, what the
big platforms ask for) with scene-cut keyframes off, so every destination and
the recording cut GOPs at the same places.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
from av.video.frame import PictureType

from media.broadcast.flv import flv_audio, flv_audio_header, flv_video, flv_video_header
from media.broadcast.packet import MediaPacket, avcc_from_extradata

KEYFRAME_SECONDS = 2
GLOBAL_HEADER = 1 << 22  # AV_CODEC_FLAG_GLOBAL_HEADER: codec config in extradata, as FLV and MP4 want


class Encoder:
    def __init__(
        self,
        *,
        width: int,
        height: int,
        fps: int,
        video_kbps: int,
        audio_kbps: int,
        sample_rate: int = 48000,
        channels: int = 2,
        codec: str = "libx264",
        preset: str = "veryfast",
        threads: int = 0,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.sample_rate, self.channels = sample_rate, channels
        self.codec, self.preset, self.threads = codec, preset, threads
        self.video_kbps = video_kbps
        self.video = self._open_video(width, height, preset)
        a = av.CodecContext.create("aac", "w")
        assert isinstance(a, av.AudioCodecContext)
        a.sample_rate = sample_rate
        a.layout = "stereo" if channels == 2 else "mono"
        a.format = "fltp"
        a.bit_rate = audio_kbps * 1000
        a.time_base = Fraction(1, sample_rate)
        a.flags = int(a.flags) | GLOBAL_HEADER
        a.open()
        self.audio = a
        self._audio_samples = 0
        self._video_frames = 0
        self._key_slot: int | None = None  # timestamp (slot) of the last keyframe asked for
        self._layout = "stereo" if channels == 2 else "mono"

    def _open_video(self, width: int, height: int, preset: str) -> av.VideoCodecContext:
        fps, video_kbps = self.fps, self.video_kbps
        v = av.CodecContext.create(self.codec, "w")
        assert isinstance(v, av.VideoCodecContext)
        v.width, v.height = width, height
        v.pix_fmt = "yuv420p"
        # The time base is the slot: a frame's timestamp is its slot on the wall clock, so a dropped slot
        # leaves a gap in the timestamps instead of slowing the program down.
        v.time_base = Fraction(1, fps)
        v.framerate = Fraction(fps, 1)
        v.bit_rate = video_kbps * 1000
        v.gop_size = fps * KEYFRAME_SECONDS
        v.max_b_frames = 0
        v.flags = int(v.flags) | GLOBAL_HEADER
        if self.threads:
            v.thread_count = self.threads
        if self.codec == "libx264":
            # CBR-ish with a 2 s VBV: what ingest servers expect; zerolatency drops lookahead delay.
            v.options = {
                "preset": preset,
                "tune": "zerolatency",
                "x264-params": (
                    f"keyint={fps * KEYFRAME_SECONDS}:min-keyint={fps * KEYFRAME_SECONDS}:scenecut=0:"
                    f"vbv-maxrate={video_kbps}:vbv-bufsize={video_kbps * 2}:bframes=0"
                ),
            }
        v.open()
        return v

    def reconfigure(self, *, width: int, height: int, preset: str) -> list[MediaPacket]:
        """A step down (or back up): a new video encoder at this size and preset, the audio encoder kept.

        Returns what the old video encoder still held. The caller sends the new ``headers()`` next; the new
        encoder's first frame is a keyframe."""
        rest = [self._video_packet(p) for p in self.video.encode(None)]
        self.video = self._open_video(width, height, preset)
        self._key_slot = None
        self.width, self.height, self.preset = width, height, preset
        return rest

    def force_keyframe(self) -> None:
        """The next picture is a keyframe (a new recording part starts with one, not up to a GOP later)."""
        self._key_slot = None

    def headers(self) -> list[MediaPacket]:
        """Codec configuration, sent first on every (re)connect and at the start of the recording."""
        return [
            flv_video_header(avcc_from_extradata(bytes(self.video.extradata or b""))),
            flv_audio_header(bytes(self.audio.extradata or b"")),
        ]

    def encode(
        self,
        video: np.ndarray | None,
        audio: np.ndarray,
        *,
        slot: int | None = None,
        size: tuple[int, int] | None = None,
    ) -> list[MediaPacket]:
        """Encode one frame slot: its picture (None: dropped, audio only) at timestamp `slot` / fps, and its audio.

        `size` is the picture's own size when it differs from the encoder's (a resolution step scales it)."""
        out: list[MediaPacket] = []
        if video is not None:
            pts = self._video_frames if slot is None else slot
            width, height = size or (self.width, self.height)
            frame = av.VideoFrame.from_ndarray(video.reshape(height * 3 // 2, width), format="yuv420p")
            if (width, height) != (self.width, self.height):
                frame = frame.reformat(width=self.width, height=self.height, interpolation="BILINEAR")
            frame.pts = pts
            frame.time_base = self.video.time_base
            # Keyframes every KEYFRAME_SECONDS of timestamps, not of frames: when slots are dropped a GOP counted
            # in frames would stretch past what ingests accept.
            if self._key_slot is None or pts - self._key_slot >= self.fps * KEYFRAME_SECONDS:
                frame.pict_type = PictureType.I
                self._key_slot = pts
            self._video_frames = pts + 1
            out = [self._video_packet(p) for p in self.video.encode(frame)]
        if audio.size:
            samples = np.ascontiguousarray(audio, dtype=np.int16).reshape(1, -1)
            aframe = av.AudioFrame.from_ndarray(samples, format="s16", layout=self._layout)
            aframe.sample_rate = self.sample_rate
            aframe.pts = self._audio_samples
            aframe.time_base = Fraction(1, self.sample_rate)
            self._audio_samples += audio.shape[0]
            out.extend(self._audio_packet(p) for p in self.audio.encode(aframe))
        out.sort(key=lambda p: p.timestamp_ms)
        return out

    def flush(self) -> list[MediaPacket]:
        out = [self._video_packet(p) for p in self.video.encode(None)]
        out.extend(self._audio_packet(p) for p in self.audio.encode(None))
        out.sort(key=lambda p: p.timestamp_ms)
        return out

    def _video_packet(self, p: av.Packet) -> MediaPacket:
        dts = p.dts if p.dts is not None else (p.pts or 0)
        pts = p.pts if p.pts is not None else dts
        dts_ms = round(float(dts * p.time_base) * 1000)
        pts_ms = round(float(pts * p.time_base) * 1000)
        return flv_video(bytes(p), max(0, dts_ms), pts_ms - dts_ms, p.is_keyframe)

    def _audio_packet(self, p: av.Packet) -> MediaPacket:
        ts_ms = round(float((p.pts or 0) * p.time_base) * 1000)
        return flv_audio(bytes(p), max(0, ts_ms))

    @property
    def metadata(self) -> dict[str, object]:
        return {
            "width": self.width,
            "height": self.height,
            "framerate": self.fps,
            "videocodecid": 7,
            "videodatarate": (self.video.bit_rate or 0) / 1000,
            "audiocodecid": 10,
            "audiosamplerate": self.sample_rate,
            "audiodatarate": (self.audio.bit_rate or 0) / 1000,
            "stereo": self.channels == 2,
            "encoder": "StreamUs",
        }
