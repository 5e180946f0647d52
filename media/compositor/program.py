"""The live compositor: a hidden LiveKit participant that turns the room into one or two programs.

    room (LiveKit) ──► receive thread (asyncio: rtc.Room; receive.TrackReceiver dispatches every
                          │ subscribed track's decoded frames from one FFI subscription)
                          │ latest I420 frame per source, audio into each canvas's mixer
                          ▼
    engine frame thread ──► CanvasProgram.read(): render the scene graph (renderer.py)
                            from the latest frames + pull the mix for exactly this frame

    scene thread: Redis (apps.studio.scene: SET + PUBLISH) ──► set_scene()

Rules it keeps:

* subscribes only to what is on stage: cameras and screens that have a tile,
  microphones of on-stage people; backstage costs no decode. Each video
  subscription asks the SFU for the simulcast layer that fits its largest tile;
* `read` never waits on the network and never touches the database: it
  renders from whatever frames have arrived (name card for a silent source);
* a new scene applies on the next frame read, with a cut or a fade;
* audio and video come from one clock: frame n carries samples
  [n·rate/fps, (n+1)·rate/fps) of the mix.

`CompositorSession` is the room connection; `session.program("landscape")`
and `session.program("vertical")` are ProgramSources for the broadcast engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from PIL import Image

from media.broadcast.source import ProgramFrame, ProgramSource
from media.broadcast.supervise import name_native_thread
from media.compositor.mixer import Mixer
from media.compositor.playback import ClipPlayer
from media.compositor.receive import TrackReceiver
from media.compositor.renderer import Renderer, SourceFrame

log = logging.getLogger(__name__)

# start() waits this long for the first join (well under a second when LiveKit is up); after that the
# show goes on (the engine sends its slate while `read` has nothing) and joining is retried in the
# background. Go-live must not hang on a LiveKit that is down: destinations would time out waiting.
CONNECT_TIMEOUT = 5.0
# Between our own attempts to join (LiveKit down: connection refused, at once). Capped at 2 s: a LiveKit that
# comes back is rejoined within about that, and a try every 2 s costs LiveKit nothing.
RECONNECT_BACKOFF = (0.5, 1.0, 2.0)
# The SDK resumes a dropped connection by itself, with its own attempts seconds apart (and a restarted LiveKit
# refuses a resume): a room still reconnecting after this long is left, and joined afresh by the loop below.
SDK_RECONNECT_PATIENCE = 2.0
SCREEN_SUFFIX = ":screen"
# The scene graph's source name of the clip layer (apps.studio.playback.clip_layer).
PLAYBACK_SOURCE = "playback"
# How often the remaining time of a playing clip is reported (the studio's countdown).
PROGRESS_INTERVAL = 1.0


def _clip_rect(graph: Mapping[str, Any]) -> tuple[int, int] | None:
    for layer in graph.get("layers", ()):
        if layer["kind"] == "clip":
            return int(layer["rect"]["w"]), int(layer["rect"]["h"])
    return None


def without_clip(graph: Mapping[str, Any]) -> dict[str, Any]:
    """The live layout under a clip: the same graph without its clip layer."""
    return {**graph, "layers": [layer for layer in graph.get("layers", ()) if layer["kind"] != "clip"]}


def _graph_sources(graphs: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """Video source → the largest tile it has on any canvas (what its simulcast layer must fill)."""
    sizes: dict[str, tuple[int, int]] = {}
    for graph in graphs.values():
        for layer in graph.get("layers", ()):
            if layer["kind"] in ("video", "screen") and layer.get("source"):
                w, h = layer["rect"]["w"], layer["rect"]["h"]
                old = sizes.get(layer["source"], (0, 0))
                sizes[layer["source"]] = (max(old[0], w), max(old[1], h))
    return sizes


def _on_stage(graphs: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Identities whose microphones we receive: the people with a camera tile or in the mix (not a
    backstage presenter whose screen alone is shown)."""
    people: set[str] = set()
    for graph in graphs.values():
        people.update(layer["source"] for layer in graph.get("layers", ()) if layer["kind"] == "video")
        people.update(graph.get("audio", ()))
    return people


