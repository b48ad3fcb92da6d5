"""The storage contract, run against every backend that needs no network."""

import hashlib
import io
import os
import re
from datetime import UTC
from pathlib import Path

import pytest

from reelflow.errors import InvalidKey, ObjectNotFound
from reelflow.storage.base import CHUNK_SIZE, Storage
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.memory import MemoryStorage


@pytest.fixture(params=["local", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage("bucket", tmp_path / "bucket")
    return MemoryStorage("bucket")


def leftovers(storage: Storage) -> list[str]:
    """Everything the backend physically holds, temporary files included."""
    if isinstance(storage, LocalStorage):
        return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*"))
    return [info.key for info in storage.list()]


class Exploding(io.BytesIO):
    """A source stream that fails after yielding ``good`` bytes."""

    def __init__(self, good: int) -> None:
        super().__init__(b"x" * good)

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data:
            raise ConnectionResetError("source went away")
        return data


def test_put_then_stat_and_read(storage: Storage) -> None:
    data = b"hello, reelflow"
    info = storage.put_bytes("up/a.mp4", data)

    assert info.key == "up/a.mp4"
    assert info.size == len(data)
    assert info.etag == hashlib.md5(data).hexdigest()
    assert info.modified.tzinfo is UTC
    assert info.content_type == "video/mp4"
    assert storage.stat("up/a.mp4") == info
    assert storage.read_bytes("up/a.mp4") == data
    assert storage.exists("up/a.mp4")


def test_leading_slash_names_the_same_object(storage: Storage) -> None:
    storage.put_bytes("/movie/201907/a.mov", b"x")
    assert storage.stat("movie/201907/a.mov").key == "movie/201907/a.mov"
    assert storage.read_bytes("/movie/201907/a.mov") == b"x"


def test_put_file_streams_large_files(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    data = os.urandom(3 * CHUNK_SIZE + 17)
    source.write_bytes(data)

    info = storage.put_file("big.bin", source)

    assert info.size == len(data)
    # S3 names a multipart upload's object "<md5 of the parts' md5s>-<parts>" instead.
    assert info.etag == hashlib.md5(data).hexdigest() or re.fullmatch(
        r"[0-9a-f]{32}-\d+", info.etag
    )
    assert storage.read_bytes("big.bin") == data


def test_overwrite_replaces_the_whole_object(storage: Storage) -> None:
    storage.put_bytes("a.txt", b"a much longer first version")
    info = storage.put_bytes("a.txt", b"v2")
    assert storage.read_bytes("a.txt") == b"v2"
    assert storage.stat("a.txt") == info
    assert [i.key for i in storage.list()] == ["a.txt"]


def test_empty_object(storage: Storage) -> None:
    info = storage.put_bytes("empty", b"")
    assert info.size == 0
    assert info.etag == hashlib.md5(b"").hexdigest()
    assert storage.read_bytes("empty") == b""


def test_content_type_is_guessed_from_the_key(storage: Storage) -> None:
    assert storage.put_bytes("s/index.m3u8", b"#EXTM3U").content_type == (
        "application/vnd.apple.mpegurl"
    )
    assert storage.put_bytes("s/seg-1.ts", b"").content_type == "video/mp2t"
    assert storage.put_bytes("s/sprite.vtt", b"").content_type == "text/vtt"
    assert storage.put_bytes("s/blob", b"").content_type == "application/octet-stream"


def test_explicit_content_type_round_trips_through_stat(storage: Storage) -> None:
    info = storage.put_bytes("x.bin", b"1", content_type="video/mp4")
    # A local folder cannot keep it and derives it from the key, but stat always agrees.
    assert info.content_type in ("video/mp4", "application/octet-stream")
    assert storage.stat("x.bin").content_type == info.content_type


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, b"0123456789"),
        (3, None, b"3456789"),
        (0, 0, b"0"),
        (2, 5, b"2345"),
        (9, 9, b"9"),
        (5, 100, b"56789"),
        (10, None, b""),
        (50, 60, b""),
    ],
)
def test_range_reads_are_inclusive(
    storage: Storage, start: int, end: int | None, expected: bytes
) -> None:
    storage.put_bytes("digits", b"0123456789")
    with storage.open_read("digits", start, end) as stream:
        assert stream.read() == expected


def test_range_read_in_small_pieces(storage: Storage) -> None:
    storage.put_bytes("digits", b"0123456789")
    with storage.open_read("digits", 1, 7) as stream:
        pieces = [stream.read(3), stream.read(3), stream.read(3), stream.read(3)]
    assert pieces == [b"123", b"456", b"7", b""]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 4)])
def test_invalid_ranges_raise_value_error(storage: Storage, start: int, end: int | None) -> None:
    storage.put_bytes("digits", b"0123456789")
    with pytest.raises(ValueError, match="range"):
        storage.open_read("digits", start, end)


def test_missing_objects(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound, match=r"'nope\.mp4' does not exist in bucket 'bucket'"):
        storage.stat("nope.mp4")
    with pytest.raises(ObjectNotFound):
        storage.open_read("nope.mp4")
    with pytest.raises(ObjectNotFound):
        storage.fetch_to("nope.mp4", tmp_path / "out" / "nope.mp4")
    assert not (tmp_path / "out").exists()
    assert not storage.exists("nope.mp4")
    assert not storage.exists("dir/nope.mp4")


def test_a_prefix_folder_is_not_an_object(storage: Storage) -> None:
    storage.put_bytes("dir/a", b"x")
    with pytest.raises(ObjectNotFound):
        storage.stat("dir")
    assert not storage.exists("dir")


