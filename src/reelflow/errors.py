"""The one exception tree of reelflow.

    ReelflowError                      code            retryable
    +-- ConfigError                    ConfigError     no
    +-- SpecError                      InvalidParameterValue  no
    +-- StorageError                   StorageError    yes
    |   +-- ObjectNotFound             ResourceNotFound.ObjectNotFound  no
    |   +-- BucketNotFound             ResourceNotFound.BucketNotExist  no
    |   +-- AccessDenied               StorageError.AccessDenied  no
    |   +-- InvalidKey                 InvalidParameterValue.Key  no
    |   +-- StorageUnavailable         StorageError.Unavailable  yes (outage budget)
    |   +-- DiskFull                   StorageError.DiskFull  no
    +-- MediaError                     MediaError      no
    |   +-- InvalidMedia               InvalidInput.*  no
    |   +-- UnsupportedMedia           UnsupportedOperation.Media  no
    |   +-- FFmpegFailed               FFmpegFailed    no
    |   +-- FFmpegTimeout              FFmpegTimeout   yes
    |   +-- FFmpegNotFound             ConfigError.FFmpegNotFound  no
    |   +-- StreamCheckFailed          FailedOperation.StreamCheck  no
    +-- JobCancelled                   Cancelled       no
    +-- TaskNotFound                   ResourceNotFound.TaskNotFound  no
    +-- TemplateNotFound               ResourceNotFound.TemplateNotExist  no
    +-- WorkflowNotFound               ResourceNotFound.WorkflowNotExist  no
    +-- ScheduleNotFound               ResourceNotFound.ScheduleNotExist  no
    +-- KeyNotFound                    ResourceNotFound.SecretIdNotExist  no
    +-- LimitExceeded                  LimitExceeded   no
    |   +-- TooManyQueuedTasks         LimitExceeded.TooManyQueuedTasks  no (try later)
    +-- ExecutorUnavailable            ExecutorUnavailable  yes
    |   +-- BrokerUnavailable          ResourceUnavailable.Broker  yes (outage budget)
    +-- UrlNotAllowed                  InvalidInput.UrlNotAllowed  no
    +-- DatabaseUnavailable            ResourceUnavailable.Database  yes
    +-- NotifyError                    NotifyError     yes
    |   +-- DeliveryNotFound           ResourceNotFound.DeliveryNotExist  no
    |   +-- MessageNotFound            ResourceNotFound.ReceiptHandle  no
    +-- StateError                     FailedOperation.State  no
        +-- TemplateInUse              FailedOperation.TemplateInUse  no
        +-- BucketExists               FailedOperation.BucketAlreadyExists  no

A resource of another account is reported exactly like an unknown one.

``StorageUnavailable`` is an outage: the store or the network was away (refused, reset,
timed out, DNS, 5xx, throttled), not a fault of the job. The engine retries it within a time
budget (``outage_budget_seconds``) without counting attempts. ``BrokerUnavailable`` (a job
could not be sent) is one too: the scheduler hands the job back until the broker has been
away longer than the same budget.

Every error carries a stable ``code`` (mapped to the compatible API's codes where one
exists) and a message a person can act on. Whether a failed job is tried again is decided
by ``retryable``, never by reading the message text.
"""

from __future__ import annotations


class ReelflowError(Exception):
    """Base of every reelflow error: a stable code plus a human message."""

    code: str = "InternalError"
    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigError(ReelflowError):
    code = "ConfigError"


class SpecError(ReelflowError):
    """A template, workflow or task request that cannot be valid."""

    code = "InvalidParameterValue"

    def __init__(self, message: str, *, code: str | None = None, field: str = "") -> None:
        super().__init__(message, code=code)
        self.field = field


class StorageError(ReelflowError):
    code = "StorageError"
    retryable = True


class ObjectNotFound(StorageError):
    code = "ResourceNotFound.ObjectNotFound"
    retryable = False


class BucketNotFound(StorageError):
    """A request named a bucket that is not configured (or is another account's). Permanent:
    retrying cannot help."""

    code = "ResourceNotFound.BucketNotExist"
    retryable = False


class AccessDenied(StorageError):
    code = "StorageError.AccessDenied"
    retryable = False


class InvalidKey(StorageError):
    code = "InvalidParameterValue.Key"
    retryable = False


class StorageUnavailable(StorageError):
    """A bucket's store (or the network to it) is unavailable: connection refused or reset,
    timeout, DNS failure, HTTP 5xx, throttling. ``dependency`` names what was away
    (``bucket 'media'``) for the message a task fails with once the outage outlasts its
    budget."""

    code = "StorageError.Unavailable"
    retryable = True

    def __init__(self, message: str, *, code: str | None = None, dependency: str = "") -> None:
        super().__init__(message, code=code)
        self.dependency = dependency


