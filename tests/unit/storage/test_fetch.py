"""``Storage.fetch_to`` rides out a store that is away: it resumes a cut read at the byte
where it stopped, retries within its patience, and starts over if the object changed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import pytest

from reelflow.errors import StorageUnavailable
from reelflow.storage.base import ObjectInfo
from reelflow.storage.memory import MemoryStorage

MIB = 1024 * 1024
DATA = bytes(range(256)) * 4096 * 3  # 3 MiB: three chunks of fetch_to


def cut() -> StorageUnavailable:
    return StorageUnavailable("connection reset", dependency="bucket 'media'")


class CutStream(io.RawIOBase):
    """Yields ``data`` then fails after ``limit`` bytes, like a reset connection."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit, self.pos = data, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.pos >= self.limit:
            raise cut()
        n = min(len(buffer), self.limit - self.pos, len(self.data) - self.pos)
        buffer[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


class FlakyStorage(MemoryStorage):
    """Reads are cut after ``cut_after`` bytes for the first ``cuts`` opens; the first
    ``stat_failures`` stats fail; ``on_open`` may change the object between reads."""

    def __init__(self) -> None:
        super().__init__("media")
        self.cuts = 0
        self.cut_after = MIB + MIB // 2
        self.stat_failures = 0
        self.open_failures = 0
        self.opened: list[int] = []
        self.replace_on_open: bytes | None = None

    def stat(self, key: str) -> ObjectInfo:
        if self.stat_failures:
            self.stat_failures -= 1
            raise cut()
        return super().stat(key)

    def open_read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        self.opened.append(start)
        if self.open_failures:
            self.open_failures -= 1
            raise cut()
        stream = super().open_read(key, start, end)
        if self.replace_on_open is not None and len(self.opened) == 2:
            self.put_bytes(key, self.replace_on_open)
        if self.cuts:
            self.cuts -= 1
            return io.BufferedReader(CutStream(stream.read(), self.cut_after))
        return stream


@pytest.fixture
def storage() -> FlakyStorage:
    storage = FlakyStorage()
    storage.put_bytes("in/a.mp4", DATA)
    return storage


def test_a_cut_read_resumes_where_it_stopped(storage: FlakyStorage, tmp_path: Path) -> None:
    storage.cuts = 2
    dest = storage.fetch_to("in/a.mp4", tmp_path / "src.mp4", patience=5)
    assert dest.read_bytes() == DATA
    # Ranged reads from the last whole chunk written, never from 0 again.
    assert storage.opened == [0, MIB, 2 * MIB]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.mp4"]


def test_an_unavailable_store_is_waited_for_within_the_patience(
    storage: FlakyStorage, tmp_path: Path
) -> None:
    storage.stat_failures = 1
    storage.open_failures = 1
    dest = storage.fetch_to("in/a.mp4", tmp_path / "src.mp4", patience=30)
    assert dest.read_bytes() == DATA


def test_without_patience_the_outage_is_raised_and_nothing_is_left(
    storage: FlakyStorage, tmp_path: Path
) -> None:
    storage.cuts = 1
    with pytest.raises(StorageUnavailable) as caught:
        storage.fetch_to("in/a.mp4", tmp_path / "out" / "src.mp4")
    assert caught.value.dependency == "bucket 'media'"
    assert list((tmp_path / "out").iterdir()) == []


def test_an_object_replaced_during_the_fetch_is_fetched_again_whole(
    storage: FlakyStorage, tmp_path: Path
) -> None:
    storage.cuts = 1
    storage.replace_on_open = b"new" * 1000
    storage.opened.append(-1)  # the replacement happens at the resumed open (the second)
    dest = storage.fetch_to("in/a.mp4", tmp_path / "src.mp4", patience=5)
    assert dest.read_bytes() == b"new" * 1000
