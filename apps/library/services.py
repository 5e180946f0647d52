"""Writes on the media library: resumable uploads, clip processing, participant recordings.

Upload protocol (tus-like, see api.py): create a session with the total size
(or none yet, for a recording still growing), send chunks at the offset the
server holds, ask for that offset after a network drop, and the last chunk
assembles the file. Chunks have a fixed size (the last may be shorter) so a
chunk is also exactly one part of an S3 multipart upload.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from apps.accounts.models import User
from apps.core import events, realtime
from apps.core.ownership import ensure_owner
from apps.recordings.services import participant_recording_create
from apps.streams.models import Guest, Stream

from . import media
from .models import MediaClip, Playlist, PlaylistItem, UploadSession
from .quota import human_bytes, quota_check

logger = logging.getLogger(__name__)

# Uploads (sessions and brand images) a user may start per hour; one cache key for the API and the pages.
UPLOADS_PER_HOUR = 200
# S3 refuses multipart parts under 5 MiB (except the last).
S3_MIN_PART = 5 * 1024 * 1024
# Progress writes to the row at most this often: the page polls, nobody needs more.
PROGRESS_EVERY_S = 0.5
# An upload left this long is abandoned (a closed tab, a lost phone); resuming takes minutes, not days.
STALE_UPLOAD = timedelta(hours=24)
# Decoding frames larger than 8K costs more memory than any clip is worth.
MAX_SOURCE_PIXELS = 7680 * 4320
# A browser recording says what it is; we check the bytes agree.
RECORDING_CONTAINERS = {"webm": "matroska", "mp4": "mov"}


class UploadRefused(ValidationError):
    """A chunk that does not fit the session (wrong offset or size): the client must re-sync."""


class NotVideo(ValidationError):
    """Content that is not a container we accept: refused before anything is stored."""


def chunk_size() -> int:
    size = int(settings.UPLOAD_CHUNK_BYTES)
    return max(size, S3_MIN_PART) if settings.STORAGE == "s3" else size


def spool_path(session: UploadSession) -> Path:
    return Path(settings.UPLOAD_SPOOL_DIR) / f"{session.id}.part"


def _s3_client() -> Any:
    return default_storage.connection.meta.client  # type: ignore[attr-defined]


def _bucket() -> str:
    return default_storage.bucket_name  # type: ignore[attr-defined]


@transaction.atomic
def upload_create(
    *,
    owner: User,
    purpose: str,
    size: int | None,
    title: str = "",
    filename: str = "",
    stream: Stream | None = None,
    guest: Guest | None = None,
) -> UploadSession:
    """Open a resumable upload. `owner` is whose storage it fills: a guest's local recording fills the host's."""
    if purpose not in UploadSession.Purpose.values:
        raise ValidationError({"purpose": "Choose clip or participant."})
    title = (title or "").strip()[:140]
    if purpose == UploadSession.Purpose.CLIP:
        # A clip is named after its file unless the creator gave a title.
        title = title or os.path.splitext(os.path.basename(filename or ""))[0].strip()[:140]
        if not size or size <= 0:
            raise ValidationError({"size": "Give the size of the file in bytes."})
        ext = "bin"
        title = title or "Untitled clip"
    else:
        if stream is None:
            raise ValidationError({"stream": "A participant recording belongs to a stream."})
        ensure_owner(stream.owner_id, owner)
        ext = os.path.splitext(filename or "")[1].lower().lstrip(".") or "webm"
        if ext not in RECORDING_CONTAINERS:
            raise ValidationError({"filename": "Recordings are uploaded as WebM or MP4."})
        if guest is not None and guest.stream_id != stream.pk:
            raise ValidationError({"stream": "This guest is not in that stream."})
        default = f"{guest.display_name or 'Guest'} (local)" if guest is not None else "Participant recording"
        title = title or default
    if size is not None and size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            {
                "size": ValidationError(
                    f"Files may be at most {human_bytes(settings.UPLOAD_MAX_BYTES)}.", code="too_large"
                )
            }
        )
    # A declared size is held from now on (quota.storage_used); an unsized recording must fit its first chunk.
    quota_check(owner, adding=size if size is not None else chunk_size(), field="size")

    session = UploadSession(
        owner=owner,
        purpose=purpose,
        stream=stream,
        guest=guest,
        title=title,
        total_bytes=size,
        chunk_bytes=chunk_size(),
    )
    if purpose == UploadSession.Purpose.CLIP:
        session.storage_name = f"library/{owner.pk}/{session.id.hex}/source.{ext}"
    else:
        assert stream is not None
        session.storage_name = f"recordings/{owner.pk}/{stream.pk}/participant-{session.id.hex}.{ext}"
    if settings.STORAGE == "s3":
        from .storage import content_type_for

        created = _s3_client().create_multipart_upload(
            Bucket=_bucket(),
            Key=default_storage._normalize_name(session.storage_name),  # type: ignore[attr-defined]
            ContentType=content_type_for(session.storage_name),
            ContentDisposition="attachment",
        )
        session.s3_upload_id = created["UploadId"]
    else:
        path = spool_path(session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=False)
    session.save()
    return session


def _expected_length(session: UploadSession, offset: int, got: int, declared_total: int | None) -> None:
    total = session.total_bytes if session.total_bytes is not None else declared_total
    if total is not None:
        if offset + got > total:
            raise UploadRefused({"chunk": ValidationError("The chunk goes past the end of the file.", code="too_long")})
        want = min(session.chunk_bytes, total - offset)
    else:
        want = session.chunk_bytes
    if got != want:
        raise UploadRefused(
            {
                "chunk": ValidationError(
                    f"Send chunks of {session.chunk_bytes} bytes (the last may be shorter); got {got}.",
                    code="chunk_size",
                )
            }
        )


def upload_append(
    *, session: UploadSession, by: User | None, offset: int, data: bytes, declared_total: int | None = None
) -> UploadSession:
    """Write one chunk at `offset`; the chunk that reaches the total assembles the file.

    Content that is not a video is refused at its first chunk, and the session
    is aborted so nothing of it stays on disk.
    """
    ensure_owner(session.owner_id, by)
    try:
        return _append(session=session, offset=offset, data=data, declared_total=declared_total)
    except NotVideo:
        upload_abort(session=session, by=None)
        raise


@transaction.atomic
def _append(*, session: UploadSession, offset: int, data: bytes, declared_total: int | None) -> UploadSession:
    session = UploadSession.objects.select_for_update().select_related("owner").get(pk=session.pk)
    if not session.is_active:
        raise UploadRefused(
            {"upload": ValidationError("This upload is already finished or was cancelled.", code="inactive")}
        )
    if offset != session.received_bytes:
        raise UploadRefused(
            {
                "offset": ValidationError(
                    f"The server has {session.received_bytes} bytes; send from there.", code="offset"
                )
            }
        )
    if declared_total is not None:
        if session.total_bytes is not None and declared_total != session.total_bytes:
            raise UploadRefused({"size": ValidationError("The upload's size cannot change.", code="size")})
        if declared_total < offset + len(data) or declared_total > settings.UPLOAD_MAX_BYTES:
            raise UploadRefused({"size": ValidationError("That size does not fit the data sent.", code="size")})
    _expected_length(session, offset, len(data), declared_total)

    if offset == 0:
        demuxer = media.sniff_container(data[: media.SNIFF_BYTES])
        wanted = RECORDING_CONTAINERS.get(session.storage_name.rsplit(".", 1)[-1])
        if demuxer is None or (session.purpose == UploadSession.Purpose.PARTICIPANT and demuxer != wanted):
            raise NotVideo({"file": ValidationError(media.not_video_message(), code="not_video")})
    # Only what goes past what the session already holds (its declared size, or what it received) is new.
    held = max(session.total_bytes or 0, session.received_bytes)
    quota_check(
        session.owner, adding=max(0, max(declared_total or session.total_bytes or 0, offset + len(data)) - held)
    )

    if settings.STORAGE == "s3":
        part = offset // session.chunk_bytes + 1
        answer = _s3_client().upload_part(
            Bucket=_bucket(),
            Key=default_storage._normalize_name(session.storage_name),  # type: ignore[attr-defined]
            UploadId=session.s3_upload_id,
            PartNumber=part,
            Body=data,
        )
        session.s3_parts = [p for p in session.s3_parts if p["PartNumber"] != part] + [
            {"PartNumber": part, "ETag": answer["ETag"]}
        ]
    else:
        with open(spool_path(session), "r+b") as spool:
            spool.seek(offset)
            spool.write(data)
            spool.truncate()
    session.received_bytes = offset + len(data)
    if declared_total is not None:
        session.total_bytes = declared_total
    session.save()
    if session.total_bytes is not None and session.received_bytes == session.total_bytes:
        _assemble(session)
    return session


class _SpoolFile(File):  # type: ignore[type-arg]
    """Lets FileSystemStorage move the spool into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return str(getattr(self.file, "name", ""))


