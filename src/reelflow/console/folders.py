"""Browsing a bucket by folder, over a storage whose listing is flat (keys by prefix).

A folder is the part of a key up to the next ``/`` after the current prefix. Rather than
read every key below a folder, the listing skips past it: after meeting ``a/b/x`` under the
prefix ``a/`` it lists again from just after ``a/b/`` + the highest code point, so each
sub-folder costs one storage call whatever it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelflow.storage.base import ObjectInfo, Storage

PAGE = 200
_BATCH = 200
_AFTER_ALL = "\U0010ffff"  # sorts after every character a key may contain


@dataclass(frozen=True)
class Listing:
    prefix: str
    folders: tuple[str, ...]  # full prefixes, each ending in "/"
    objects: tuple[ObjectInfo, ...]
    next_after: str | None  # pass as ``after`` for the next page

    @property
    def crumbs(self) -> list[tuple[str, str]]:
        """``(name, prefix)`` of each folder from the root down to this one."""
        parts = [p for p in self.prefix.split("/") if p]
        return [(part, "/".join(parts[: i + 1]) + "/") for i, part in enumerate(parts)]

    @property
    def parent(self) -> str | None:
        if not self.prefix:
            return None
        parts = [p for p in self.prefix.split("/") if p]
        return "/".join(parts[:-1]) + "/" if len(parts) > 1 else ""


def normalize_prefix(prefix: str) -> str:
    """``/in`` -> ``in/``; ``""`` is the bucket's root."""
    folder = prefix.strip().strip("/")
    return folder + "/" if folder else ""


def list_folder(storage: Storage, prefix: str, after: str = "", page: int = PAGE) -> Listing:
    """Up to ``page`` folders and objects directly under ``prefix``, by name."""
    prefix = normalize_prefix(prefix)
    folders: list[str] = []
    objects: list[ObjectInfo] = []
    cursor = after
    more = True
    while more and len(folders) + len(objects) < page:
        batch = storage.list(prefix, start_after=cursor, limit=_BATCH)
        more = len(batch) == _BATCH
        for info in batch:
            rest = info.key[len(prefix) :]
            head, slash, _ = rest.partition("/")
            if slash:
                folders.append(prefix + head + "/")
                cursor = prefix + head + "/" + _AFTER_ALL
                more = True  # list again from past this folder
                break
            objects.append(info)
            cursor = info.key
            if len(folders) + len(objects) >= page:
                break
    full = len(folders) + len(objects) >= page
    # A full page may be followed by an empty one; a short page is the last.
    return Listing(
        prefix=prefix,
        folders=tuple(folders),
        objects=tuple(objects),
        next_after=cursor if full else None,
    )
