"""The one table of moves each state machine allows, and the only code that assigns a
``state``: each move is checked against the tables (``check_transition``) and keeps the
row's timestamps and error fields consistent. The states themselves are
``reelflow.specs.states``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias

from reelflow.db.models import Job, SubTask, Task
from reelflow.errors import StateError
from reelflow.specs.states import JobState, SubTaskState, TaskState


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


def move_task(
    task: Task, new: TaskState, now: datetime, *, code: str = "", message: str = ""
) -> None:
    """Move ``task`` to ``new``; ``code``/``message`` are its task-level error (or cleared)."""
    check_transition(Machine.TASK, task.state, new, subject=f"task {task.id}")
    task.state = new
    task.updated_at = now
    task.err_code = code
    task.message = message
    if new is TaskState.RUNNING and task.started_at is None:
        task.started_at = now
    task.finished_at = now if new.is_terminal else None


def move_subtask(
    sub: SubTask,
    new: SubTaskState,
    now: datetime,
    *,
    code: str = "",
    message: str = "",
    output: dict[str, Any] | None = None,
) -> None:
    """Move ``sub`` to ``new``. Only a success carries an ``output``; a failure needs a code."""
    check_transition(
        Machine.SUBTASK, sub.state, new, subject=f"sub-task {sub.index} of task {sub.task_id}"
    )
    if new is SubTaskState.SUCCEEDED and output is None:
        raise ValueError("a sub-task cannot succeed without an output")
    if new in (SubTaskState.FAILED, SubTaskState.CANCELLED) and not code:
        raise ValueError("a failed or cancelled sub-task needs an error code")
    sub.state = new
    sub.err_code = code
    sub.message = message
    sub.output = output if new is SubTaskState.SUCCEEDED else None
    if new is not SubTaskState.SUCCEEDED:
        sub.quality = None  # set by the caller with a success only
    if new is SubTaskState.RUNNING:
        sub.attempts += 1
        sub.started_at = now
        sub.progress = 0.0
    elif new is SubTaskState.PENDING:
        sub.progress = 0.0
        sub.finished_at = None
    else:
        sub.finished_at = now
        if new is SubTaskState.SUCCEEDED:
            sub.progress = 100.0
    sub.task.updated_at = now


def move_job(job: Job, new: JobState, now: datetime, *, code: str = "", message: str = "") -> None:
    """Move ``job`` to ``new``. Leaving RUNNING always drops the lease."""
    check_transition(Machine.JOB, job.state, new, subject=f"job {job.id} of task {job.task_id}")
    job.state = new
    if code or new is not JobState.QUEUED:
        # A requeued job keeps its last error (visible while it waits); anything else sets it.
        job.err_code = code
        job.message = message
    if new is JobState.RUNNING:
        job.started_at = now
        job.progress = 0.0
    else:
        job.lease_owner = None
        job.lease_expires_at = None
    if new.is_terminal:
        job.finished_at = now
        if new is JobState.SUCCEEDED:
            job.progress = 100.0
