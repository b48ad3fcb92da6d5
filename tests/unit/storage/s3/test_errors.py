"""botocore's errors classified by cause: an S3 store that is away is StorageUnavailable
(an outage, naming the bucket), never a permanent error, and permanent errors stay so."""

from __future__ import annotations

import pytest

pytest.importorskip("botocore")

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    ProxyConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from urllib3.exceptions import ProtocolError

from reelflow.errors import (
    AccessDenied,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from reelflow.storage.s3.errors import translate

ENDPOINT = "http://s3.example:9000"


def classify(exc: Exception) -> StorageError:
    return translate(
        exc,
        "cannot read 'in/a.mp4' in bucket 'media'",
        endpoint=ENDPOINT,
        missing="object 'in/a.mp4' does not exist in bucket 'media'",
        bucket="media",
    )


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} happened"},
         "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )  # fmt: skip


OUTAGES = [
    EndpointConnectionError(endpoint_url=ENDPOINT),  # refused, or DNS
    ConnectTimeoutError(endpoint_url=ENDPOINT),
    ReadTimeoutError(endpoint_url=ENDPOINT),
    ConnectionClosedError(endpoint_url=ENDPOINT),  # reset by peer
    ProxyConnectionError(proxy_url="http://proxy:3128", error="refused"),
    ResponseStreamingError(error="Connection broken: ConnectionResetError(104)"),
    IncompleteReadError(actual_bytes=10, expected_bytes=100),
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError("timed out"),
    ProtocolError("Connection aborted."),
    client_error("SlowDown", 503),
    client_error("ServiceUnavailable", 503),
    client_error("InternalError", 500),
    client_error("BadGateway", 502),
    client_error("RequestTimeout", 400),
    client_error("TooManyRequests", 429),
    client_error("Throttling", 400),
]


@pytest.mark.parametrize("exc", OUTAGES, ids=lambda e: type(e).__name__ + str(id(e))[-3:])
def test_an_unavailable_store_is_an_outage_naming_the_bucket(exc: Exception) -> None:
    error = classify(exc)
    assert type(error) is StorageUnavailable
    assert error.code == "StorageError.Unavailable"
    assert error.retryable
    assert error.dependency == "bucket 'media'"
    assert "bucket 'media'" in error.message
    assert ENDPOINT in error.message


@pytest.mark.parametrize(
    ("exc", "kind", "code", "retryable"),
    [
        (client_error("NoSuchKey", 404), ObjectNotFound, "ResourceNotFound.ObjectNotFound", False),
        (client_error("404", 404), ObjectNotFound, "ResourceNotFound.ObjectNotFound", False),
        (client_error("AccessDenied", 403), AccessDenied, "StorageError.AccessDenied", False),
        (client_error("SignatureDoesNotMatch", 403), AccessDenied, "StorageError.AccessDenied",
         False),
        (NoCredentialsError(), AccessDenied, "StorageError.AccessDenied", False),
        (client_error("NoSuchBucket", 404), StorageError, "StorageError.NoSuchBucket", True),
        (client_error("InvalidArgument", 400), StorageError, "StorageError.InvalidArgument",
         False),
    ],
)  # fmt: skip
def test_other_errors_keep_their_class(
    exc: Exception, kind: type[StorageError], code: str, retryable: bool
) -> None:
    error = classify(exc)
    assert type(error) is kind
    assert (error.code, error.retryable) == (code, retryable)


def test_without_a_bucket_name_the_endpoint_is_the_dependency() -> None:
    error = translate(
        EndpointConnectionError(endpoint_url=ENDPOINT), "cannot reach", endpoint=ENDPOINT,
        missing="",
    )  # fmt: skip
    assert isinstance(error, StorageUnavailable)
    assert error.dependency == f"S3 at {ENDPOINT}"
