"""A walk over the boxes of a local ISO-BMFF file (MP4/MOV), reading no media data.

It finds what the container's headers cannot be trusted to tell PyAV: a file cut short (a
top-level box running past the end, or no ``moov`` index) and each track's display
rotation from its ``tkhd`` matrix.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from reelflow.errors import AccessDenied, InvalidMedia, StorageError
from reelflow.specs.media import normalize_rotation


def track_rotations(path: Path, size: int) -> tuple[int, ...] | None:
    """Per-track clockwise rotation of a local MP4/MOV; ``None`` for other files.

    Raises InvalidMedia(Truncated) when a top-level box runs past the end of the file
    or the ``moov`` index is missing, the two shapes of a cut-off MP4.
    """
    try:
        with path.open("rb") as f:
            return _walk_iso(f, path, size)
    except PermissionError as exc:
        raise AccessDenied(f"source file not readable: {path}") from exc
    except OSError as exc:
        raise StorageError(f"could not read {path}: {exc.strerror}") from exc


def _walk_iso(f: IO[bytes], path: Path, size: int) -> tuple[int, ...] | None:
    if f.read(8)[4:8] != b"ftyp":
        return None
    top = list(_boxes(f, 0, size))
    if not top:
        return None  # not even one sane box: let FFmpeg judge the file
    kind, _, last_end = top[-1]  # only the last box can run past the end
    if last_end > size:
        raise InvalidMedia(
            f"{path} is truncated: its '{kind}' box needs {last_end} bytes, the file has "
            f"{size} (cut-off upload or copy)",
            code="InvalidInput.Truncated",
        )
    moov = next(((start, end) for kind, start, end in top if kind == "moov"), None)
    if moov is None:
        if any(kind == "meta" for kind, _, _ in top):
            return None  # a HEIF/AVIF still image: no movie index to expect
        raise InvalidMedia(
            f"{path} is truncated: it has no 'moov' index box, which is written last "
            "(an interrupted recording or upload)",
            code="InvalidInput.Truncated",
        )
    return tuple(
        _track_rotation(f, start, end) for kind, start, end in _boxes(f, *moov) if kind == "trak"
    )


def _track_rotation(f: IO[bytes], start: int, end: int) -> int:
    for kind, box_start, box_end in _boxes(f, start, end):
        if kind != "tkhd":
            continue
        f.seek(box_start)
        header = f.read(min(box_end - box_start, _TKHD_MAX))
        # version 1 has 64-bit times: 32 bytes of times/ids instead of 20.
        matrix_at = 4 + (32 if header[:1] == b"\x01" else 20) + 16
        try:
            a, b = struct.unpack_from(">ii", header, matrix_at)
        except struct.error:
            return 0
        # The 16.16 matrix row (a, b) is (cos, sin) of the clockwise display rotation.
        return normalize_rotation(math.degrees(math.atan2(b, a))) if a or b else 0
    return 0


_TKHD_MAX = 104  # bytes in a version 1 tkhd payload; more would be a broken size field
_MAX_BOXES = 200_000  # a fragmented MP4 has two boxes per fragment; stop on garbage


def _boxes(f: IO[bytes], start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """Yield ``(type, payload_start, box_end)`` for the boxes in ``[start, end)``.

    ``box_end`` may exceed ``end`` (a truncated file); a header too short to be a box
    ends the walk.
    """
    pos = start
    for _ in range(_MAX_BOXES):
        if pos + 8 > end:
            return
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            large = f.read(8)
            if len(large) < 8:
                return
            (size,) = struct.unpack(">Q", large)
            header = 16
        elif size == 0:
            size = end - pos  # "extends to the end of the file"
        if size < header:
            return
        yield kind.decode("latin-1"), pos + header, pos + size
        pos += size
