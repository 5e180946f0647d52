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

from workers.broadcast.rtmp import (
    MediaPacket,
    avcc_from_extradata,
    flv_audio,
    flv_audio_header,
    flv_video,
    flv_video_header,
)

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
        v = av.CodecContext.create(codec, "w")
        assert isinstance(v, av.VideoCodecContext)
        v.width, v.height = width, height
        v.pix_fmt = "yuv420p"
        v.time_base = Fraction(1, fps)
        v.framerate = Fraction(fps, 1)
        v.bit_rate = video_kbps * 1000
        v.gop_size = fps * KEYFRAME_SECONDS
        v.max_b_frames = 0
        v.flags = int(v.flags) | GLOBAL_HEADER
        if threads:
            v.thread_count = threads
        if codec == "libx264":
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
        self.video = v
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
        self._layout = "stereo" if channels == 2 else "mono"

    def headers(self) -> list[MediaPacket]:
        """Codec configuration, sent first on every (re)connect and at the start of the recording."""
        return [
            flv_video_header(avcc_from_extradata(bytes(self.video.extradata or b""))),
            flv_audio_header(bytes(self.audio.extradata or b"")),
        ]

    def encode(self, video: np.ndarray, audio: np.ndarray) -> list[MediaPacket]:
        frame = av.VideoFrame.from_ndarray(video.reshape(self.height * 3 // 2, self.width), format="yuv420p")
        frame.pts = self._video_frames
        frame.time_base = self.video.time_base
        self._video_frames += 1
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