class CanvasProgram(ProgramSource):
    """One canvas of the show as a ProgramSource (workers/broadcast/source.py has the contract)."""

    def __init__(
        self,
        session: CompositorSession,
        name: str,
        width: int,
        height: int,
        fps: int,
        *,
        sample_rate: int,
        channels: int,
        load_asset: Callable[[str], Image.Image | None] | None,
    ) -> None:
        self.session, self.name = session, name
        self.width, self.height, self.fps = width, height, fps
        self.sample_rate, self.channels = sample_rate, channels
        self.renderer = Renderer(width, height, load_asset=load_asset)
        self.mixer = Mixer(sample_rate=sample_rate, channels=channels)
        self._frame_index = 0
        self._graph: dict[str, Any] = {"width": width, "height": height, "layers": [], "audio": []}
        self._previous: dict[str, Any] | None = None
        self._fade_frames = 0
        self._fade_start = 0
        self._lock = threading.Lock()
        self._running = False
        self._out = self.renderer.new_frame()
        self._clip_last: SourceFrame | None = None  # held through a fade out of the clip

    def set_graph(self, graph: dict[str, Any], transition: Mapping[str, Any] | None) -> None:
        with self._lock:
            if graph == self._graph:
                # The same picture re-sent (the stored scene catching up after a clip ended here): a running
                # fade goes on rather than being cut short.
                return
            fade_ms = int((transition or {}).get("duration_ms", 0)) if (transition or {}).get("kind") == "fade" else 0
            self._previous = self._graph if fade_ms > 0 else None
            self._fade_frames = max(1, round(fade_ms * self.fps / 1000)) if fade_ms > 0 else 0
            self._fade_start = self._frame_index
            self._graph = graph

    @property
    def graph(self) -> dict[str, Any]:
        return self._graph

    def start(self) -> None:
        self._running = True
        self.session.start(self.session.join_wait)

    def stop(self) -> None:
        """Idempotent. The room connection closes when the last canvas of the show stops."""
        self._running = False
        self.renderer.close()  # its card painter thread, if a card was ever shown
        self.session.program_stopped()

    def read(self, timeout: float) -> ProgramFrame | None:
        if not self._running or not self.session.connected:
            time.sleep(min(timeout, 0.005))
            return None
        now = time.monotonic()
        frames = self.session.latest_frames()
        follower = self.session.card_follower
        self.renderer.comment_card = follower.card if follower is not None else None
        n = self._frame_index
        samples = self.sample_rate * (n + 1) // self.fps - self.sample_rate * n // self.fps
        clip_audio = self._play_clip(frames, samples)
        with self._lock:
            graph, previous = self._graph, self._previous
            progress = (self._frame_index - self._fade_start + 1) / self._fade_frames if previous is not None else 1.0
            if previous is not None and progress >= 1.0:
                self._previous = previous = None
        if PLAYBACK_SOURCE not in frames and _clip_rect(graph) is not None:
            graph = without_clip(graph)  # the clip's first picture is not decoded yet: the layout meanwhile
        video = self.renderer.render(graph, frames, now=now, texts=self.session.texts, out=self._out)
        if previous is not None:
            before = self.renderer.render(previous, frames, now=now, texts=self.session.texts)
            video = Renderer.fade(before, video, progress)
        else:
            video = video.copy()  # the engine may hold the frame while we draw the next one
        audio = self.mixer.pull(samples, graph.get("audio", ()))
        if clip_audio is not None:
            audio = np.clip(audio.astype(np.int32) + clip_audio, -32768, 32767).astype(np.int16)
        self._frame_index += 1
        return ProgramFrame(video=video, audio=audio, pts=n / self.fps)

    def live_sources(self) -> int | None:
        return len(self.session.latest_frames())

    def skip(self, samples: int) -> np.ndarray | None:
        """The engine drops this slot's picture (it is behind the clock): the mix and the clip go on, the
        fade advances, nothing is drawn."""
        if not self._running or not self.session.connected:
            return None
        clip_audio = self._play_clip({}, samples)
        with self._lock:
            graph = self._graph
        audio = self.mixer.pull(samples, graph.get("audio", ()))
        if clip_audio is not None:
            audio = np.clip(audio.astype(np.int32) + clip_audio, -32768, 32767).astype(np.int16)
        self._frame_index += 1
        return audio

    def _play_clip(self, frames: dict[str, SourceFrame], samples: int) -> np.ndarray | None:
        """This frame's picture (into `frames`) and audio of the playing clip; at its end, back to the layout."""
        player = self.session.player
        with self._lock:
            showing = _clip_rect(self._graph) is not None or (
                self._previous is not None and _clip_rect(self._previous) is not None
            )
        if not showing:
            self._clip_last = None
            return None
        clip_audio = None
        if player is not None and player.finished(self.name):
            if _clip_rect(self._graph) is not None:  # a scene change re-sent the clip this canvas has played
                self.session.clip_finished(self.name, player)
        elif player is not None:
            picture, clip_audio, finished = player.read(self.name, samples)
            self._clip_last = picture or self._clip_last
            if finished:
                self.session.clip_finished(self.name, player)
        if self._clip_last is not None:
            frames[PLAYBACK_SOURCE] = self._clip_last
        return clip_audio