def _assemble(session: UploadSession) -> None:
    if settings.STORAGE == "s3":
        _s3_client().complete_multipart_upload(
            Bucket=_bucket(),
            Key=default_storage._normalize_name(session.storage_name),  # type: ignore[attr-defined]
            UploadId=session.s3_upload_id,
            MultipartUpload={"Parts": sorted(session.s3_parts, key=lambda p: p["PartNumber"])},
        )
        name = session.storage_name
    else:
        with open(spool_path(session), "rb") as spool:
            name = default_storage.save(session.storage_name, _SpoolFile(spool))
    session.storage_name = name
    session.status = UploadSession.Status.COMPLETE
    total = int(session.total_bytes or 0)

    if session.purpose == UploadSession.Purpose.CLIP:
        clip = MediaClip(owner=session.owner, title=session.title, size_bytes=total)
        clip.original.name = name
        clip.save()
        session.clip = clip
        from .tasks import process_clip

        transaction.on_commit(lambda: process_clip.delay(clip.pk))
    else:
        assert session.stream is not None
        session.recording = participant_recording_create(
            stream=session.stream, title=session.title, storage_name=name, size_bytes=total
        )
    session.save()


def _discard(session: UploadSession) -> None:
    if settings.STORAGE == "s3":
        if session.s3_upload_id:
            _s3_client().abort_multipart_upload(
                Bucket=_bucket(),
                Key=default_storage._normalize_name(session.storage_name),  # type: ignore[attr-defined]
                UploadId=session.s3_upload_id,
            )
    else:
        spool_path(session).unlink(missing_ok=True)


