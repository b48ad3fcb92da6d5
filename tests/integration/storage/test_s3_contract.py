"""The storage contract (tests/unit/storage/test_contract.py) run against ``S3Storage`` on
moto's S3 server, plus what only S3 has: multipart uploads, presigned URLs, prefixes and
error translation."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import httpx
import pytest

from reelflow.errors import AccessDenied, ObjectNotFound, StorageError
from reelflow.storage.base import Capabilities, Storage
from tests.s3server import TEST_PART_SIZE, MotoServer
from tests.unit.storage.test_contract import *  # noqa: F403  (the suite, re-run here)
from tests.unit.storage.test_contract import Exploding

pytestmark = pytest.mark.integration


@pytest.fixture
def storage(moto: MotoServer) -> Storage:  # replaces the suite's local/memory fixture
    from reelflow.storage.s3.backend import S3Storage

    return S3Storage("bucket", moto.options(moto.create_bucket()))


def test_presigned_url_is_none_without_a_server(storage: Storage) -> None:
    # Replaces the suite's test of the same name: S3 has a server, and its URL works.
    storage.put_bytes("a b/ç.mp4", b"signed")
    url = storage.presigned_url("a b/ç.mp4")
    assert url is not None
    assert httpx.get(url).content == b"signed"
    ranged = httpx.get(url, headers={"Range": "bytes=1-3"})
    assert ranged.status_code == 206
    assert ranged.content == b"ign"


def test_multipart_upload_of_a_stream(storage: Storage) -> None:
    data = os.urandom(3 * TEST_PART_SIZE + 1234)
    info = storage.put_stream("big/movie.mp4", io.BytesIO(data))
    assert info.size == len(data)
    assert info.etag.endswith("-4")  # S3's multipart ETag: <md5 of md5s>-<parts>
    assert storage.read_bytes("big/movie.mp4") == data
    assert (
        storage.read_bytes("big/movie.mp4", TEST_PART_SIZE - 2, TEST_PART_SIZE + 1)
        == (data[TEST_PART_SIZE - 2 : TEST_PART_SIZE + 2])
    )
    assert hashlib.md5(storage.read_bytes("big/movie.mp4")).digest() == hashlib.md5(data).digest()


def test_a_failed_multipart_upload_is_aborted(moto: MotoServer, storage: Storage) -> None:
    from reelflow.storage.s3.backend import S3Storage

    assert isinstance(storage, S3Storage)
    with pytest.raises(ConnectionResetError):
        storage.put_stream("big/out.mp4", Exploding(3 * TEST_PART_SIZE))
    assert storage.list() == []
    uploads = moto.client().list_multipart_uploads(Bucket=storage.bucket)
    assert uploads.get("Uploads", []) == []


def test_prefix_maps_keys_inside_the_s3_bucket(moto: MotoServer) -> None:
    from reelflow.storage.s3.backend import S3Storage

    name = moto.create_bucket()
    inner = S3Storage("inner", moto.options(name, prefix="/tenants/a/"))
    whole = S3Storage("whole", moto.options(name))
    inner.put_bytes("up/x.mp4", b"1")
    whole.put_bytes("elsewhere.mp4", b"2")

    assert [i.key for i in whole.list()] == ["elsewhere.mp4", "tenants/a/up/x.mp4"]
    assert [i.key for i in inner.list()] == ["up/x.mp4"]
    assert inner.read_bytes("up/x.mp4") == b"1"
    assert not inner.exists("elsewhere.mp4")
    assert inner.capabilities == Capabilities(native_events=True, key_prefix="tenants/a/")
    assert whole.capabilities == Capabilities(native_events=True, key_prefix="")


def test_region_is_exposed(storage: Storage) -> None:
    from tests.s3server import REGION

    assert storage.region == REGION


def test_missing_bucket_is_a_storage_error(moto: MotoServer, tmp_path: Path) -> None:
    from reelflow.storage.s3.backend import S3Storage

    gone = S3Storage("gone", moto.options("no-such-bucket-here"))
    with pytest.raises(StorageError) as caught:
        gone.put_bytes("a.mp4", b"x")
    assert caught.value.code == "StorageError.NoSuchBucket"
    assert not isinstance(caught.value, ObjectNotFound)
    with pytest.raises(StorageError) as head:
        gone.stat("a.mp4")
    assert head.value.code == "StorageError.NoSuchBucket"
    with pytest.raises(StorageError, match="does not exist"):
        gone.check()


def test_unreachable_endpoint_is_retryable_and_named(tmp_path: Path) -> None:
    from reelflow.storage.s3.backend import S3Options, S3Storage
    from tests.servers import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    storage = S3Storage(
        "down",
        S3Options(
            endpoint=endpoint,
            region="r",
            bucket="b",
            access_key="a",
            secret_key="s",
            connect_timeout=0.5,
            read_timeout=0.5,
            max_attempts=1,
        ),
    )
    with pytest.raises(StorageError) as caught:
        storage.put_bytes("a.mp4", b"x")
    assert caught.value.retryable
    assert endpoint in caught.value.message
    assert not isinstance(caught.value, (ObjectNotFound, AccessDenied))


def test_server_time_is_the_stores_clock(storage: Storage) -> None:
    from reelflow.storage.s3.backend import S3Storage

    assert isinstance(storage, S3Storage)
    info = storage.put_bytes("t.mp4", b"x")
    assert abs((storage.server_time() - info.modified).total_seconds()) < 5
