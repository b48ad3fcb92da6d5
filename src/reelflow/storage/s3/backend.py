"""A bucket on an S3-compatible store (AWS S3, MinIO, COS, ...) through boto3.

Needs the ``s3`` extra (``pip install 'reelflow[s3]'``); :func:`reelflow.storage.registry`
imports this module only when a bucket is configured with ``backend = "s3"``.
"""

from __future__ import annotations

import builtins
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from reelflow.errors import InvalidKey, ObjectNotFound, StorageError
from reelflow.object_keys import validate_key
from reelflow.storage.base import (
    CHUNK_SIZE,
    Capabilities,
    ObjectInfo,
    Storage,
    check_range,
    guess_content_type,
)
from reelflow.storage.s3.errors import NOT_FOUND_CODES, error_code, translate
from reelflow.storage.s3.upload import Upload

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from botocore.response import StreamingBody
    from mypy_boto3_s3.client import S3Client

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last


@dataclass(frozen=True)
class S3Options:
    """How to reach one S3 bucket. Empty credentials use boto3's default chain (environment,
    instance role...). ``prefix`` ('' or ending in '/') is where this reelflow bucket lives
    inside the S3 bucket."""

    endpoint: str
    region: str
    bucket: str
    access_key: str = ""
    secret_key: str = ""
    prefix: str = ""
    addressing_style: Literal["path", "virtual", "auto"] = "path"
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 5
    part_size: int = 8 * 1024 * 1024
    concurrency: int = 4


def make_client(options: S3Options) -> S3Client:
    config = Config(
        region_name=options.region,
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"max_attempts": options.max_attempts, "mode": "standard"},
        s3={"addressing_style": options.addressing_style},
        signature_version="s3v4",
        # S3-compatible stores (older MinIO, COS) reject the newer default checksum headers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=max(10, options.concurrency * 2),
    )
    session = boto3.session.Session(
        aws_access_key_id=options.access_key or None,
        aws_secret_access_key=options.secret_key or None,
        region_name=options.region,
    )
    client: S3Client = session.client("s3", endpoint_url=options.endpoint or None, config=config)
    return client