@transaction.atomic
def upload_abort(*, session: UploadSession, by: User | None) -> None:
    ensure_owner(session.owner_id, by)
    session = UploadSession.objects.select_for_update().get(pk=session.pk)
    if not session.is_active:
        return
    _discard(session)
    session.status = UploadSession.Status.ABORTED
    session.save(update_fields=["status", "updated_at"])


# --- processing ------------------------------------------------------------------


@contextmanager
def local_copy(stored: FieldFile) -> Iterator[Path]:
    """A local path for a stored file: the file itself on disk storage, a temporary copy from S3."""
    name = stored.name or ""
    try:
        yield Path(stored.storage.path(name))
        return
    except NotImplementedError:
        pass
    suffix = os.path.splitext(name)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with stored.storage.open(name, "rb") as source:
            shutil.copyfileobj(source, tmp, 1024 * 1024)
        tmp.flush()
        yield Path(tmp.name)


def _duration_label(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min {int(seconds % 60)} s"


def _library_changed(owner_id: int, **what: Any) -> None:
    """Tell the owner's open studios that their library changed (the Media panel reloads its list)."""
    realtime.publish_on_commit(realtime.owner_group(owner_id), events.LIBRARY_CHANGED, library=what)


def _fail_clip(clip: MediaClip, message: str) -> None:
    """Keep the row (so the creator sees why) but no bytes of the refused file."""
    for field in (clip.original, clip.mezzanine, clip.thumbnail):
        if field:
            field.storage.delete(field.name)
    MediaClip.objects.filter(pk=clip.pk).update(
        status=MediaClip.Status.FAILED, error=message[:300], original="", mezzanine="", thumbnail="", size_bytes=0
    )


def clip_process(*, clip_id: int) -> bool:
    """Probe, normalise and thumbnail a clip. Returns whether this call did the work.

    1. Claim the clip (pending → processing) with a conditional UPDATE: two workers never both run it.
    2. Probe safely (media.probe) and refuse what is not video, too long or damaged.
    3. Transcode to the mezzanine, writing progress to the row.
    4. Check the mezzanine decodes, thumbnail it, store both, drop the original.
    """
    # updated_at marks when processing started (progress updates leave it alone): the page's time-left estimate.
    claimed = MediaClip.objects.filter(pk=clip_id, status=MediaClip.Status.PENDING).update(
        status=MediaClip.Status.PROCESSING, progress=0.0, error="", updated_at=timezone.now()
    )
    if not claimed:
        return False
    clip = MediaClip.objects.get(pk=clip_id)
    try:
        with local_copy(clip.original) as source, tempfile.TemporaryDirectory(prefix="clip-") as work:
            info = media.probe(source)
            limit = settings.LIBRARY_MAX_CLIP_SECONDS
            if info.duration > limit:
                raise media.MediaError(
                    f"The video is {_duration_label(info.duration)} long; clips may be at most {_duration_label(limit)}."
                )
            if info.width * info.height > MAX_SOURCE_PIXELS:
                raise media.MediaError(f"The video is {info.width}x{info.height}; clips may be at most 8K (7680x4320).")
            if info.duration <= 0 or info.width <= 0 or info.height <= 0:
                raise media.MediaError("The video is damaged or incomplete and cannot be read.")
            mezzanine = Path(work) / "mezzanine.mp4"
            thumbnail = Path(work) / "thumbnail.jpg"
            last = [0.0]

            def report(fraction: float) -> None:
                now = time.monotonic()
                if now - last[0] >= PROGRESS_EVERY_S:
                    last[0] = now
                    MediaClip.objects.filter(pk=clip_id).update(progress=round(fraction * 0.95, 3))

            media.run_with_progress(
                media.normalize_command(source, mezzanine, info),
                duration=info.duration,
                on_progress=report,
                timeout=max(600.0, info.duration * 4),
            )
            result = media.probe(mezzanine)
            media.make_thumbnail(mezzanine, thumbnail, at=min(1.0, result.duration / 2))
            with open(mezzanine, "rb") as handle:
                clip.mezzanine.save("mezzanine.mp4", File(handle), save=False)
            with open(thumbnail, "rb") as handle:
                clip.thumbnail.save("thumbnail.jpg", File(handle), save=False)
    except media.MediaError as exc:
        logger.info("clip refused", extra={"clip_id": clip_id, "reason": str(exc)})
        _fail_clip(clip, str(exc))
        return True
    except Exception:
        logger.exception("clip processing crashed", extra={"clip_id": clip_id})
        _fail_clip(clip, "Processing failed unexpectedly; try uploading the video again.")
        raise

    original = clip.original
    if original:
        original.storage.delete(original.name)
    clip.original = ""  # type: ignore[assignment]
    clip.size_bytes = clip.mezzanine.size + clip.thumbnail.size
    clip.duration_seconds = result.duration
    clip.width, clip.height, clip.fps = result.width, result.height, result.fps
    clip.has_audio = result.has_audio
    clip.source_format = info.format_name[:64]
    clip.status = MediaClip.Status.READY
    clip.progress = 1.0
    clip.save()
    _library_changed(clip.owner_id, clip=clip.pk, status=clip.status)
    return True


@transaction.atomic
def clip_rename(*, clip: MediaClip, by: User | None, title: str) -> MediaClip:
    ensure_owner(clip.owner_id, by)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Give the clip a title."})
    clip.title = title
    clip.full_clean(exclude=["original", "mezzanine", "thumbnail", "uid"])
    clip.save(update_fields=["title", "updated_at"])
    _library_changed(clip.owner_id, clip=clip.pk)
    return clip


@transaction.atomic
def clip_delete(*, clip: MediaClip, by: User | None) -> None:
    ensure_owner(clip.owner_id, by)
    files = [f for f in (clip.original, clip.mezzanine, clip.thumbnail) if f]
    owner_id, clip_id = clip.owner_id, clip.pk
    clip.delete()
    _library_changed(owner_id, clip=clip_id, deleted=True)
    transaction.on_commit(lambda: [f.storage.delete(f.name) for f in files])


def upload_sweep_stale(*, idle: timedelta = STALE_UPLOAD) -> int:
    """Abort uploads nobody has touched for `idle`: their spool files or S3 parts stop holding quota."""
    cutoff = timezone.now() - idle
    swept = 0
    for session in UploadSession.objects.active().filter(updated_at__lt=cutoff):
        upload_abort(session=session, by=None)
        swept += 1
    return swept


# --- playlists -------------------------------------------------------------------

MAX_PLAYLIST_CLIPS = 100


def _playlist_clips(owner: User, clip_ids: list[int]) -> list[MediaClip]:
    if len(clip_ids) > MAX_PLAYLIST_CLIPS:
        raise ValidationError({"clips": f"A playlist holds at most {MAX_PLAYLIST_CLIPS} clips."})
    clips = {c.pk: c for c in MediaClip.objects.filter(owner=owner, pk__in=clip_ids)}
    missing = [pk for pk in clip_ids if pk not in clips]
    if missing:
        raise ValidationError({"clips": "Choose clips from your own library."})
    not_ready = [clips[pk].title for pk in clip_ids if not clips[pk].is_ready]
    if not_ready:
        raise ValidationError({"clips": f"Only processed clips can be played: {', '.join(not_ready)}."})
    return [clips[pk] for pk in clip_ids]


def _set_items(playlist: Playlist, clips: list[MediaClip]) -> None:
    playlist.items.all().delete()
    PlaylistItem.objects.bulk_create(
        PlaylistItem(playlist=playlist, clip=clip, position=n) for n, clip in enumerate(clips)
    )


@transaction.atomic
def playlist_create(*, owner: User, name: str, clip_ids: list[int]) -> Playlist:
    """A named, ordered list of the owner's processed clips (the same clip may repeat)."""
    playlist = Playlist(owner=owner, name=(name or "").strip())
    playlist.full_clean(validate_constraints=False)
    if Playlist.objects.filter(owner=owner, name__iexact=playlist.name).exists():
        raise ValidationError({"name": "You already have a playlist with this name."})
    clips = _playlist_clips(owner, clip_ids)
    if not clips:
        raise ValidationError({"clips": "Choose at least one clip."})
    playlist.save()
    _set_items(playlist, clips)
    _library_changed(owner.pk, playlist=playlist.pk)
    return playlist


@transaction.atomic
def playlist_set_clips(*, playlist: Playlist, by: User | None, clip_ids: list[int]) -> Playlist:
    """Replace the playlist's clips with `clip_ids`, in that order (add, remove and reorder in one call)."""
    ensure_owner(playlist.owner_id, by)
    playlist = Playlist.objects.select_for_update().select_related("owner").get(pk=playlist.pk)
    _set_items(playlist, _playlist_clips(playlist.owner, clip_ids))
    playlist.save(update_fields=["updated_at"])
    _library_changed(playlist.owner_id, playlist=playlist.pk)
    return playlist


@transaction.atomic
def playlist_delete(*, playlist: Playlist, by: User | None) -> None:
    ensure_owner(playlist.owner_id, by)
    owner_id, playlist_id = playlist.owner_id, playlist.pk
    playlist.delete()
    _library_changed(owner_id, playlist=playlist_id, deleted=True)
