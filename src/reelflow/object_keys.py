"""Object keys and bucket names: the one place that decides what is valid.

Every backend validates keys through :func:`validate_key` before touching anything, so a
key that passes can be used as a relative path under a local root without escaping it, and
means the same thing on a local folder, in memory and on S3.
"""

from __future__ import annotations

import re
import unicodedata

from reelflow.errors import InvalidKey

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255  # the file-name limit of ext4, XFS, btrfs and APFS

#: Marks the temporary files of an unfinished write. Such names are never valid keys, so
#: no object can collide with, list, read or delete another writer's temporary file.
TEMP_MARKER = ".reelflow-tmp-"

# "C:", "c:\x", "C:/x": a drive prefix would make the key absolute on Windows.
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
# Letters/digits first so that "." and ".." (or hidden folders) can never be a bucket name,
# which matters because local buckets usually live at <data dir>/<bucket name>.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
# Bidirectional formatting characters: they make a key display as another one
# ("clip\u202egpj.exe" shows as "clipexe.jpg"), so no key may contain them.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# What a decoder puts in place of bytes that are not UTF-8 (``%ff`` in a URL path):
# storing it would silently rename the object.
_REPLACEMENT = "\ufffd"


def validate_key(key: str) -> str:
    """Return the normalized form of ``key`` or raise :class:`InvalidKey` saying why.

    Normalization strips one leading ``/`` (the compatible API writes ``/movie/a.mov``);
    nothing else is rewritten (no Unicode normalization, no case folding). Rejected:
    empty keys, ``.``/``..`` or empty segments, keys ending in ``/``, backslashes, Windows
    drive prefixes, control characters (NUL included), bidirectional formatting characters
    (U+202E ...), U+FFFD (bytes that were not UTF-8, replaced when decoded), more than 1024
    UTF-8 bytes in all or 255 in one segment, and names reserved for temporary files.
    Unicode and spaces are fine.
    """
    normalized = key.removeprefix("/")
    if not normalized:
        raise InvalidKey("object key is empty")
    for char in normalized:
        category = unicodedata.category(char)
        if category == "Cc":
            raise InvalidKey(
                f"object key {key!r} contains the control character U+{ord(char):04X}; "
                "keys must be printable text"
            )
        if category == "Cs" or char == _REPLACEMENT:
            # Lone surrogates come from undecodable file names, U+FFFD from undecodable
            # URL paths: either way the name as sent was not UTF-8.
            raise InvalidKey(
                f"object key {key!r} is not valid Unicode (U+{ord(char):04X}); send keys as "
                "UTF-8, percent-encoded in URLs"
            )
        if char in _BIDI_CONTROLS:
            raise InvalidKey(
                f"object key {key!r} contains the bidirectional control U+{ord(char):04X}, "
                "which would make it display as another name"
            )
    if "\\" in normalized:
        raise InvalidKey(f"object key {key!r} contains a backslash; separate folders with '/'")
    if _WINDOWS_DRIVE.match(normalized):
        raise InvalidKey(f"object key {key!r} starts with a drive letter; keys are relative")
    if normalized.endswith("/"):
        raise InvalidKey(f"object key {key!r} ends with '/'; it names a folder, not an object")
    size = len(normalized.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise InvalidKey(f"object key is {size} bytes long in UTF-8; the limit is {MAX_KEY_BYTES}")
    for segment in normalized.split("/"):
        _check_segment(key, segment)
    return normalized


def _check_segment(key: str, segment: str) -> None:
    if not segment:
        raise InvalidKey(f"object key {key!r} contains an empty segment ('//' or a leading '/')")
    if segment in (".", ".."):
        raise InvalidKey(f"object key {key!r} contains a {segment!r} segment")
    size = len(segment.encode("utf-8"))
    if size > MAX_SEGMENT_BYTES:
        raise InvalidKey(
            f"object key {key!r} has a segment of {size} bytes in UTF-8; "
            f"the limit is {MAX_SEGMENT_BYTES}"
        )
    if TEMP_MARKER in segment:
        raise InvalidKey(
            f"object key {key!r} contains {TEMP_MARKER!r}, reserved for temporary files"
        )


def is_temporary_name(name: str) -> bool:
    """Tell whether a file name is an unfinished write's temporary file."""
    return TEMP_MARKER in name


def validate_bucket_name(name: str) -> str:
    """Return ``name`` if it is a valid bucket name, else raise :class:`InvalidKey`.

    Valid: 1 to 63 characters from lowercase letters, digits, ``-``, ``.`` and ``_``,
    starting with a letter or a digit (so ``.``, ``..`` and hidden names are excluded).
    """
    if not _BUCKET_NAME.fullmatch(name):
        raise InvalidKey(
            f"invalid bucket name {name!r}: use 1 to 63 lowercase letters, digits, '-', '.' "
            "or '_', starting with a letter or a digit",
            code="InvalidParameterValue.Bucket",
        )
    return name


def split_key(key: str) -> tuple[str, str, str]:
    """Split a key into ``(dir, stem, ext)`` for naming outputs after their source.

    ``dir`` keeps its trailing ``/`` (``""`` at the top level) and ``ext`` has no dot, so
    ``"up/a.b.mp4" -> ("up/", "a.b", "mp4")``. A name without a dot, or whose only dot is
    the first character (``.env``) or the last (``a.``), has ``ext == ""``. The key is
    validated first; for the normalized key, ``dir + stem + ("." + ext if ext else "")``
    gives it back.
    """
    normalized = validate_key(key)
    folder, _, name = normalized.rpartition("/")
    directory = f"{folder}/" if folder else ""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext:
        return directory, name, ""
    return directory, stem, ext


def temporary_name(name: str, unique: str) -> str:
    """The temporary file name under which ``name`` is written before its rename.

    Hidden (leading dot) and marked with :data:`TEMP_MARKER`. The visible part is cut to
    150 UTF-8 bytes so the result stays under the 255-byte file-name limit.
    """
    short = name.encode("utf-8")[:150].decode("utf-8", errors="ignore")
    return f".{short}{TEMP_MARKER}{unique}"
