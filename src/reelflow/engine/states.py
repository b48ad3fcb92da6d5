"""The three state machines of the engine and the one table of moves each allows.

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

Every state change in reelflow goes through ``check_transition`` (see
``reelflow.engine.transitions``); a move that is not in a table raises ``StateError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeAlias

from reelflow.errors import StateError


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


class Machine(StrEnum):
    TASK = "task"
    SUBTASK = "sub-task"
    JOB = "job"


State: TypeAlias = TaskState | SubTaskState | JobState

TASK_TRANSITIONS: Mapping[TaskState, frozenset[TaskState]] = {
    TaskState.QUEUED: frozenset({TaskState.RUNNING, TaskState.CANCELLED, TaskState.FAILED}),
    TaskState.RUNNING: frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED}),
    TaskState.FAILED: frozenset({TaskState.QUEUED}),
    TaskState.SUCCEEDED: frozenset(),
    TaskState.CANCELLED: frozenset(),
}
# queued -> failed: a retry whose every sub-task the planner rejects ends before it runs.

SUBTASK_TRANSITIONS: Mapping[SubTaskState, frozenset[SubTaskState]] = {
    SubTaskState.PENDING: frozenset(
        {SubTaskState.RUNNING, SubTaskState.FAILED, SubTaskState.CANCELLED}
    ),
    SubTaskState.RUNNING: frozenset(
        {
            SubTaskState.SUCCEEDED,
            SubTaskState.FAILED,
            SubTaskState.CANCELLED,
            SubTaskState.PENDING,
        }
    ),
    SubTaskState.FAILED: frozenset({SubTaskState.PENDING}),
    SubTaskState.SUCCEEDED: frozenset(),
    SubTaskState.CANCELLED: frozenset(),
}

JOB_TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED}),
    JobState.RUNNING: frozenset(
        {JobState.SUCCEEDED, JobState.FAILED, JobState.QUEUED, JobState.CANCELLED}
    ),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}

# Keys are invariant in Mapping, so the per-machine tables are stored loosely typed here;
# check_transition verifies the enum class before looking anything up.
_TABLES: Mapping[Machine, tuple[type[StrEnum], Mapping[Any, frozenset[Any]]]] = {
    Machine.TASK: (TaskState, TASK_TRANSITIONS),
    Machine.SUBTASK: (SubTaskState, SUBTASK_TRANSITIONS),
    Machine.JOB: (JobState, JOB_TRANSITIONS),
}


def check_transition(machine: Machine, old: State, new: State, *, subject: str = "") -> None:
    """Raise ``StateError`` unless ``machine``'s table allows ``old -> new``.

    ``subject`` names the row in the message (``"task rf-1f3..."``); staying in the same
    state is a move like any other and is refused unless listed.
    """
    kind, table = _TABLES[machine]
    if not isinstance(old, kind) or not isinstance(new, kind):
        raise StateError(
            f"{machine} states must be {kind.__name__}, got {type(old).__name__} -> "
            f"{type(new).__name__}"
        )
    if new not in table[old]:
        allowed = ", ".join(sorted(table[old])) or "nothing (it is final)"
        raise StateError(
            f"{subject or machine} cannot go from {old} to {new}; from {old} it may go to {allowed}"
        )
