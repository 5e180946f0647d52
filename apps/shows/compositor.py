"""Build the compositor for a live show: the one place the media process reads the database for it.

    session = compositor_for_stream(stream_id)            # before the frame loop: DB, token, assets
    landscape = session.program("landscape")              # ProgramSource for the 16:9 encoder
    vertical = session.programs.get("vertical")           # ProgramSource for the 9:16 encoder, if asked for
    BroadcastSession(config, landscape).start(...)        # workers/broadcast (engineer C)
    ...
    session.stop()

After this, scene changes arrive through Redis (apps.studio.scene.scene_publish),
never through the ORM.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image

from media.compositor.program import CompositorSession

log = logging.getLogger(__name__)

# Brand images are small; anything bigger than this is refused rather than decoded in the media process.
MAX_ASSET_PIXELS = 4096 * 4096


class AssetLoader:
    """Brand assets by scene source ("asset:<id>"), read from storage once and kept decoded."""

    def __init__(self, assets: dict[str, dict[str, Any]] | None = None) -> None:
        self._names: dict[str, str] = {}
        self._images: dict[str, Image.Image | None] = {}
        self._lock = threading.Lock()
        self.update(assets or {})

    def update(self, assets: dict[str, dict[str, Any]]) -> None:
        with self._lock:
            self._names.update({source: info["name"] for source, info in assets.items() if info.get("name")})

    def preload(self) -> None:
        for source in list(self._names):
            self(source)

    def __call__(self, source: str) -> Image.Image | None:
        with self._lock:
            if source in self._images:
                return self._images[source]
            name = self._names.get(source)
        image = None
        if name:
            try:
                with default_storage.open(name, "rb") as fh:
                    data = fh.read()
                candidate = Image.open(io.BytesIO(data))
                if candidate.width * candidate.height <= MAX_ASSET_PIXELS:
                    candidate.load()
                    image = candidate
            except (OSError, ValueError):
                log.warning("brand asset %s could not be read", source, exc_info=True)
        with self._lock:
            self._images[source] = image
        return image


def open_clip(item: Mapping[str, Any]) -> str:
    """Where the clip player opens a mezzanine: its local path, or a (signed) URL when storage is S3."""
    name = str(item.get("name") or "")
    try:
        return default_storage.path(name)
    except NotImplementedError:
        return default_storage.url(name)


def playback_reporter(stream_id: int) -> Callable[[dict[str, Any]], None]:
    """Progress of the playing clip → the studio (apps.studio.playback.playback_report); runs on the
    compositor's progress thread, so its Redis and database writes never touch the frame loop."""
    from django.db import close_old_connections

    from apps.studio.playback import playback_report

    def report(event: dict[str, Any]) -> None:
        try:
            playback_report(stream_id=stream_id, report=event)
        finally:
            close_old_connections()

    return report


def compositor_for_stream(stream_id: int) -> CompositorSession:
    """A compositor session for this stream's room, with its current scene and brand assets loaded.

    Each (re)join opens the room first (the studio may not have: a show started from the API; a restarted
    LiveKit has forgotten it) and gets a fresh short-lived token.
    """
    from apps.engagement.realtime import comment_card_key
    from apps.rtc.services import rtc_compositor_token, rtc_open_room
    from apps.streams.models import Stream
    from apps.studio.scene import redis_key, scene_snapshot, scene_state

    stream = Stream.objects.select_related("owner", "brand_kit").get(pk=stream_id)

    def join_token() -> str:
        """Before every (re)join: the room (again, if LiveKit restarted and forgot it), then a fresh token."""
        try:
            rtc_open_room(stream=stream, by=None)
        except Exception:  # noqa: BLE001 - LiveKit down: the session keeps trying to join, the slate covers it
            log.warning("compositor: could not open the room of stream %s", stream_id, exc_info=True)
        return rtc_compositor_token(stream=stream)

    # Read as scene_publish reads (apps/studio/scene.py), so a scene published after this read is newer.
    with scene_snapshot(stream_id) as (locked, version):
        state = {**scene_state(locked or stream), "version": version}
    canvases = {name: (graph["width"], graph["height"]) for name, graph in state["canvases"].items()}
    loader = AssetLoader(state["assets"])
    loader.preload()
    return CompositorSession(
        url=settings.LIVEKIT_URL,
        token=join_token,
        canvases=canvases,
        fps=stream.fps,
        # Same clock as scene_publish: a scene left in Redis by an earlier show is older than this one.
        state=state,
        redis_url=settings.REDIS_URL,
        scene_key=redis_key(stream.pk),
        card_key=comment_card_key(stream.pk),
        load_asset=loader,
        on_playback=playback_reporter(stream.pk),
        open_clip=open_clip,
    )


class CompositorSourceFactory:
    """`source_factory` for apps.shows.runner.run_show: one room connection, one program per canvas.

        run_show(stream_id=..., source_factory=CompositorSourceFactory())

    run_show asks once per canvas with that canvas's ShowConfig; the first call builds the session
    (all canvases the stream has), later calls hand out the other canvas of the same session.
    """

    def __init__(self, *, join_wait: float | None = None) -> None:
        self.session: CompositorSession | None = None
        self.join_wait = join_wait

    def __call__(self, stream: Any, config: Any) -> Any:
        if self.session is None:
            self.session = compositor_for_stream(stream.pk)
            if self.join_wait is not None:
                self.session.join_wait = self.join_wait
        name = "landscape" if config.width >= config.height else "vertical"
        program = self.session.programs.get(name)
        if program is None or (program.width, program.height) != (config.width, config.height):
            raise ValueError(f"no {config.width}x{config.height} canvas in this show's compositor")
        return program