def test_invalid_keys_are_rejected_everywhere(storage: Storage, tmp_path: Path) -> None:
    bad = "../escape"
    with pytest.raises(InvalidKey):
        storage.put_bytes(bad, b"x")
    with pytest.raises(InvalidKey):
        storage.stat(bad)
    with pytest.raises(InvalidKey):
        storage.exists(bad)
    with pytest.raises(InvalidKey):
        storage.open_read(bad)
    with pytest.raises(InvalidKey):
        storage.delete(bad)
    with pytest.raises(InvalidKey):
        storage.fetch_to(bad, tmp_path / "x")
    assert leftovers(storage) == []


def test_delete_is_idempotent(storage: Storage) -> None:
    storage.put_bytes("a/b/c.mp4", b"x")
    storage.put_bytes("a/keep.mp4", b"y")

    storage.delete("a/b/c.mp4")
    storage.delete("a/b/c.mp4")
    storage.delete("never/was.mp4")

    assert not storage.exists("a/b/c.mp4")
    assert [i.key for i in storage.list()] == ["a/keep.mp4"]


def test_unicode_and_spaces_in_keys(storage: Storage) -> None:
    keys = ["视频/上传 1/片段 A.mp4", "up/My Holiday 🎬.mov", "up/naïve café.mp4"]
    for i, key in enumerate(keys):
        storage.put_bytes(key, bytes([i]))
    for i, key in enumerate(keys):
        assert storage.stat(key).key == key
        assert storage.read_bytes(key) == bytes([i])
    assert [info.key for info in storage.list()] == sorted(keys)
    assert [info.key for info in storage.list("视频/")] == ["视频/上传 1/片段 A.mp4"]


def test_list_is_sorted_recursive_and_filtered_by_prefix(storage: Storage) -> None:
    # Chosen so that a naive walk order (folder "a" before file "a-b") would be wrong:
    # in key order "a-b" < "a.b" < "a/..." < "a0".
    keys = ["a/x/y", "a/b", "a0", "a-b", "a.b", "b", "a/x.txt", "ab/c"]
    for key in keys:
        storage.put_bytes(key, b"")

    assert [i.key for i in storage.list()] == sorted(keys)
    assert [i.key for i in storage.list("a/")] == ["a/b", "a/x.txt", "a/x/y"]
    assert [i.key for i in storage.list("/a/")] == ["a/b", "a/x.txt", "a/x/y"]
    assert [i.key for i in storage.list("a/x")] == ["a/x.txt", "a/x/y"]
    assert [i.key for i in storage.list("a")] == sorted(k for k in keys if k.startswith("a"))
    assert storage.list("nothing/here") == []
    assert storage.list("../") == []


def test_list_returns_full_object_info(storage: Storage) -> None:
    info = storage.put_bytes("up/a.mp4", b"abc")
    assert storage.list("up/") == [info]


def test_list_pagination_with_start_after(storage: Storage) -> None:
    keys = [*sorted(f"p/{i:02d}/f{i}.mp4" for i in range(23)), "q"]
    for key in keys:
        storage.put_bytes(key, b"")

    pages: list[list[str]] = []
    marker = ""
    while page := storage.list("p/", start_after=marker, limit=5):
        pages.append([i.key for i in page])
        marker = page[-1].key

    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [k for page in pages for k in page] == keys[:-1]
    assert [i.key for i in storage.list(start_after="p/10/f10.mp4", limit=2)] == [
        "p/11/f11.mp4",
        "p/12/f12.mp4",
    ]
    assert [i.key for i in storage.list(start_after="p/")] == keys
    assert [i.key for i in storage.list(start_after="p0")] == ["q"]


def test_list_limit_must_be_positive(storage: Storage) -> None:
    with pytest.raises(ValueError, match="limit"):
        storage.list(limit=0)


def test_failed_put_leaves_no_object_and_no_temporary_file(storage: Storage) -> None:
    with pytest.raises(ConnectionResetError):
        storage.put_stream("up/out.mp4", (Exploding(CHUNK_SIZE + 10)))

    assert not storage.exists("up/out.mp4")
    assert storage.list() == []
    assert [p for p in leftovers(storage) if "reelflow-tmp" in p] == []


def test_failed_overwrite_keeps_the_previous_object(storage: Storage) -> None:
    info = storage.put_bytes("up/out.mp4", b"previous")
    with pytest.raises(ConnectionResetError):
        storage.put_stream("up/out.mp4", (Exploding(3 * CHUNK_SIZE)))

    assert storage.read_bytes("up/out.mp4") == b"previous"
    assert storage.stat("up/out.mp4") == info
    assert leftovers(storage) in (["up", "up/out.mp4"], ["up/out.mp4"])


def test_fetch_to_copies_to_a_local_file(storage: Storage, tmp_path: Path) -> None:
    data = os.urandom(CHUNK_SIZE + 5)
    storage.put_bytes("src/a.mov", data)
    dest = tmp_path / "work" / "deep" / "a.mov"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"stale")

    assert storage.fetch_to("src/a.mov", dest) == dest
    assert dest.read_bytes() == data
    assert sorted(os.listdir(dest.parent)) == ["a.mov"]


def test_presigned_url_is_none_without_a_server(storage: Storage) -> None:
    storage.put_bytes("a", b"")
    assert storage.presigned_url("a") is None


def test_name_and_repr(storage: Storage) -> None:
    assert storage.name == "bucket"
    assert "bucket" in repr(storage)
