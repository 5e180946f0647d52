"""Decoded media of many remote tracks through ONE subscription to the LiveKit SDK's event queue.

Why not `rtc.VideoStream` / `rtc.AudioStream` per track: in livekit-rtc (1.0.x) every native
event (each decoded video frame, each 10 ms of audio, of every track) is queued to every
subscriber of the FFI event queue, and each stream then drops the events that are not its own.
With ten guests (ten video + ten audio streams plus the room) that is ~20 wake-ups and filter
calls in Python per event: the cost grows with the square of the tracks, and in the live
benchmark it was more CPU than our renderer (bench/RESULTS.md, "Compositor, live").

Here one dispatcher task reads the queue once per event and hands it to its stream by handle
(a dict lookup). The streams are opened with the same FFI requests the SDK's classes send
(`new_video_stream` in I420 with normalized strides, `new_audio_stream` resampled to the
program's rate and channels). A video frame is not copied: its numpy view reads the native
buffer, which stays alive while the frame object does (its FFI handle is dropped with it).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from media.compositor.renderer import SourceFrame

log = logging.getLogger(__name__)

# 20 ms audio frames: half the events of the default 10 ms; the mixer pulls per video frame (33 ms) anyway.
AUDIO_FRAME_MS = 20

OnVideo = Callable[[SourceFrame], None]
OnAudio = Callable[[np.ndarray], None]


class _Stream:
    def __init__(self, handle: Any, on_frame: Callable[[Any], None], on_end: Callable[[], None] | None) -> None:
        self.handle = handle  # rtc FfiHandle: dropping it ends the native stream
        self.on_frame = on_frame
        self.on_end = on_end


class TrackReceiver:
    """Opens video/audio streams on remote tracks and delivers their frames from one dispatcher task.

    All methods are called on `loop`'s thread (the compositor's receive thread).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        from livekit.rtc._ffi_client import FfiClient

        self._loop = loop
        self._ffi = FfiClient.instance
        self._queue = self._ffi.queue.subscribe(loop)
        self._streams: dict[int, _Stream] = {}
        self._closed: set[int] = set()  # closed by us, frames may still be in flight: free them on arrival
        self._task = loop.create_task(self._dispatch())
        self.events = 0  # every event the dispatcher saw (benchmarks: what the queue costs)

    def open_video(self, track: Any, on_frame: OnVideo, on_end: Callable[[], None] | None = None) -> int:
        from livekit.rtc._proto import ffi_pb2, video_frame_pb2

        request = ffi_pb2.FfiRequest()
        request.new_video_stream.track_handle = track._ffi_handle.handle
        request.new_video_stream.type = video_frame_pb2.VideoStreamType.VIDEO_STREAM_NATIVE
        request.new_video_stream.format = video_frame_pb2.VideoBufferType.I420
        request.new_video_stream.normalize_stride = True
        owned = self._ffi.request(request).new_video_stream.stream
        return self._register(owned.handle.id, lambda event: self._video_frame(event, on_frame), on_end)

    def open_audio(
        self,
        track: Any,
        on_samples: OnAudio,
        *,
        sample_rate: int,
        channels: int,
        on_end: Callable[[], None] | None = None,
    ) -> int:
        from livekit.rtc._proto import audio_frame_pb2, ffi_pb2

        request = ffi_pb2.FfiRequest()
        request.new_audio_stream.track_handle = track._ffi_handle.handle
        request.new_audio_stream.type = audio_frame_pb2.AudioStreamType.AUDIO_STREAM_NATIVE
        request.new_audio_stream.sample_rate = sample_rate
        request.new_audio_stream.num_channels = channels
        request.new_audio_stream.frame_size_ms = AUDIO_FRAME_MS
        owned = self._ffi.request(request).new_audio_stream.stream
        return self._register(owned.handle.id, lambda event: self._audio_frame(event, on_samples), on_end)

    def close(self, stream_id: int) -> None:
        """Stop one stream (idempotent); its native side ends when the handle is dropped."""
        stream = self._streams.pop(stream_id, None)
        if stream is not None:
            self._closed.add(stream_id)
            stream.handle.dispose()

    def aclose(self) -> None:
        for stream_id in list(self._streams):
            self.close(stream_id)
        self._task.cancel()
        self._ffi.queue.unsubscribe(self._queue)

    # --- dispatch -------------------------------------------------------------------

    def _register(self, stream_id: int, on_frame: Callable[[Any], None], on_end: Callable[[], None] | None) -> int:
        from livekit.rtc._ffi_client import FfiHandle

        self._streams[stream_id] = _Stream(FfiHandle(stream_id), on_frame, on_end)
        return stream_id

    async def _dispatch(self) -> None:
        queue = self._queue
        while True:
            event = await queue.get()
            self.events += 1
            which = event.WhichOneof("message")
            if which == "video_stream_event":
                inner = event.video_stream_event
            elif which == "audio_stream_event":
                inner = event.audio_stream_event
            else:
                continue  # room events and the rest: the Room object has its own subscription
            stream = self._streams.get(inner.stream_handle)
            kind = inner.WhichOneof("message")
            if stream is None:
                # Not ours (an SDK stream elsewhere in the process frees its own), or ours and closed already.
                if inner.stream_handle in self._closed:
                    if kind == "frame_received":
                        self._free(inner, video=which == "video_stream_event")
                    elif kind == "eos":
                        self._closed.discard(inner.stream_handle)
                continue
            if kind == "frame_received":
                try:
                    stream.on_frame(inner.frame_received)
                except Exception:  # one bad frame must not stop every other track
                    log.exception("compositor: a received frame could not be used")
            elif kind == "eos":
                self._streams.pop(inner.stream_handle, None)
                if stream.on_end is not None:
                    stream.on_end()

    @staticmethod
    def _free(inner: Any, *, video: bool) -> None:
        from livekit.rtc._ffi_client import FfiHandle

        received = inner.frame_received
        owned = received.buffer if video else received.frame
        FfiHandle(owned.handle.id).dispose()

    @staticmethod
    def _video_frame(received: Any, on_frame: OnVideo) -> None:
        from livekit.rtc._ffi_client import FfiHandle

        owned = received.buffer
        keep = FfiHandle(owned.handle.id)  # dropped (native buffer freed) with the last reference to the frame
        info = owned.info
        w, h = info.width, info.height
        if w % 2 or h % 2:
            return  # odd sizes do not happen with WebRTC encoders; skip rather than mis-stride
        size = w * h * 3 // 2
        data = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(info.data_ptr))
        on_frame(SourceFrame(w, h, data, time.monotonic(), keep))

    @staticmethod
    def _audio_frame(received: Any, on_samples: OnAudio) -> None:
        from livekit.rtc._ffi_client import FfiHandle

        owned = received.frame
        keep = FfiHandle(owned.handle.id)
        info = owned.info
        count = info.samples_per_channel * info.num_channels
        samples = np.ctypeslib.as_array((ctypes.c_int16 * count).from_address(info.data_ptr))
        # The mixer keeps samples past this call: copy, then free the native buffer at once.
        on_samples(samples.reshape(-1, info.num_channels).copy())
        keep.dispose()