class S3Storage(Storage):
    """Objects are the S3 objects under ``options.prefix`` in ``options.bucket``.

    Writes are atomic by nature (an object appears when its upload completes; see
    :mod:`reelflow.storage.s3.upload`). ETags are S3's: the MD5 of the content for a single
    PUT, ``<md5>-<parts>`` after a multipart upload. Times are whole seconds (S3's HTTP
    dates). :meth:`list` reports the content type implied by the key, since S3 listings do
    not carry it; :meth:`stat` reports the stored one.
    """

    def __init__(self, name: str, options: S3Options, *, client: S3Client | None = None) -> None:
        super().__init__(name)
        prefix = options.prefix.strip("/")
        if prefix:
            validate_key(prefix)
        self.options = options
        self.region = options.region
        self.bucket = options.bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.capabilities = Capabilities(native_events=True, key_prefix=self.prefix)
        self.endpoint = options.endpoint or "AWS S3"
        self.client = client if client is not None else make_client(options)

    def __repr__(self) -> str:
        return f"S3Storage({self.name!r}, s3://{self.bucket}/{self.prefix} at {self.endpoint})"

    # -- writing -------------------------------------------------------------------------

    def put_stream(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        key = validate_key(key)
        Upload(
            self.client,
            self.bucket,
            self.prefix + key,
            content_type=content_type or guess_content_type(key),
            part_size=self.options.part_size,
            concurrency=self.options.concurrency,
            translate=lambda exc: self._error(exc, key, "cannot write"),
        ).run(stream)
        return self.stat(key)

    def delete(self, key: str) -> None:
        key = validate_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except (ClientError, BotoCoreError) as exc:
            error = self._error(exc, key, "cannot delete")
            if isinstance(error, ObjectNotFound):
                return
            raise error from exc

    # -- reading -------------------------------------------------------------------------

    def open_read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        check_range(start, end)
        key = validate_key(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.prefix + key}
        if start or end is not None:
            params["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            answer = self.client.get_object(**params)
        except ClientError as exc:
            if error_code(exc) == "InvalidRange":
                return io.BytesIO(b"")  # the object exists; the range starts past its end
            raise self._missing_or(exc, key, "cannot read") from exc
        except BotoCoreError as exc:
            raise self._error(exc, key, "cannot read") from exc
        body = _Body(answer["Body"], lambda exc: self._error(exc, key, "cannot read"))
        return io.BufferedReader(body, CHUNK_SIZE)

    def stat(self, key: str) -> ObjectInfo:
        key = validate_key(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            raise self._missing_or(exc, key, "cannot stat") from exc
        except BotoCoreError as exc:
            raise self._error(exc, key, "cannot stat") from exc
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            etag=head["ETag"].strip('"'),
            modified=_utc(head["LastModified"]),
            content_type=head.get("ContentType") or guess_content_type(key),
        )

    def list(
        self, prefix: str = "", *, start_after: str = "", limit: int = 1000
    ) -> builtins.list[ObjectInfo]:
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, got {limit}")
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix + prefix.removeprefix("/"),
            "MaxKeys": min(1000, limit),
        }
        if start_after:
            params["StartAfter"] = self.prefix + start_after
        found: builtins.list[ObjectInfo] = []
        while True:
            try:
                page = self.client.list_objects_v2(**params)
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, prefix, "cannot list") from exc
            for item in page.get("Contents", []):
                info = self._listed(item)
                if info is not None:
                    found.append(info)
                    if len(found) == limit:
                        return found
            if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
                return found
            params["ContinuationToken"] = page["NextContinuationToken"]

    def presigned_url(self, key: str, expires: int = 3600) -> str:
        key = validate_key(key)
        try:
            return self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.prefix + key},
                ExpiresIn=expires,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, key, "cannot sign a URL for") from exc

    # -- start-up checks and the poller's clock -------------------------------------------

    def check(self) -> str:
        """Reach the bucket (HeadBucket); return the region S3 reports ('' if none).

        ``StorageError`` if the endpoint is unreachable or the bucket missing."""
        headers = self._head_bucket()
        return headers.get("x-amz-bucket-region", "")

    def server_time(self) -> datetime:
        """The store's clock (the ``Date`` of a HeadBucket answer): object times are on it."""
        date = self._head_bucket().get("date", "")
        try:
            return parsedate_to_datetime(date).astimezone(UTC)
        except (TypeError, ValueError):
            return datetime.now(UTC).replace(microsecond=0)

    # -- helpers -------------------------------------------------------------------------

    def _head_bucket(self) -> dict[str, str]:
        try:
            answer = self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND_CODES:
                raise StorageError(
                    f"bucket '{self.name}': the S3 bucket '{self.bucket}' does not exist at "
                    f"{self.endpoint}",
                    code="StorageError.NoSuchBucket",
                ) from exc
            raise self._error(exc, "", "cannot reach") from exc
        except BotoCoreError as exc:
            raise self._error(exc, "", "cannot reach") from exc
        headers: dict[str, str] = answer["ResponseMetadata"]["HTTPHeaders"]
        return headers

    def _listed(self, item: Any) -> ObjectInfo | None:
        full: str = item["Key"]
        key = full[len(self.prefix) :]
        try:
            validate_key(key)
        except InvalidKey:
            return None  # "a//b", folder markers "x/": not reachable through the contract
        return ObjectInfo(
            key=key,
            size=int(item["Size"]),
            etag=str(item["ETag"]).strip('"'),
            modified=_utc(item["LastModified"]),
            content_type=guess_content_type(key),
        )

    def _missing_or(self, exc: ClientError, key: str, action: str) -> StorageError:
        """A 404 of HEAD/GET means a missing object, or a missing bucket: tell which."""
        error = self._error(exc, key, action)
        if isinstance(error, ObjectNotFound) and error_code(exc) != "NoSuchKey":
            self._head_bucket()  # raises StorageError.NoSuchBucket if that is the reason
        return error

    def _error(self, exc: Exception, key: str, action: str) -> StorageError:
        what = f"{action} '{key}' in bucket '{self.name}'" if key else f"{action} {self!r}"
        return translate(
            exc,
            what,
            endpoint=self.endpoint,
            missing=f"object '{key}' does not exist in bucket '{self.name}'",
            bucket=self.name,
        )


def _utc(value: datetime) -> datetime:
    # HEAD gives whole seconds, listings milliseconds: both are cut to seconds so they agree.
    return value.astimezone(UTC).replace(microsecond=0)


class _Body(io.RawIOBase):
    """A GetObject body as a raw stream whose errors are reelflow's."""

    def __init__(self, body: StreamingBody, translate_error: Any) -> None:
        super().__init__()
        self._body = body
        self._translate = translate_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except (BotoCoreError, OSError) as exc:
            raise self._translate(exc) from exc
        count = len(data)
        view[:count] = data
        return count

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
