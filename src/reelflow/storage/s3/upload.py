"""Streamed, atomic uploads to S3: one PutObject for a small object, else a multipart upload.

An S3 object appears only when its upload completes, so a failed upload leaves nothing but
an unfinished multipart upload, which is aborted here. Memory stays bounded: at most
``concurrency`` parts are in flight plus the one being read from the stream.

Part sizes start at ``part_size`` and double every 1,000 parts, so the 10,000-part limit of
S3 is never reached by a stream of unknown length (8 MiB parts reach 70 GiB at part 7,000
and keep growing; the last part may be smaller, as S3 allows).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

log = logging.getLogger(__name__)

MAX_PART_SIZE = 5 * 1024**3
PARTS_PER_STEP = 1000

Translate = Callable[[Exception], Exception]


def part_size_for(number: int, base: int) -> int:
    """The size of part ``number`` (from 1) when parts start at ``base`` bytes."""
    return min(base << ((number - 1) // PARTS_PER_STEP), MAX_PART_SIZE)


def read_full(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes from ``stream``: short only at EOF. The stream's errors propagate."""
    pieces: list[bytes] = []
    left = size
    while left > 0:
        piece = stream.read(left)
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


class Upload:
    """One streamed upload of ``stream`` to ``bucket``/``key``; call :meth:`run`."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        *,
        content_type: str,
        part_size: int,
        concurrency: int,
        translate: Translate,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.content_type = content_type
        self.part_size = part_size
        self.concurrency = max(1, concurrency)
        self.translate = translate

    def run(self, stream: BinaryIO) -> None:
        """Upload everything ``stream`` yields. Errors of S3 are raised translated; errors of
        the stream propagate unchanged; either way nothing is left behind."""
        first = read_full(stream, self.part_size)
        if len(first) < self.part_size:
            try:
                self.client.put_object(
                    Bucket=self.bucket, Key=self.key, Body=first, ContentType=self.content_type
                )
            except (ClientError, BotoCoreError) as exc:
                raise self.translate(exc) from exc
            return
        try:
            created = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )
        except (ClientError, BotoCoreError) as exc:
            raise self.translate(exc) from exc
        upload_id = created["UploadId"]
        try:
            parts = self._parts(stream, first, upload_id)
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except (ClientError, BotoCoreError) as exc:
            self._abort(upload_id)
            raise self.translate(exc) from exc
        except BaseException:
            self._abort(upload_id)
            raise

    def _parts(self, stream: BinaryIO, first: bytes, upload_id: str) -> list[CompletedPartTypeDef]:
        done: list[CompletedPartTypeDef] = []
        pending: deque[Future[CompletedPartTypeDef]] = deque()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="s3-part") as pool:
            try:
                number, chunk = 1, first
                while chunk:
                    pending.append(pool.submit(self._part, upload_id, number, chunk))
                    if len(pending) >= self.concurrency:
                        done.append(pending.popleft().result())
                    number += 1
                    chunk = read_full(stream, part_size_for(number, self.part_size))
                while pending:
                    done.append(pending.popleft().result())
            finally:
                for future in pending:
                    future.cancel()
        return done

    def _part(self, upload_id: str, number: int, data: bytes) -> CompletedPartTypeDef:
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"ETag": answer["ETag"], "PartNumber": number}

    def _abort(self, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as exc:
            # The parts stay invisible (no object appears); a bucket lifecycle rule for
            # incomplete multipart uploads reclaims them.
            log.warning("could not abort the multipart upload of %s: %s", self.key, exc)
