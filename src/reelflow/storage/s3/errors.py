"""botocore's exceptions -> reelflow's storage errors: the S3 backend's one boundary.

NoSuchKey, 404 (HEAD)                      ObjectNotFound (permanent)
AccessDenied, 403, bad credentials         AccessDenied (permanent)
NoSuchBucket                               StorageError.NoSuchBucket (retryable: an
                                           operator may create it again)
connection refused/reset/closed, DNS,      StorageUnavailable (an outage: retried within
timeouts, 5xx, 408, 429, throttling        the outage budget), bucket and endpoint named
(SlowDown...), a body cut short
any other 4xx                              StorageError.<S3 code>, not retryable

The outage class is decided by exception type and S3 error code, never by message text.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error

from reelflow.errors import AccessDenied, ObjectNotFound, StorageError, StorageUnavailable

NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AllAccessDisabled",
        "AccountProblem",
        "InvalidObjectState",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "SlowDown",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequests",
        "503",
        "500",
    }
)
# botocore's two bases of transport failures: its ConnectionError (EndpointConnectionError:
# refused or DNS; ConnectTimeoutError; ProxyConnectionError) and HTTPClientError
# (ConnectionClosedError: reset; ReadTimeoutError). A body cut short while streaming is
# ResponseStreamingError or IncompleteReadError; raw socket and urllib3 errors can surface
# from a body read too.
_NETWORK: tuple[type[Exception], ...] = (
    BotoConnectionError,
    HTTPClientError,
    ResponseStreamingError,
    IncompleteReadError,
    Urllib3Error,
    ConnectionError,
    TimeoutError,
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(
    exc: Exception, what: str, *, endpoint: str, missing: str, bucket: str = ""
) -> StorageError:
    """The reelflow error for ``exc``, met while doing ``what`` (a phrase naming the bucket and
    key). ``missing`` is the message for an absent object; ``bucket`` (reelflow's name) is
    the dependency a ``StorageUnavailable`` names."""
    dependency = f"bucket '{bucket}'" if bucket else f"S3 at {endpoint}"
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        detail = str(exc.response.get("Error", {}).get("Message", "") or code)
        if code in NOT_FOUND_CODES:
            return ObjectNotFound(missing)
        if code == "NoSuchBucket":
            return StorageError(
                f"{what}: the S3 bucket does not exist at {endpoint} ({detail})",
                code="StorageError.NoSuchBucket",
            )
        if code in ACCESS_CODES or status == 403:
            return AccessDenied(f"{what}: S3 refused it ({code}: {detail})")
        if code in UNAVAILABLE_CODES or status >= 500 or status in (408, 429):
            return StorageUnavailable(
                f"{what}: S3 at {endpoint} unavailable, answered {status} {code}: {detail}",
                dependency=dependency,
            )
        error = StorageError(f"{what}: S3 answered {status} {code}: {detail}", code=_code(code))
        error.retryable = False
        return error
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AccessDenied(f"{what}: no usable S3 credentials ({exc}); set access_key/secret_key")
    if isinstance(exc, _NETWORK):
        return StorageUnavailable(
            f"{what}: S3 at {endpoint} unreachable ({exc})",
            dependency=dependency,
        )
    if isinstance(exc, BotoCoreError):
        return StorageError(f"{what}: S3 client error talking to {endpoint}: {exc}")
    return StorageError(f"{what}: {exc}")


def _code(s3_code: str) -> str:
    cleaned = "".join(ch for ch in s3_code if ch.isalnum())
    return f"StorageError.{cleaned}" if cleaned else "StorageError"
