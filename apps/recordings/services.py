"""Every write on recordings: the program recording a show's recorder wrote, a participant's local
recording uploaded from their browser, renames and deletes."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Max

from apps.accounts.models import User
from apps.core.ownership import ensure_owner
from apps.core.probe import ffprobe
from apps.streams.models import Stream

from .models import Recording

log = logging.getLogger(__name__)


@transaction.atomic
def recording_rename(*, recording: Recording, by: User | None, title: str) -> Recording:
    ensure_owner(recording.stream.owner_id, by)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Give the recording a title."})
    recording.title = title
    recording.full_clean(exclude=["file", "stream"])
    recording.save(update_fields=["title"])
    return recording


@transaction.atomic
def recording_delete(*, recording: Recording, by: User | None) -> None:
    """Delete the row, then the file once the delete is committed (a rollback keeps both)."""
    ensure_owner(recording.stream.owner_id, by)
    stored = recording.file
    recording.delete()
    if stored:
        transaction.on_commit(lambda: stored.storage.delete(stored.name))


# --- the program recording (the show's recorder, in the media worker) ----------------------------


def program_recording_save(*, stream: Stream, path: Path, interrupted: bool = False) -> Recording:
    """Upload a finished (or crash-truncated) program recording and create its row from ffprobe's view of it.

    Each file is one part of the show's program, numbered in the order they are stored (a crashed run's file
    is stored by the next run before its own); parts after the first carry their number in the title."""
    info = ffprobe(path)
    fmt = info.get("format", {})
    video: dict[str, Any] = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), {})
    duration = float(fmt.get("duration") or 0.0)
    size = path.stat().st_size
    bitrate = int(fmt.get("bit_rate") or (size * 8 / duration if duration else 0))
    earlier = Recording.objects.filter(stream=stream, kind=Recording.Kind.PROGRAM).aggregate(n=Max("segment"))["n"]
    segment = (earlier or 0) + 1
    title = stream.title if segment == 1 else f"{stream.title} - part {segment}"
    if interrupted:
        title = f"{title} (interrupted)"
    recording = Recording(
        stream=stream,
        kind=Recording.Kind.PROGRAM,
        segment=segment,
        title=title,
        size_bytes=size,
        duration_seconds=duration,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        format=Recording.Format.WEBM if path.suffix == ".webm" else Recording.Format.MP4,
        bitrate_kbps=bitrate // 1000,
    )
    # default_storage: local files, or S3 where boto3 uploads large files in parts.
    with path.open("rb") as fh:
        recording.file.save(f"{stream.pk}-{path.stem}{path.suffix}", File(fh), save=False)
    recording.save()
    path.unlink(missing_ok=True)
    log.info("Recording %s saved (%.1f s, %d bytes).", recording.pk, duration, size)
    return recording


def program_recordings_recover(*, stream: Stream, directory: Path) -> list[Recording]:
    """Files a killed run left behind are fragmented, so they play: store them as parts of the show too.

    A file another process holds an exclusive lock on (``flock``) is being stored by the run that wrote it
    (a show handed over stores its part while the next run starts): it is left alone. The kernel drops the
    lock of a process that dies, so a part whose run was killed while storing it is recovered here."""
    saved = []
    candidates = [*directory.glob("*.mp4"), *directory.glob("*.webm")] if directory.exists() else []
    for path in sorted(candidates):
        with contextlib.ExitStack() as held:
            try:
                handle = held.enter_context(path.open("rb"))
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its own run is storing it
            except FileNotFoundError:
                continue  # stored meanwhile
            if path.stat().st_size == 0:
                path.unlink()
                continue
            try:
                saved.append(program_recording_save(stream=stream, path=path, interrupted=True))
            except (subprocess.CalledProcessError, ValueError):
                log.warning("Could not recover partial recording %s", path.name)
    return saved


def hold_for_storing(paths: list[Path]) -> contextlib.ExitStack:
    """Lock these recording files against ``program_recordings_recover`` while this process stores them."""
    held = contextlib.ExitStack()
    for path in paths:
        if path.exists():
            handle = held.enter_context(path.open("rb"))
            fcntl.flock(handle, fcntl.LOCK_EX)
    return held


# --- participants' local recordings (uploaded from their browsers) -------------------------------


def participant_recording_create(*, stream: Stream, title: str, storage_name: str, size_bytes: int) -> Recording:
    """A browser's local recording finished uploading: record it, then give it an index in the background."""
    ext = storage_name.rsplit(".", 1)[-1]
    recording = Recording(
        stream=stream,
        kind=Recording.Kind.PARTICIPANT,
        title=title,
        size_bytes=size_bytes,
        format=Recording.Format.WEBM if ext == "webm" else Recording.Format.MP4,
    )
    recording.file.name = storage_name
    recording.save()
    from .tasks import finalize_participant_recording

    transaction.on_commit(lambda: finalize_participant_recording.delay(recording.pk))
    return recording


def participant_recording_finalize(*, recording_id: int) -> bool:
    """Give a browser recording a duration and a seek index (remux, no re-encode), and fill its facts.

    MediaRecorder writes WebM without a duration or cues; players then cannot seek.
    """
    from apps.library import media
    from apps.library.services import local_copy

    recording = Recording.objects.filter(pk=recording_id, kind=Recording.Kind.PARTICIPANT).first()
    if recording is None or not recording.file:
        return False
    try:
        with local_copy(recording.file) as source, tempfile.TemporaryDirectory(prefix="rec-") as work:
            info = media.probe(source)
            target = Path(work) / f"remux{os.path.splitext(recording.file.name)[1]}"
            done = subprocess.run(
                media.remux_command(source, target, info),
                capture_output=True,
                timeout=max(600.0, info.duration),
                check=False,
                stdin=subprocess.DEVNULL,
            )
            if done.returncode != 0:
                raise media.MediaError("The recording could not be rewritten.")
            fixed = media.probe(target)
            name = recording.file.name
            storage = recording.file.storage
            storage.delete(name)
            with open(target, "rb") as handle:
                saved = storage.save(name, File(handle))
    except media.MediaError as exc:
        # The upload stays as sent: better an unseekable file than none.
        log.warning("participant recording not finalised", extra={"recording_id": recording_id, "reason": str(exc)})
        return False
    Recording.objects.filter(pk=recording_id).update(
        file=saved,
        size_bytes=storage.size(saved),
        duration_seconds=fixed.duration,
        width=fixed.width,
        height=fixed.height,
        bitrate_kbps=fixed.bit_rate // 1000,
    )
    return True
