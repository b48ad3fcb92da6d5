"""Task commands: submit, cancel and retry (reading tasks is ``reelflow.engine.queries``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelflow.catalog.buckets import Buckets
from reelflow.catalog.egress import check_request
from reelflow.catalog.templates import Templates
from reelflow.catalog.triggered import TriggerKey, record_trigger, triggered_task
from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.admission import admit
from reelflow.engine.leftovers import record_leftover
from reelflow.engine.nodes import upstream_of
from reelflow.engine.observers import Hooks
from reelflow.engine.outcomes import Outcomes
from reelflow.engine.planning import Planning
from reelflow.engine.queries import session_task_in, visible
from reelflow.engine.stages import Stages
from reelflow.engine.store import Store, lock_task
from reelflow.engine.transitions import move_job, move_subtask, move_task
from reelflow.errors import BucketNotFound, JobCancelled, SpecError, StateError, TaskNotFound
from reelflow.net.egress import EgressPolicy
from reelflow.planner.base import Planner
from reelflow.specs.graph import check_size
from reelflow.specs.requests import TaskRequest
from reelflow.specs.states import JobState, SubTaskState, TaskState
from reelflow.specs.subtasks import SubTaskSpec
from reelflow.specs.tasks import MAX_SUBTASKS


@dataclass(frozen=True)
class Submitted:
    """What ``submit_task`` did: the task's id, and whether this call created the task
    (``False``: the earlier task of the same ``session_id`` or ``trigger_key``)."""

    task_id: str
    created: bool


class RequestBucketNotFound(BucketNotFound):
    """``BucketNotFound`` for a bucket that a task request names; ``field`` says where, in
    the request's terms: ``source.bucket``, ``output_bucket`` or ``media_process_task`` (an
    output storage of a sub-task). Callers map it to their own field names."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class Tasks:
    """The task commands, each one transaction of ``store``. ``planner`` resolves requests
    into sub-task specs; ``templates`` and ``buckets`` say what each account may use;
    ``egress`` refuses URL inputs and notification targets by their spelling."""

    def __init__(
        self,
        store: Store,
        planner: Planner,
        planning: Planning,
        outcomes: Outcomes,
        hooks: Hooks,
        *,
        templates: Templates,
        buckets: Buckets,
        egress: EgressPolicy,
        max_nodes: int = MAX_SUBTASKS,
        max_queued: int = 100_000,
    ) -> None:
        self._store = store
        self._planner = planner
        self._planning = planning
        self._outcomes = outcomes
        self._hooks = hooks
        self._templates = templates
        self._buckets = buckets
        self._egress = egress
        self._max_nodes = max_nodes
        self._max_queued = max_queued
        self._stages = Stages(planning)

    def submit(
        self,
        request: TaskRequest,
        *,
        account_id: int | None = None,
        trigger_key: TriggerKey | None = None,
    ) -> str:
        """Accept ``request`` for ``account_id`` and return its task id; nothing runs here.

        The planner resolves the templates the account may use (presets and its own; ``SpecError``
        propagates). The source bucket and every output bucket must be the account's
        (``BucketNotFound``; a ``RequestBucketNotFound`` naming the request's field), and a
        local ``file`` source is refused. ``account_id=None`` is an internal caller
        (``reelflow process``): presets only, no bucket check, no owner.

        A non-empty ``session_id`` that the same account used in the last 7 days returns that
        task's id instead of creating another. So does a ``trigger_key`` (one object version
        for one workflow) that already started a task, ever: the key is written in the
        transaction that creates the task, under a unique constraint. ``submit_task`` also
        says which of the two happened.

        An account with ``max_queued`` unfinished tasks is refused (``TooManyQueuedTasks``,
        ``reelflow.engine.admission``); a repeated ``session_id`` or ``trigger_key`` is
        not (it creates nothing).
        """
        return self.submit_task(request, account_id=account_id, trigger_key=trigger_key).task_id

    def submit_task(
        self,
        request: TaskRequest,
        *,
        account_id: int | None = None,
        trigger_key: TriggerKey | None = None,
    ) -> Submitted:
        """``submit``, reporting whether this call created the task: ``created`` is decided
        in the transaction that would create it, so two concurrent submissions of the same
        ``session_id`` or ``trigger_key`` see exactly one ``created``."""
        if trigger_key is not None:
            with self._store.read() as session:
                started = triggered_task(session, trigger_key)
            if started is not None:
                return Submitted(started, created=False)
        if request.session_id:
            with self._store.read() as session:
                existing = self._session_task(session, request.session_id, account_id)
            if existing is not None:
                return Submitted(existing, created=False)
        check_request(self._egress, request)
        if account_id is not None:
            if request.source.type == "file":
                raise SpecError(
                    "source.type: a local file source is only for in-process use; "
                    "upload the file to a bucket or give a url",
                    field="source.type",
                )
            if request.source.type == "bucket":
                self._check_bucket(account_id, request.source.bucket, "source.bucket")
        check_size(request.media_process_task.count(), self._max_nodes)
        specs = self._planner.resolve(request, self._templates.lookup(account_id))
        if not specs:
            raise SpecError("the request has no sub-task to run", field="media_process_task")
        indices = [spec.index for spec in specs]
        if len(set(indices)) != len(indices):
            raise SpecError("sub-task indices must be unique", field="media_process_task")
        try:
            submitted = self._create_task(request, specs, indices, account_id, trigger_key)
        except IntegrityError:
            # PostgreSQL: a concurrent submit of the same trigger key committed first.
            if trigger_key is None:
                raise
            with self._store.read() as session:
                started = triggered_task(session, trigger_key)
            if started is None:
                raise
            return Submitted(started, created=False)
        if submitted.created:
            self._hooks.jobs_added()
        return submitted

    def _check_bucket(
        self, account_id: int, bucket: str, field: str, *, session: Session | None = None
    ) -> None:
        try:
            self._buckets.check_access(account_id, bucket, session=session)
        except BucketNotFound as exc:
            raise RequestBucketNotFound(exc.message, field=field) from None

    def _create_task(
        self,
        request: TaskRequest,
        specs: list[SubTaskSpec],
        indices: list[int],
        account_id: int | None,
        trigger_key: TriggerKey | None,
    ) -> Submitted:
        with self._store.write() as session:
            if account_id is not None:
                # Every output bucket must be the account's; checked in this transaction
                # rather than in one of its own (a read transaction per bucket per submission).
                # The request's own output bucket first, so that its error names that field.
                for bucket in _output_buckets(request, specs):
                    own = bucket == request.output_bucket
                    field = "output_bucket" if own else "media_process_task"
                    self._check_bucket(account_id, bucket, field, session=session)
            now = self._store.now()
            if request.session_id:
                # Checked again under the write lock: a concurrent twin may have just won.
                existing = self._session_task(session, request.session_id, account_id)
                if existing is not None:
                    return Submitted(existing, created=False)
            if trigger_key is not None:
                started = triggered_task(session, trigger_key)
                if started is not None:
                    return Submitted(started, created=False)
            if account_id is not None:
                admit(session, account_id, self._max_queued)
            task = Task(
                id=f"rf-{uuid.uuid4().hex}",
                account_id=account_id,
                state=TaskState.QUEUED,
                priority=request.priority,
                workflow_id=request.workflow_id,
                session_id=request.session_id,
                session_context=request.session_context,
                request=request.to_json(),
                source=request.source.to_json(),
                media_info=None,
                err_code="",
                message="",
                created_at=now,
                updated_at=now,
            )
            task.subtasks = [
                SubTask(
                    index=spec.index,
                    kind=spec.kind,
                    state=SubTaskState.PENDING,
                    progress=0.0,
                    err_code="",
                    message="",
                    spec=spec.to_json(),
                    attempts=0,
                )
                for spec in specs
            ]
            session.add(task)
            # No flush of its own: the probe job's flush inserts the task, its sub-tasks and
            # the job in one unit of work (each flush costs about as much as the inserts).
            # Sub-tasks reading another's output wait for it (``reelflow.engine.stages``).
            roots = [spec.index for spec in specs if spec.upstream is None]
            self._planning.add_probe_job(session, task, roots, now)
            if trigger_key is not None:
                record_trigger(session, trigger_key, task.id, now)
            return Submitted(task.id, created=True)

    def _session_task(
        self, session: Session, session_id: str, account_id: int | None
    ) -> str | None:
        return session_task_in(session, session_id, account_id, self._store.now())

    def cancel(self, task_id: str, *, account_id: int | None = None) -> None:
        """Cancel a queued or running task: its jobs stop, unfinished sub-tasks are cancelled.

        Cancelling a cancelled task does nothing; a finished one raises ``StateError``.
        Running jobs learn of it through their next heartbeat (``heartbeat`` reports them
        lost) and the scheduler stops them. Another account's task: ``TaskNotFound``.
        """
        with self._store.write() as session:
            now = self._store.now()
            task = lock_task(session, task_id)
            if task is None or not visible(task, account_id):
                raise TaskNotFound(f"no task with id {task_id!r}")
            if task.state is TaskState.CANCELLED:
                return
            if task.state.is_terminal:
                raise StateError(f"task {task_id} already finished ({task.state}): cannot cancel")
            code, message = JobCancelled.code, "cancelled by request"
            live = select(Job).where(
                Job.task_id == task.id, Job.state.in_([JobState.QUEUED, JobState.RUNNING])
            )
            for job in session.scalars(live.with_for_update()):
                move_job(job, JobState.CANCELLED, now, code=code, message=message)
                # A chunked group never joined: its parts are removed later, durably.
                record_leftover(session, job, now, self._outcomes.leftover_grace)
            for sub in task.subtasks:
                if not sub.state.is_terminal:
                    move_subtask(sub, SubTaskState.CANCELLED, now, code=code, message=message)
            move_task(task, TaskState.CANCELLED, now, code=code, message=message)
            self._hooks.task_finished(session, task)

    def retry_failed(self, task_id: str, *, account_id: int | None = None) -> list[int]:
        """Run the failed sub-tasks of a FAILED task again; returns their indices.

        Successful sub-tasks keep their outputs. With the probe already known the sub-tasks
        are planned into MEDIA jobs at once, else the source is probed again first. In a
        task graph only the failed sub-tasks that read the source are planned so; those
        reading another sub-task's output (failed themselves, or with their upstream) run
        once that upstream has succeeded (``reelflow.engine.stages``).
        Another account's task: ``TaskNotFound``.
        """
        with self._store.write() as session:
            now = self._store.now()
            task = lock_task(session, task_id)
            if task is None or not visible(task, account_id):
                raise TaskNotFound(f"no task with id {task_id!r}")
            if task.state is not TaskState.FAILED:
                raise StateError(
                    f"only a failed task can be retried; task {task_id} is {task.state}"
                )
            failed = [sub for sub in task.subtasks if sub.state is SubTaskState.FAILED]
            if not failed:
                raise StateError(f"task {task_id} has no failed sub-task to retry")
            move_task(task, TaskState.QUEUED, now)
            for sub in failed:
                move_subtask(sub, SubTaskState.PENDING, now)
                sub.job_id = None
            roots = [sub for sub in failed if upstream_of(sub) is None]
            if task.media_info is not None:
                self._planning.plan_media(session, task, roots, now)
            elif roots:
                self._planning.add_probe_job(session, task, [sub.index for sub in roots], now)
            self._stages.advance(session, task, now)
            self._outcomes.finish_task_if_done(session, task, now)
            retried = [sub.index for sub in failed]
        self._hooks.jobs_added()
        return retried


def _output_buckets(request: TaskRequest, specs: list[SubTaskSpec]) -> list[str]:
    """The request's own ``output_bucket`` (even if every sub-task names another: the request
    still names it), then the other output buckets of ``specs``."""
    first = [request.output_bucket] if request.output_bucket else []
    return first + sorted({spec.output_bucket for spec in specs} - set(first))
