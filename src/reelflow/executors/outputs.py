"""After FFmpeg: find each work's files, commit them to storage, describe them (as the
typed results of ``reelflow.specs.outputs``).

Each sub-task's files are committed one by one, each atomically by the storage backend; if
any of them cannot be written the ones already written are removed, so a sub-task's outputs
appear whole or not at all, and the sub-task fails with the storage error's code. A store
that is away (``StorageUnavailable``) is waited for a little (``patience``), then reported
for the whole job, not the sub-task: it is an outage, and the engine tries the job again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reelflow.backoff import Patience
from reelflow.errors import (
    FFmpegFailed,
    MediaError,
    ReelflowError,
    StorageError,
    StorageUnavailable,
)
from reelflow.media.command import WorkFiles
from reelflow.media.edit import HLS_SEGMENTS
from reelflow.media.probe import probe
from reelflow.specs.jobs import SubTaskOutcome
from reelflow.specs.outputs import (
    AnimatedResult,
    EditResult,
    ImageSpriteResult,
    OutputFile,
    SampleSnapshotResult,
    SnapshotImage,
    SnapshotResult,
    SubTaskResult,
    TranscodeResult,
)
from reelflow.specs.works import (
    AnimatedWork,
    EditWork,
    ImageSpriteWork,
    SampleSnapshotWork,
    SnapshotWork,
    TranscodeWork,
    Work,
)
from reelflow.storage.base import ObjectInfo, Storage, file_md5, retry_unavailable

log = logging.getLogger(__name__)


_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")


def content_md5(info: ObjectInfo, path: Path) -> str:
    """The committed object's MD5: its ETag when that is a plain MD5 (local buckets and
    single-part S3 uploads hash while writing), else hashed from the local file (still
    there: only a local bucket moves it, and its ETag is the MD5)."""
    return info.etag if _PLAIN_MD5.match(info.etag) else file_md5(path)


def numbered(files: WorkFiles) -> list[Path]:
    """The numbered files FFmpeg wrote for a pattern like ``w3_%d.jpg``, in order."""
    assert files.pattern is not None
    found = []
    i = 0
    while (path := Path(str(files.pattern).replace("%d", str(i)))).exists():
        found.append(path)
        i += 1
    return found


class Committer:
    """Writes one sub-task's files to its bucket, all or nothing; each write is retried for
    ``patience`` seconds while the store is unavailable."""

    def __init__(self, storage: Storage, patience: float = 0.0) -> None:
        self.storage = storage
        self.patience = patience
        self.written: list[str] = []

    def put(self, key: str, path: Path) -> ObjectInfo:
        """Store the finished file ``path`` (moved into a local bucket on the same file
        system, so it may be gone afterwards)."""
        info = retry_unavailable(lambda: self.storage.move_file(key, path), self._retry())
        self.written.append(key)
        return info

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        info = retry_unavailable(lambda: self.storage.put_bytes(key, data), self._retry())
        self.written.append(key)
        return info

    def _retry(self) -> Patience:
        return Patience(self.patience)

    def rollback(self) -> None:
        # Newest first: a playlist goes before the segments it names.
        for key in reversed(self.written):
            try:
                self.storage.delete(key)
            except StorageError as exc:  # the bucket may be gone altogether
                log.warning("could not remove partial output %s: %s", key, exc)


def _edit_item(work: EditWork, files: WorkFiles, commit: Committer) -> EditResult:
    assert files.main is not None
    if not files.main.exists() or files.main.stat().st_size == 0:
        raise FFmpegFailed("FFmpeg wrote no joined file", code="FFmpegFailed.NoOutput")
    info = probe(files.main)
    if work.template.container == "hls":  # segments first, then the playlist at ``key``
        segments = files.main.with_name(HLS_SEGMENTS)
        size, md5, _ = _store_hls(
            work.key, work.segment_key_pattern, "", False, files.main, segments, commit
        )
    else:
        stored = commit.put(work.key, files.main)
        size, md5 = stored.size, content_md5(stored, files.main)
    return EditResult(
        file=OutputFile(bucket=work.bucket, key=work.key, size=size, md5=md5, media=info)
    )


def _transcode_item(work: TranscodeWork, files: WorkFiles, commit: Committer) -> TranscodeResult:
    assert files.main is not None
    if not files.main.exists() or files.main.stat().st_size == 0:
        raise FFmpegFailed(
            "FFmpeg wrote no output for this rendition", code="FFmpegFailed.NoOutput"
        )
    info = probe(files.main)
    total: int | None = None
    if work.template.container == "hls":
        size, md5, total = _commit_hls(work, files, commit)
    else:
        stored = commit.put(work.key, files.main)
        size, md5 = stored.size, content_md5(stored, files.main)
    file = OutputFile(bucket=work.bucket, key=work.key, size=size, md5=md5, media=info)
    return TranscodeResult(
        definition=work.definition,
        file=file,
        container=work.template.container,
        total_size=total,
    )


def _commit_hls(work: TranscodeWork, files: WorkFiles, commit: Committer) -> tuple[int, str, int]:
    assert files.main is not None and files.segments is not None
    single = work.template.hls_segments.single_file
    return _store_hls(
        work.key,
        work.segment_key_pattern,
        work.hls_init_key,
        single,
        files.main,
        files.segments,
        commit,
    )


def _store_hls(
    key: str,
    segment_key_pattern: str,
    init_key: str,
    single_file: bool,
    playlist_file: Path,
    segments: Path,
    commit: Committer,
) -> tuple[int, str, int]:
    """Media first (the segments ``segments`` names, or the one byte-range file, and an
    fMP4 init section), then the playlist rewritten to their final names at ``key``;
    returns the stored playlist's size and MD5 (the file at ``Path``) and the total size
    (playlist + media)."""
    folder, _, pattern = segment_key_pattern.rpartition("/")
    local_prefix = segments.name.rpartition("_")[0] + "_"
    media: list[tuple[Path, str]] = []  # (local file, its key)
    if single_file:
        media.append((segments, segment_key_pattern))
    else:
        for i, segment in enumerate(numbered(WorkFiles(pattern=segments))):
            name = pattern.replace("%d", str(i))
            media.append((segment, f"{folder}/{name}" if folder else name))
    init = segments.with_name(f"{local_prefix}init.mp4")
    if init_key and init.exists():
        media.insert(0, (init, init_key))
    total = 0
    mapping: dict[str, str] = {}
    for local, media_key in media:
        total += local.stat().st_size
        commit.put(media_key, local)
        mapping[local.name] = media_key.rpartition("/")[2]
    text = playlist_file.read_text()
    text = re.sub(
        re.escape(local_prefix) + r"(?:\d+|init)\.(?:ts|m4s|mp4)",
        lambda m: mapping.get(m.group(0), m.group(0)),
        text,
    )
    playlist = text.encode()
    commit.put_bytes(key, playlist)
    md5 = hashlib.md5(playlist, usedforsecurity=False).hexdigest()
    return len(playlist), md5, total + len(playlist)


def _images_or_fail(files: WorkFiles, expected: int) -> list[Path]:
    images = numbered(files)
    if not images:
        raise FFmpegFailed(
            "FFmpeg produced no image for this sub-task", code="FFmpegFailed.NoOutput"
        )
    return images[:expected]


def _snapshot_item(work: SnapshotWork, files: WorkFiles, commit: Committer) -> SnapshotResult:
    images = _images_or_fail(files, len(work.keys))
    pics = []
    for image, key, offset in zip(images, work.keys, work.times, strict=False):
        commit.put(key, image)
        pics.append(SnapshotImage(key=key, time=offset))
    return SnapshotResult(
        definition=work.definition,
        bucket=work.bucket,
        images=pics,
        watermarks=[w.definition for w in work.watermarks],
    )


def _sample_item(
    work: SampleSnapshotWork, files: WorkFiles, commit: Committer
) -> SampleSnapshotResult:
    images = _images_or_fail(files, len(work.keys))
    for image, key in zip(images, work.keys, strict=False):
        commit.put(key, image)
    return SampleSnapshotResult(
        definition=work.definition,
        bucket=work.bucket,
        sample_type=work.template.sample_type,
        interval=work.template.sample_interval,
        keys=work.keys[: len(images)],
        watermarks=[w.definition for w in work.watermarks],
    )


def sprite_vtt(work: ImageSpriteWork, cells: int) -> str:
    """The WebVTT index: one cue per thumbnail, pointing at its rectangle in its sheet."""
    template = work.template
    per_sheet = template.row_count * template.column_count
    lines = ["WEBVTT", ""]
    for i in range(cells):
        start = i * work.interval
        end = (
            min((i + 1) * work.interval, work.duration) if work.duration else start + work.interval
        )
        end = max(end, start + 0.001)
        sheet, position = divmod(i, per_sheet)
        row, column = divmod(position, template.column_count)
        name = work.keys[sheet].rsplit("/", 1)[-1]
        x, y = column * work.width, row * work.height
        lines += [
            f"{_vtt_time(start)} --> {_vtt_time(end)}",
            f"{name}#xywh={x},{y},{work.width},{work.height}",
            "",
        ]
    return "\n".join(lines)


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _sprite_item(work: ImageSpriteWork, files: WorkFiles, commit: Committer) -> ImageSpriteResult:
    sheets = _images_or_fail(files, len(work.keys))
    per_sheet = work.template.row_count * work.template.column_count
    cells = min(work.cells, len(sheets) * per_sheet)
    for sheet, key in zip(sheets, work.keys, strict=False):
        commit.put(key, sheet)
    commit.put_bytes(work.vtt_key, sprite_vtt(work, cells).encode())
    return ImageSpriteResult(
        definition=work.definition,
        bucket=work.bucket,
        width=work.width,
        height=work.height,
        total_count=cells,
        keys=work.keys[: len(sheets)],
        vtt_key=work.vtt_key,
    )


def _animated_item(work: AnimatedWork, files: WorkFiles, commit: Committer) -> AnimatedResult:
    assert files.main is not None
    if not files.main.exists() or files.main.stat().st_size == 0:
        raise FFmpegFailed("FFmpeg wrote no animated image", code="FFmpegFailed.NoOutput")
    stored = commit.put(work.key, files.main)
    size = stored.size
    duration = max(work.end - work.start, 0.001)
    file = OutputFile(
        bucket=work.bucket, key=work.key, size=size, md5=content_md5(stored, files.main)
    )
    return AnimatedResult(
        definition=work.definition,
        file=file,
        container=work.template.format,
        width=work.width,
        height=work.height,
        bitrate=round(size * 8 / duration),
        start=work.start,
        end=work.end,
    )


_ITEMS: dict[str, Callable[[Any, WorkFiles, Committer], SubTaskResult]] = {
    "Transcode": _transcode_item,
    "SnapshotByTimeOffset": _snapshot_item,
    "SampleSnapshot": _sample_item,
    "ImageSprites": _sprite_item,
    "AnimatedGraphics": _animated_item,
    "EditMedia": _edit_item,
}


def commit_work(
    work: Work, files: WorkFiles, storage_for: Callable[[str], Storage], *, patience: float = 0.0
) -> SubTaskOutcome:
    """Commit one work's files and describe them; never raises for the work's own failure.

    Raises ``StorageUnavailable`` (files already written removed, as far as the store
    allows) when the bucket stayed away for ``patience`` seconds: the job, not the sub-task,
    failed, and is tried again.
    """
    try:
        committer = Committer(storage_for(work.bucket), patience)
    except ReelflowError as exc:
        return SubTaskOutcome(index=work.index, ok=False, error_code=exc.code, message=exc.message)
    try:
        output = _ITEMS[work.kind](work, files, committer)
    except StorageUnavailable as exc:
        committer.rollback()
        raise StorageUnavailable(
            f"output could not be written to bucket {work.bucket!r}: {exc.message}",
            dependency=exc.dependency or f"bucket '{work.bucket}'",
        ) from exc
    except (StorageError, MediaError) as exc:
        committer.rollback()
        message = exc.message
        if isinstance(exc, StorageError):
            message = f"output could not be written to bucket {work.bucket!r}: {exc.message}"
        return SubTaskOutcome(index=work.index, ok=False, error_code=exc.code, message=message)
    return SubTaskOutcome(index=work.index, ok=True, output=output)
