from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.rtmp import rtmp_servers, rtmps_server  # noqa: F401  (fixtures)
from workers.broadcast.session import BroadcastSession, ShowConfig
from workers.broadcast.source import TestSceneSource


@pytest.fixture(autouse=True)
def _test_scene_program(settings) -> None:
    """The engine's tests run shows without LiveKit: the generated test scene is their program."""
    settings.BROADCAST_SOURCE = "test_scene"


@pytest.fixture(autouse=True)
def _clean_show_keys(settings) -> None:
    """Stream ids repeat across transactional tests (tables are truncated): forget earlier shows' control keys."""
    import redis

    r = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(r.scan_iter("show:*"))
    if keys:
        r.delete(*keys)


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
