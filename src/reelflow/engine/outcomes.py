"""How jobs, sub-tasks and tasks end: a failed job is retried with backoff (an outage within
its budget, without counting the attempt) or fails with its unfinished sub-tasks, and a task
finishes once every sub-task is final."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, object_session

from reelflow.config import Settings
from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.chunk_parts import CHUNKED_KINDS, part_failure
from reelflow.engine.leftovers import record_leftover
from reelflow.engine.nodes import fail_dependents, reads_source
from reelflow.engine.observers import Hooks
from reelflow.engine.outages import decide as decide_outage
from reelflow.engine.outages import is_outage
from reelflow.engine.store import subtasks_of
from reelflow.engine.transitions import move_job, move_subtask, move_task
from reelflow.specs.jobs import JobKind
from reelflow.specs.states import JobState, SubTaskState, TaskState

INTERNAL_ERROR = "InternalError"
# Retry delays grow 5 s, 10 s, 20 s ... up to 5 min: long enough for a storage hiccup to
# pass, short enough that a retried task still finishes in minutes.
RETRY_BASE = timedelta(seconds=5)
RETRY_CAP = timedelta(minutes=5)


def retry_delay(attempt: int) -> timedelta:
    """How long a job waits before attempt ``attempt + 1`` (``attempt`` >= 1 just failed)."""
    delay: timedelta = RETRY_BASE * 2 ** max(0, attempt - 1)
    return min(delay, RETRY_CAP)


def fail_subtasks(subs: Iterable[SubTask], code: str, message: str, now: datetime) -> None:
    """Fail those of ``subs`` that are not final yet."""
    for sub in subs:
        if not sub.state.is_terminal:
            move_subtask(
                sub, SubTaskState.FAILED, now, code=code or INTERNAL_ERROR, message=message
            )


def requeue(
    task: Task,
    job: Job,
    now: datetime,
    *,
    delay: timedelta,
    code: str = "",
    message: str = "",
) -> None:
    """Put a RUNNING job back in the queue; its running sub-tasks wait again."""
    move_job(job, JobState.QUEUED, now, code=code, message=message)
    job.not_before = now + delay
    if job.kind is JobKind.CHUNK:
        return  # a part of a chunked group: its sub-tasks run on in the other parts
    for sub in subtasks_of(task, job.subtasks):
        if sub.state is SubTaskState.RUNNING:
            move_subtask(sub, SubTaskState.PENDING, now)


class Outcomes:
    """``Outcomes(settings, hooks)``: ends jobs and tasks in the caller's transaction (the
    task and job rows locked, see ``reelflow.engine.store``)."""

    def __init__(self, settings: Settings, hooks: Hooks) -> None:
        self._settings = settings
        self._hooks = hooks
        # A cancelled part's worker learns it within a lease: its part lands before then.
        self.leftover_grace = timedelta(seconds=settings.lease_seconds)

    def job_failed(
        self,
        task: Task,
        job: Job,
        *,
        code: str,
        message: str,
        retryable: bool,
        now: datetime,
    ) -> None:
        """A RUNNING job failed as a whole: requeue it with backoff if it may be tried again,
        else fail it and its unfinished sub-tasks (a probe failure is the task's own error).

        An outage (a dependency was away, see ``reelflow.engine.outages``) is retried within
        the outage budget without using up an attempt; any other failure ends the job's
        outage and counts against ``max_attempts``.
        """
        code = code or INTERNAL_ERROR
        unfinished = [sub for sub in subtasks_of(task, job.subtasks) if not sub.state.is_terminal]
        if retryable and unfinished and is_outage(code):
            budget = self._settings.outage_budget_seconds
            decision = decide_outage(job.outage_since, now, budget, message)
            job.outage_since = decision.since
            if decision.retry_in is not None:
                job.max_attempts += 1  # not the job's fault: the attempt is not counted
                requeue(task, job, now, delay=decision.retry_in, code=code, message=message)
                return
            message = decision.message
        else:
            job.outage_since = None
            if retryable and unfinished and job.attempt < job.max_attempts:
                requeue(task, job, now, delay=retry_delay(job.attempt), code=code, message=message)
                return
        session = object_session(job)
        if session is not None and job.kind in CHUNKED_KINDS:
            # A chunk (or the split, audio, join) failed for good: its group fails, named.
            code, message = part_failure(session, job, code, message, now)
            # No join will delete the group's parts: recorded here, removed by the
            # scheduler's pass (reelflow.engine.leftovers).
            record_leftover(session, job, now, self.leftover_grace)
        move_job(job, JobState.FAILED, now, code=code, message=message)
        fail_subtasks(unfinished, code, message, now)
        fail_dependents({sub.index: sub for sub in task.subtasks}, now)
        if job.kind is JobKind.PROBE and reads_source(task, job):
            task.err_code = code
            task.message = message

    def finish_task_if_done(self, session: Session, task: Task, now: datetime) -> bool:
        """Finish ``task`` once every sub-task is final: SUCCEEDED only if all succeeded."""
        if task.state.is_terminal or not all(sub.state.is_terminal for sub in task.subtasks):
            return False
        ok = all(sub.state is SubTaskState.SUCCEEDED for sub in task.subtasks)
        move_task(
            task,
            TaskState.SUCCEEDED if ok else TaskState.FAILED,
            now,
            code=task.err_code,
            message=task.message,
        )
        self._hooks.task_finished(session, task)
        return True
