"""ffprobe, the one way we look inside a media file: local files only, JSON out.

User uploads add their own input options (a fixed demuxer, limits) through `input_options`;
our own files (recordings) need none. The protocol whitelist keeps ffprobe from following a
file's references to the network or other files.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

PROBE_TIMEOUT_SECONDS = 60


# Our own files: local, nothing else may be opened.
LOCAL_ONLY = ("-protocol_whitelist", "file")


def ffprobe_command(path: Path, *, input_options: Sequence[str] = LOCAL_ONLY) -> list[str]:
    """`input_options` replace the default: a user's upload brings its own (whitelist, demuxer, limits)."""
    return [
        settings.FFPROBE_BIN,
        "-v",
        "error",
        "-hide_banner",
        *input_options,
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        "-i",
        f"file:{path}",
    ]


def ffprobe(
    path: Path, *, input_options: Sequence[str] = LOCAL_ONLY, timeout: float = PROBE_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """The file's format and streams as ffprobe reports them; CalledProcessError if it cannot read it."""
    out = subprocess.run(
        ffprobe_command(path, input_options=input_options), capture_output=True, check=True, timeout=timeout
    )
    return dict(json.loads(out.stdout or b"{}"))