class CompositorSession:
    """The hidden participant: receives on-stage media, keeps the latest of each, feeds the canvases."""

    def __init__(
        self,
        *,
        url: str,
        token: str | Callable[[], str],
        canvases: Mapping[str, tuple[int, int]],
        fps: int,
        state: Mapping[str, Any] | None = None,
        redis_url: str | None = None,
        scene_key: str | None = None,
        load_asset: Callable[[str], Image.Image | None] | None = None,
        card_key: str | None = None,
        sample_rate: int = 48000,
        channels: int = 2,
        on_playback: Callable[[dict[str, Any]], None] | None = None,
        open_clip: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> None:
        # `token` may be a callable: it runs off the event loop before every (re)join, so it may block (open the
        # room: a restarted SFU has forgotten every room, and rooms are not created on join).
        self.url, self.token = url, token
        # Playback of library clips (workers/compositor/playback.py): the player of the scene's "playback",
        # its progress reported through `on_playback` on a thread of its own (never the frame loop).
        self.player: ClipPlayer | None = None
        self.on_playback, self.open_clip = on_playback, open_clip
        self.fps = fps
        self._finished_playbacks: set[str] = set()
        self._player_lock = threading.Lock()
        # The on-screen comment card (apps.engagement): followed from Redis on its own thread.
        self.card_follower: Any = None
        if redis_url and card_key:
            from media.scene.card_render import CardFollower

            self.card_follower = CardFollower(redis_url, card_key)
        self.redis_url, self.scene_key = redis_url, scene_key
        self.programs = {
            name: CanvasProgram(
                self, name, w, h, fps, sample_rate=sample_rate, channels=channels, load_asset=load_asset
            )
            for name, (w, h) in canvases.items()
        }
        self.texts: dict[str, str] = {}
        self._load_asset = load_asset
        self._frames: dict[str, SourceFrame] = {}
        self._frames_lock = threading.Lock()
        self._received: dict[str, int] = {}  # source → frames received since it was subscribed (health)
        self._wanted: dict[str, tuple[int, int]] = {}
        self._people: set[str] = set()
        self._version = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._scene_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._room: Any = None
        self._receiver: TrackReceiver | None = None  # created on the receive thread, lives as long as the session
        self._streams: dict[str, int] = {}  # track sid → its stream in the receiver
        self._stay_task: asyncio.Task | None = None  # the join/rejoin loop
        self._reconnecting_since: float | None = None  # monotonic time the SDK began resuming the room
        self.connected = False
        # How long starting the first canvas waits for the join. A resumed show waits not at all: its
        # destinations get the slate at once instead of nothing until the room answers.
        self.join_wait = CONNECT_TIMEOUT
        self._joined = threading.Event()
        self.subscribed: set[str] = set()  # "identity:kind" currently subscribed (for tests and health)
        if state is not None:
            self.set_scene(state)

    # --- scene ------------------------------------------------------------------------

    def program(self, name: str = "landscape") -> CanvasProgram:
        return self.programs[name]

    def set_scene(self, state: Mapping[str, Any]) -> None:
        """Apply a scene state (apps.studio.scene.scene_state); older versions are ignored."""
        version = int(state.get("version", self._version + 1))
        if version < self._version:
            return  # an older scene (a late message, a previous show's key): never go back
        self._version = version
        # A loader that knows asset names (show.AssetLoader) learns the new ones before any frame needs them.
        learn = getattr(self._load_asset, "update", None)
        if callable(learn):
            learn(state.get("assets") or {})
        canvases = state.get("canvases") or {}
        transition = (state.get("scene") or {}).get("transition")
        playback = (state.get("scene") or {}).get("playback") or None
        if playback is not None and playback.get("id") in self._finished_playbacks:
            # Played to its end here already: the stored scene catches up later; show the layout meanwhile.
            canvases = {name: without_clip(graph) for name, graph in canvases.items()}
            playback = None
        changed = self._follow_playback(playback, canvases)
        if changed is not None:
            transition = changed
        graphs = {}
        for name, program in self.programs.items():
            graph = canvases.get(name)
            if graph is not None:
                program.set_graph(graph, transition)
            graphs[name] = program.graph
        self._wanted = _graph_sources(graphs)
        self._people = _on_stage(graphs)
        if self._loop is not None and self.connected:
            self._loop.call_soon_threadsafe(self._sync_subscriptions)

    def _follow_playback(
        self, playback: Mapping[str, Any] | None, canvases: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Any] | None:
        """Start or stop the clip player when the scene's playback changes; returns the transition to use then."""
        with self._player_lock:
            old = self.player
            new_id = (playback or {}).get("id")
            if (old.id if old is not None else None) == new_id:
                return None
            self.player = None
            if old is not None:
                old.stop()
            if playback is None:
                return old.transition if old is not None else None
            sizes = {
                name: rect
                for name, graph in canvases.items()
                if name in self.programs and (rect := _clip_rect(graph)) is not None
            }
            first = next(iter(self.programs.values()))
            player = ClipPlayer(
                playback.get("items") or [],
                sizes=sizes,
                fps=self.fps,
                sample_rate=first.sample_rate,
                channels=first.channels,
                playback_id=str(new_id),
                transition=playback.get("transition"),
                opener=self.open_clip,
            )
            self.player = player.start()
        if self.on_playback is not None:
            threading.Thread(
                target=self._report, args=(player,), name="compositor-playback-progress", daemon=True
            ).start()
        return dict(player.transition)

    def clip_finished(self, canvas: str, player: ClipPlayer) -> None:
        """A canvas played the clip to its end: back to its layout with the playback's transition."""
        program = self.programs[canvas]
        program.set_graph(without_clip(program.graph), player.transition)
        if all(player.finished(name) or not p._running for name, p in self.programs.items() if name in player.sizes):
            with self._player_lock:
                self._finished_playbacks.add(player.id)
                if self.player is player:
                    self.player = None
            player.stop()

    def _report(self, player: ClipPlayer) -> None:
        """Once a second while the clip plays: where it is and what is left (the studio's countdown)."""
        assert self.on_playback is not None
        while not self._stop.is_set() and self.player is player and not player.stopped:
            try:
                self.on_playback({"event": "progress", **player.progress()})
            except Exception:  # noqa: BLE001 - a lost progress report must not stop the next one
                log.warning("playback progress not reported", exc_info=True)
            player.wait_stopped(PROGRESS_INTERVAL)  # wakes at once when the clip ends or is stopped
        try:
            ended = player.id in self._finished_playbacks
            self.on_playback({"event": "ended" if ended else "stopped", **player.progress()})
        except Exception:  # noqa: BLE001
            log.warning("playback end not reported", exc_info=True)

    def latest_frames(self) -> dict[str, SourceFrame]:
        with self._frames_lock:
            return dict(self._frames)

    # --- lifecycle --------------------------------------------------------------------

    def start(self, timeout: float = CONNECT_TIMEOUT) -> bool:
        """Join the room (once, whichever canvas starts first). Waits up to `timeout` for the first join and
        returns whether it happened; otherwise joining goes on in the background until `stop()`."""
        with self._start_lock:
            if self._thread is not None:
                return self.connected
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._run_loop, name="compositor-rtc", daemon=True)
            self._thread.start()
            self._joined = threading.Event()
            asyncio.run_coroutine_threadsafe(self._stay_connected(), self._loop)
            if self.redis_url and self.scene_key:
                self._scene_thread = threading.Thread(target=self._watch_scene, name="compositor-scene", daemon=True)
                self._scene_thread.start()
            if self.card_follower is not None:
                self.card_follower.start()
        if not self._joined.wait(timeout):
            log.warning("compositor: not in the room after %.0f s; still trying", timeout)
        return self.connected

    def _run_loop(self) -> None:
        name_native_thread()
        assert self._loop is not None
        self._loop.run_forever()

    def program_stopped(self) -> None:
        if not any(program._running for program in self.programs.values()):
            self.stop()

    def stop(self) -> None:
        """Idempotent: leave the room, stop the threads."""
        with self._start_lock:
            if self._stop.is_set():
                return
            self._stop.set()
        for program in self.programs.values():
            program._running = False
        if self.player is not None:
            self.player.stop()
        if self._loop is not None and self._loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._scene_thread is not None:
            self._scene_thread.join(timeout=5)
        if self.card_follower is not None:
            self.card_follower.stop()
        self.connected = False

    # --- the receive side (runs on the session's event loop) ---------------------------

    async def _stay_connected(self) -> None:
        """Join, and join again whenever the room drops us (SFU restart, network), with backoff."""
        self._stay_task = asyncio.current_task()
        attempt = 0
        while not self._stop.is_set():
            since = self._reconnecting_since
            if self.connected and since is not None and time.monotonic() - since > SDK_RECONNECT_PATIENCE:
                log.warning("compositor: the room has not come back in %.0f s; joining afresh", SDK_RECONNECT_PATIENCE)
                await self._leave(self._room)
            if not self.connected:
                try:
                    await self._connect()
                    attempt = 0
                    self._joined.set()
                except Exception:  # noqa: BLE001 - any failure to join is retried; the slate covers the gap
                    delay = RECONNECT_BACKOFF[min(attempt, len(RECONNECT_BACKOFF) - 1)]
                    attempt += 1
                    log.warning("compositor: joining the room failed; retrying in %.1f s", delay, exc_info=True)
                    await asyncio.sleep(delay)
                    continue
            await asyncio.sleep(0.5)

    def _on_disconnected(self, room: Any) -> None:
        if self._stop.is_set() or room is not self._room:
            return  # a room this session has already left
        log.warning("compositor: disconnected from the room; rejoining")
        self._forget_room()

    def _on_reconnecting(self, room: Any) -> None:
        if room is self._room and self._reconnecting_since is None:
            log.warning("compositor: connection to the room lost; the SDK is resuming it")
            self._reconnecting_since = time.monotonic()

    def _on_reconnected(self, room: Any) -> None:
        if room is self._room:
            self._reconnecting_since = None

    async def _leave(self, room: Any) -> None:
        """Give up on `room` (the SDK's resume is taking too long): the loop joins a new one at once."""
        self._forget_room()
        if room is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(room.disconnect(), timeout=2.0)

    def _forget_room(self) -> None:
        self.connected = False
        self._reconnecting_since = None
        self._close_streams()
        with self._frames_lock:
            self._frames.clear()
        self.subscribed = set()
        self._room = None

    async def _connect(self) -> None:
        from livekit import rtc

        token = await asyncio.to_thread(self.token) if callable(self.token) else self.token
        if self._receiver is None:
            assert self._loop is not None
            self._receiver = TrackReceiver(self._loop)
        room = rtc.Room(loop=self._loop)
        room.on("disconnected", lambda *args: self._on_disconnected(room))
        room.on("reconnecting", lambda *args: self._on_reconnecting(room))
        room.on("reconnected", lambda *args: self._on_reconnected(room))
        room.on("track_published", lambda publication, participant: self._sync_subscriptions())
        room.on("participant_connected", lambda participant: self._sync_subscriptions())
        room.on("track_subscribed", self._on_subscribed)
        room.on("track_unsubscribed", self._on_unsubscribed)
        room.on("participant_disconnected", self._on_participant_left)
        await room.connect(self.url, token, rtc.RoomOptions(auto_subscribe=False))
        self._room = room
        self.connected = True
        self._sync_subscriptions()

    async def _disconnect(self) -> None:
        # The rejoin loop ends first (a task left pending when the loop stops is logged as an error).
        if self._stay_task is not None:
            self._stay_task.cancel()
            await asyncio.wait([self._stay_task], timeout=1.0)
        self._close_streams()
        if self._room is not None:
            await self._room.disconnect()
        if self._receiver is not None:
            self._receiver.aclose()

    @staticmethod
    def _key(identity: str, publication: Any) -> tuple[str, str]:
        """(source name in the scene graph, kind) for a publication."""
        from livekit import rtc

        if publication.kind == rtc.TrackKind.KIND_AUDIO:
            return identity, "audio"
        if publication.source in (rtc.TrackSource.SOURCE_SCREENSHARE,):
            return identity + SCREEN_SUFFIX, "video"
        return identity, "video"

    def _sync_subscriptions(self) -> None:
        """Subscribe to exactly what the scene needs; ask for the layer that fits each tile."""
        if self._room is None:
            return
        for participant in list(self._room.remote_participants.values()):
            for publication in list(participant.track_publications.values()):
                source, kind = self._key(participant.identity, publication)
                want = (source in self._wanted) if kind == "video" else (participant.identity in self._people)
                if want != publication.subscribed:
                    publication.set_subscribed(want)
                if want and kind == "video":
                    self._request_layer(publication, *self._wanted[source])

    @staticmethod
    def _request_layer(publication: Any, width: int, height: int) -> None:
        """Tell the SFU the size we draw this track at: it forwards the simulcast layer that fits."""
        try:
            from livekit.rtc._ffi_client import FfiClient
            from livekit.rtc._proto import ffi_pb2

            request = ffi_pb2.FfiRequest()
            request.update_remote_track_publication_dimension.track_publication_handle = publication._ffi_handle.handle
            request.update_remote_track_publication_dimension.width = int(width)
            request.update_remote_track_publication_dimension.height = int(height)
            FfiClient.instance.request(request)
        except Exception:  # noqa: BLE001 - an SDK without this request: the SFU then sends its default layer
            log.warning("could not request a simulcast layer", exc_info=True)

    def _on_subscribed(self, track: Any, publication: Any, participant: Any) -> None:
        source, kind = self._key(participant.identity, publication)
        self.subscribed.add(f"{source}:{kind}")
        assert self._receiver is not None
        old = self._streams.pop(publication.sid, None)
        if old is not None:
            self._receiver.close(old)
        if kind == "video":
            # Ask again now that the track exists: a request made before the subscription completed may be lost.
            if source in self._wanted:
                self._request_layer(publication, *self._wanted[source])
            stream = self._receiver.open_video(track, lambda frame: self._store_frame(source, frame))
        else:
            first = next(iter(self.programs.values()))
            identity = participant.identity
            stream = self._receiver.open_audio(
                track,
                lambda samples: self._push_audio(identity, samples),
                sample_rate=first.sample_rate,
                channels=first.channels,
            )
        self._streams[publication.sid] = stream

    def _on_unsubscribed(self, track: Any, publication: Any, participant: Any) -> None:
        source, kind = self._key(participant.identity, publication)
        self.subscribed.discard(f"{source}:{kind}")
        stream = self._streams.pop(publication.sid, None)
        if stream is not None and self._receiver is not None:
            self._receiver.close(stream)
        if kind == "video":
            with self._frames_lock:
                self._frames.pop(source, None)
        else:
            for program in self.programs.values():
                program.mixer.forget(participant.identity)

    def _on_participant_left(self, participant: Any) -> None:
        with self._frames_lock:
            for source in [s for s in self._frames if s.removesuffix(SCREEN_SUFFIX) == participant.identity]:
                self._frames.pop(source, None)
        self.subscribed = {s for s in self.subscribed if not s.startswith(participant.identity + ":")}

    def _store_frame(self, source: str, frame: SourceFrame) -> None:
        with self._frames_lock:
            self._frames[source] = frame  # the previous one is freed once the renderer lets go of it too
            self._received[source] = self._received.get(source, 0) + 1

    # --- health (the media process's health thread; cheap, never on the frame loop) ----------

    def track_stats(self) -> dict[str, dict[str, float]]:
        """Each video source with a picture: frames received so far, the latest's size and age in seconds."""
        now = time.monotonic()
        with self._frames_lock:
            frames, counts = dict(self._frames), dict(self._received)
        return {
            source: {
                "frames": counts.get(source, 0),
                "width": frame.width,
                "height": frame.height,
                "age": max(0.0, now - frame.received_at),
            }
            for source, frame in frames.items()
            if source != PLAYBACK_SOURCE
        }

    def receive_stats(self, timeout: float = 1.0) -> dict[str, Any]:
        """WebRTC receive statistics of the subscribed tracks, from the SDK, by participant and kind:
        ``{"participants": {identity: {"audio"|"video": {"jitter", "packets_lost", "packets_received"}}},
        "rtt": seconds}`` (rtt: this hidden participant's link to the SFU). Empty when not in a room."""
        loop = self._loop
        if loop is None or not loop.is_running() or self._room is None:
            return {}
        try:
            return asyncio.run_coroutine_threadsafe(self._receive_stats(), loop).result(timeout)
        except Exception:  # noqa: BLE001 - statistics are best effort; the show goes on without them
            log.debug("compositor: receive statistics unavailable", exc_info=True)
            return {}

    async def _receive_stats(self) -> dict[str, Any]:
        from livekit import rtc

        room = self._room
        participants: dict[str, dict[str, dict[str, float]]] = {}
        rtt = None
        if room is None:
            return {}
        for participant in list(room.remote_participants.values()):
            for publication in list(participant.track_publications.values()):
                track = publication.track
                if track is None or not publication.subscribed:
                    continue
                kind = "audio" if publication.kind == rtc.TrackKind.KIND_AUDIO else "video"
                for stat in await track.get_stats():
                    which = stat.WhichOneof("stats")
                    if which == "inbound_rtp":
                        received = stat.inbound_rtp.received
                        entry = participants.setdefault(participant.identity, {}).setdefault(
                            kind, {"jitter": 0.0, "packets_lost": 0.0, "packets_received": 0.0}
                        )
                        entry["jitter"] = max(entry["jitter"], float(received.jitter))
                        entry["packets_lost"] += float(received.packets_lost)
                        entry["packets_received"] += float(received.packets_received)
                    elif which == "candidate_pair":
                        # On loopback the round trip is under a millisecond and reads 0.0: still a measurement.
                        value = float(stat.candidate_pair.candidate_pair.current_round_trip_time)
                        rtt = value if rtt is None else max(rtt, value)
        return {"participants": participants, **({"rtt": rtt} if rtt is not None else {})}

    def _push_audio(self, identity: str, samples: np.ndarray) -> None:
        for program in self.programs.values():
            program.mixer.push(identity, samples)

    def _close_streams(self) -> None:
        if self._receiver is not None:
            for stream in self._streams.values():
                self._receiver.close(stream)
        self._streams.clear()

    # --- control: new scenes from Redis ------------------------------------------------

    def _watch_scene(self) -> None:
        """Follow the scene key: a PUBLISH wakes us, the SET holds the state (re-read, so nothing is missed)."""
        name_native_thread()
        import redis

        assert self.redis_url and self.scene_key
        client = redis.Redis.from_url(self.redis_url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.scene_key)
            self._load_scene(client)
            while not self._stop.is_set():
                try:
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self._load_scene(client)
                except redis.RedisError:
                    log.warning("scene watch: Redis unavailable, retrying", exc_info=True)
                    self._stop.wait(1.0)
        finally:
            with contextlib.suppress(Exception):
                pubsub.close()
            client.close()

    def _load_scene(self, client: Any) -> None:
        raw = client.get(self.scene_key)
        if raw:
            try:
                self.set_scene(json.loads(raw))
            except (ValueError, KeyError, TypeError):
                log.exception("scene watch: unreadable scene state")
