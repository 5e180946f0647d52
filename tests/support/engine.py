"""Small broadcast-engine shows for the engine's own tests (no Django, no LiveKit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from media.broadcast.session import BroadcastSession, ShowConfig
from media.broadcast.source import TestSceneSource

# Small, cheap shows: the whole suite runs on 2 busy cores.
WIDTH, HEIGHT, FPS = 640, 360, 30


def show_config(tmp_path: Path | None = None, **overrides: object) -> ShowConfig:
    values: dict[str, object] = {
        "width": WIDTH,
        "height": HEIGHT,
        "fps": FPS,
        "video_kbps": 500,
        "audio_kbps": 64,
        "preset": "ultrafast",
        "encoder_threads": 1,
        "recording_path": (tmp_path / "program.mp4") if tmp_path else None,
    }
    values.update(overrides)
    return ShowConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_session(tmp_path: Path) -> Iterator[Callable[..., BroadcastSession]]:
    """Factory: `make_session(**ShowConfig overrides, source=..., record=True)`; running ones stop at teardown."""
    sessions: list[BroadcastSession] = []

    def make(*, source: TestSceneSource | None = None, record: bool = True, **kwargs: object) -> BroadcastSession:
        on_health = kwargs.pop("on_health", None)
        host_check = kwargs.pop("host_check", None)
        config = show_config(tmp_path if record else None, **kwargs)
        src = source or TestSceneSource(width=config.width, height=config.height, fps=config.fps, title="Test show")
        session = BroadcastSession(config, src, on_health=on_health, host_check=host_check)  # type: ignore[arg-type]
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        if session.running:
            session.stop()
