"""botocore's exceptions -> reelflow's storage errors: the S3 backend's one boundary.

NoSuchKey, 404 (HEAD)                      ObjectNotFound (permanent)
AccessDenied, 403, bad credentials         AccessDenied (permanent)
NoSuchBucket                               StorageError.NoSuchBucket (retryable: an
                                           operator may create it again)
endpoint unreachable, timeouts, 5xx,       StorageError (retryable), the endpoint named
throttling                                 in the message
any other 4xx                              StorageError.<S3 code>, not retryable
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from reelflow.errors import AccessDenied, ObjectNotFound, StorageError

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
RETRYABLE_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "503"}
)
_NETWORK = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseStreamingError,
    IncompleteReadError,
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: Exception, what: str, *, endpoint: str, missing: str) -> StorageError:
    """The reelflow error for ``exc``, met while doing ``what`` (a phrase naming the bucket and
    key). ``missing`` is the message for an absent object."""
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
        if code in RETRYABLE_CODES or status >= 500 or status in (408, 429):
            return StorageError(f"{what}: S3 at {endpoint} answered {status} {code}: {detail}")
        error = StorageError(f"{what}: S3 answered {status} {code}: {detail}", code=_code(code))
        error.retryable = False
        return error
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AccessDenied(f"{what}: no usable S3 credentials ({exc}); set access_key/secret_key")
    if isinstance(exc, _NETWORK):
        return StorageError(f"{what}: S3 endpoint {endpoint} unreachable or too slow: {exc}")
    if isinstance(exc, BotoCoreError):
        return StorageError(f"{what}: S3 client error talking to {endpoint}: {exc}")
    return StorageError(f"{what}: {exc}")


def _code(s3_code: str) -> str:
    cleaned = "".join(ch for ch in s3_code if ch.isalnum())
    return f"StorageError.{cleaned}" if cleaned else "StorageError"