class DiskFull(StorageError):
    """A local disk ran out of space or quota (ENOSPC, EDQUOT; SQLite's SQLITE_FULL): job
    scratch, a local bucket, or the database file. Not retried: the job fails with this
    code; new work succeeds again once space is freed."""

    code = "StorageError.DiskFull"
    retryable = False


class MediaError(ReelflowError):
    code = "MediaError"


class InvalidMedia(MediaError):
    """The source is not readable media (empty, truncated, not audio/video)."""

    code = "InvalidInput"


class UnsupportedMedia(MediaError):
    """The source is valid but lacks what the sub-task needs (e.g. no video stream)."""

    code = "UnsupportedOperation.Media"


class FFmpegFailed(MediaError):
    code = "FFmpegFailed"

    def __init__(self, message: str, *, code: str | None = None, stderr_tail: str = "") -> None:
        super().__init__(message, code=code)
        self.stderr_tail = stderr_tail


class FFmpegTimeout(MediaError):
    code = "FFmpegTimeout"
    retryable = True


class FFmpegNotFound(MediaError):
    code = "ConfigError.FFmpegNotFound"


class StreamCheckFailed(MediaError):
    """A packaged ladder broke a rule of the stream checker (``reelflow check-stream``);
    the message names every failed rule id (docs/streaming.md)."""

    code = "FailedOperation.StreamCheck"


class JobCancelled(ReelflowError):
    code = "Cancelled"


class TaskNotFound(ReelflowError):
    """No task has this id."""

    code = "ResourceNotFound.TaskNotFound"


class TemplateNotFound(ReelflowError):
    """No template of this kind has this definition (for this account)."""

    code = "ResourceNotFound.TemplateNotExist"


class WorkflowNotFound(ReelflowError):
    """No workflow has this id (for this account)."""

    code = "ResourceNotFound.WorkflowNotExist"


class ScheduleNotFound(ReelflowError):
    """No schedule has this id (for this account)."""

    code = "ResourceNotFound.ScheduleNotExist"


class KeyNotFound(ReelflowError):
    """No API key has this SecretId."""

    code = "ResourceNotFound.SecretIdNotExist"


class LimitExceeded(ReelflowError):
    """A quota is used up (e.g. ``LimitExceeded.TooMuchTemplate``)."""

    code = "LimitExceeded"


class TooManyQueuedTasks(LimitExceeded):
    """The account has ``max_queued_tasks`` unfinished tasks: a new one is refused until
    some finish. The REST API answers 429 with ``Retry-After``; the compatible API its
    error envelope with the same code (and header)."""

    code = "LimitExceeded.TooManyQueuedTasks"
    retry_after = 30  # seconds a client is asked to wait before submitting again


class ExecutorUnavailable(ReelflowError):
    """The executor cannot take jobs now (the Celery broker is unreachable)."""

    code = "ExecutorUnavailable"
    retryable = True


class BrokerUnavailable(ExecutorUnavailable):
    """The Celery broker cannot be reached: a job could not be sent. Past the outage budget
    the jobs that could not be sent fail with this code (``reelflow.engine.outages``)."""

    code = "ResourceUnavailable.Broker"


class UrlNotAllowed(ReelflowError):
    """The egress policy (``reelflow.net.egress``) refuses where a URL input, a redirect, a
    playlist or a notification target leads: nothing was connected to. ``host`` is the
    refused host as the URL named it."""

    code = "InvalidInput.UrlNotAllowed"

    def __init__(self, message: str, *, host: str = "") -> None:
        super().__init__(message)
        self.host = host


class DatabaseUnavailable(ReelflowError):
    """The database cannot be reached now (connection refused or dropped, pool exhausted,
    SQLite busy past its timeout). Raised by ``reelflow.db.session.transaction`` in place of
    the driver's error; the API answers 503 with ``Retry-After``, loops back off."""

    code = "ResourceUnavailable.Database"
    retryable = True
    retry_after = 5  # seconds a client is asked to wait before trying again


class NotifyError(ReelflowError):
    code = "NotifyError"
    retryable = True


class DeliveryNotFound(NotifyError):
    """No delivery has this id (for this account)."""

    code = "ResourceNotFound.DeliveryNotExist"
    retryable = False


class MessageNotFound(NotifyError):
    """No message of the queue has this receipt (acknowledged, or received again since)."""

    code = "ResourceNotFound.ReceiptHandle"
    retryable = False


class StateError(ReelflowError):
    """A state change that the transition table does not allow."""

    code = "FailedOperation.State"


class TemplateInUse(StateError):
    """A template that a workflow still uses cannot be deleted."""

    code = "FailedOperation.TemplateInUse"


class BucketExists(StateError):
    """A new bucket's name is taken."""

    code = "FailedOperation.BucketAlreadyExists"
