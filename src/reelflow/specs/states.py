"""The states of tasks, sub-tasks and jobs, and the moves between them:

    task:     queued -> running -> succeeded | failed        (cancelled from queued/running)
              failed -> queued                                (retry of its failed sub-tasks)
    sub-task: pending -> running -> succeeded | failed        (cancelled from pending/running)
              running -> pending                              (its job was requeued)
              pending -> failed                               (rejected by the planner,
                                                               or the source failed)
              failed -> pending                               (retry)
    job:      queued -> running -> succeeded | failed
              running -> queued                               (retry, lease expiry, shutdown)
              queued | running -> cancelled

The states are vocabulary (stored in rows, rendered by the front doors); the tables of
allowed moves and the one function that applies them are the engine's
(``reelflow.engine.transitions``): a move that is not in a table raises ``StateError``.
"""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """A task's phase in reelflow (the compatible API's status is `state`: WAITING, PROCESSING,
    FINISH)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_TASK

    @property
    def api_status(self) -> str:
        """The compatible API's task ``Status``: ``WAITING``, ``PROCESSING`` or ``FINISH``."""
        if self is TaskState.QUEUED:
            return "WAITING"
        if self is TaskState.RUNNING:
            return "PROCESSING"
        return "FINISH"


class SubTaskState(StrEnum):
    """A sub-task's own state (the compatible API's status is `status`)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_SUBTASK

    @property
    def api_status(self) -> str:
        """The compatible API's sub-task ``Status``: ``PROCESSING``, ``SUCCESS`` or ``FAIL``."""
        if self is SubTaskState.SUCCEEDED:
            return "SUCCESS"
        if self in (SubTaskState.FAILED, SubTaskState.CANCELLED):
            return "FAIL"
        return "PROCESSING"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_JOB


_TERMINAL_TASK = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED})
_TERMINAL_SUBTASK = frozenset({SubTaskState.SUCCEEDED, SubTaskState.FAILED, SubTaskState.CANCELLED})
_TERMINAL_JOB = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
