"""The only code that assigns a ``state``: each move is checked against the tables in
``reelflow.engine.states`` and keeps the row's timestamps and error fields consistent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.states import JobState, Machine, SubTaskState, TaskState, check_transition


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
