"""The engine: the one writer of task, sub-task and job state.

    request -> submit -> task + sub-tasks + PROBE job
    claim -> executor -> handle(FINISHED probe) -> planner.plan -> MEDIA jobs
    claim -> executor -> handle(FINISHED media) -> sub-tasks final -> task final

``Engine`` is a façade over explicit collaborators, built here and shared by constructor:

    Tasks        tasks.py      submit, cancel, retry
    TaskQueries  queries.py    read, list and count tasks; the task of a session id
    Jobs         jobs.py       claim, adopt, heartbeat, lease recovery
    JobEvents    events.py     progress and results reported by executors
    Planning     planning.py   the PROBE and MEDIA jobs of a task
    Outcomes     outcomes.py   failing, retrying and finishing jobs and tasks
    Retention    retention.py  deleting finished tasks past task_retention_days
    Store        store.py      transactions, the clock, row locks
    Hooks        observers.py  the observer (outbox) and the scheduler's wake-up

Every method is one database transaction and is safe to call from any thread and from
several processes sharing the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.buckets import Buckets
from reelflow.catalog.templates import Templates
from reelflow.catalog.triggered import TriggerKey
from reelflow.config import Settings
from reelflow.engine.admission import room
from reelflow.engine.claims import Claims
from reelflow.engine.events import JobEvents, Report
from reelflow.engine.jobs import Jobs
from reelflow.engine.leftovers import Leftovers, Remover
from reelflow.engine.observers import Hooks, TaskObserver
from reelflow.engine.outcomes import Outcomes
from reelflow.engine.planning import Planning
from reelflow.engine.queries import TaskQueries
from reelflow.engine.retention import Retention
from reelflow.engine.store import Clock, Store, utcnow
from reelflow.engine.tasks import Submitted, Tasks
from reelflow.engine.views import ChunkMark, TaskView
from reelflow.net.egress import EgressPolicy
from reelflow.planner.base import Planner
from reelflow.specs.jobs import JobEvent, JobPayload
from reelflow.specs.requests import TaskRequest
from reelflow.specs.states import TaskState


class Engine:
    """``Engine(sessions, planner, settings, clock=utcnow)``; ``templates`` and ``buckets``
    (which ones each account may use) default to services over the same database, ``egress``
    to the policy of ``settings``. Set ``observer`` and ``on_jobs_added`` to be told of what
    it does (see ``reelflow.engine.observers``).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        planner: Planner,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        templates: Templates | None = None,
        buckets: Buckets | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.store = Store(sessions, clock)
        self.hooks = Hooks()
        outcomes = Outcomes(settings, self.hooks)
        planning = Planning(planner, settings)
        self.tasks = Tasks(
            self.store,
            planner,
            planning,
            outcomes,
            self.hooks,
            templates=templates if templates is not None else Templates(sessions),
            buckets=buckets if buckets is not None else Buckets(sessions),
            egress=egress if egress is not None else EgressPolicy.from_settings(settings),
            max_nodes=settings.max_task_nodes,
            max_queued=settings.max_queued_tasks,
        )
        self.queries = TaskQueries(self.store)
        self._max_queued = settings.max_queued_tasks
        self.retention = Retention(self.store, settings.task_retention_days)
        self.leftovers = Leftovers(self.store)
        self.jobs = Jobs(self.store, outcomes, self.hooks, settings)
        self.claims = Claims(self.store, self.hooks, settings)
        self.events = JobEvents(self.store, planning, outcomes, self.hooks)

    @property
    def observer(self) -> TaskObserver | None:
        """Told, inside the transaction, of task starts and ends (the notification outbox)."""
        return self.hooks.observer

    @observer.setter
    def observer(self, observer: TaskObserver | None) -> None:
        self.hooks.observer = observer

    @property
    def on_jobs_added(self) -> Callable[[], None] | None:
        """Told (after commit) that new jobs are queued: the scheduler wakes instead of
        waiting for its next poll."""
        return self.hooks.on_jobs_added

    @on_jobs_added.setter
    def on_jobs_added(self, callback: Callable[[], None] | None) -> None:
        self.hooks.on_jobs_added = callback

    # -- tasks: see ``Tasks`` and ``TaskQueries`` -------------------------------------------

    def submit(
        self,
        request: TaskRequest,
        *,
        account_id: int | None = None,
        trigger_key: TriggerKey | None = None,
    ) -> str:
        return self.tasks.submit(request, account_id=account_id, trigger_key=trigger_key)

    def submit_task(
        self,
        request: TaskRequest,
        *,
        account_id: int | None = None,
        trigger_key: TriggerKey | None = None,
    ) -> Submitted:
        return self.tasks.submit_task(request, account_id=account_id, trigger_key=trigger_key)

    def admission_room(self, account_id: int) -> int:
        """How many tasks ``account_id`` may submit now under ``max_queued_tasks`` (0: a
        submission would be refused with ``TooManyQueuedTasks``)."""
        with self.store.read() as session:
            return room(session, account_id, self._max_queued)

    def session_task(self, session_id: str, *, account_id: int | None = None) -> str | None:
        return self.queries.session_task(session_id, account_id=account_id)

    def task_view(self, task_id: str, *, account_id: int | None = None) -> TaskView:
        return self.queries.task_view(task_id, account_id=account_id)

    def chunk_marks(self, task_id: str) -> dict[int, tuple[ChunkMark, ...]]:
        """The chunks of each chunked output of ``task_id`` (see ``TaskQueries``)."""
        return self.queries.chunk_marks(task_id)

    def list_tasks(
        self,
        state: TaskState | Iterable[TaskState] | None = None,
        workflow_id: int | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        *,
        account_id: int | None = None,
        subtask_failed: bool | None = None,
    ) -> tuple[list[TaskView], str | None]:
        return self.queries.list_tasks(
            state,
            workflow_id,
            created_after,
            created_before,
            limit,
            cursor,
            account_id=account_id,
            subtask_failed=subtask_failed,
        )

    def count_tasks(
        self,
        state: TaskState | Iterable[TaskState] | None = None,
        workflow_id: int | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        *,
        account_id: int | None = None,
        subtask_failed: bool | None = None,
        at_most: int | None = None,
    ) -> int:
        return self.queries.count_tasks(
            state,
            workflow_id,
            created_after,
            created_before,
            account_id=account_id,
            subtask_failed=subtask_failed,
            at_most=at_most,
        )

    def cancel(self, task_id: str, *, account_id: int | None = None) -> None:
        self.tasks.cancel(task_id, account_id=account_id)

    def retry_failed(self, task_id: str, *, account_id: int | None = None) -> list[int]:
        return self.tasks.retry_failed(task_id, account_id=account_id)

    # -- jobs: see ``Jobs`` -----------------------------------------------------------------

    def claim(
        self, owner: str, limit: int, *, lease_seconds: float | None = None
    ) -> list[JobPayload]:
        return self.claims.claim(owner, limit, lease_seconds=lease_seconds)

    def adopt(self, job_id: str, attempt: int, dispatcher: str, worker: str) -> bool:
        return self.jobs.adopt(job_id, attempt, dispatcher, worker)

    def claims_ended(self, claims: Mapping[str, int]) -> dict[str, bool]:
        return self.jobs.claims_ended(claims)

    def claims_waiting(self, owner: str, claims: Mapping[str, int]) -> set[str]:
        return self.jobs.claims_waiting(owner, claims)

    def heartbeat(self, owner: str, job_ids: list[str]) -> list[str]:
        return self.jobs.heartbeat(owner, job_ids)

    def purge_finished(self) -> int:
        """Delete one small batch of finished tasks past ``task_retention_days``; returns
        how many (see ``reelflow.engine.retention``)."""
        return self.retention.purge()

    def remove_leftovers(self, remove: Remover) -> int:
        """Remove the parts of chunked groups that ended without a join (a small batch);
        returns how many were removed (see ``reelflow.engine.leftovers``)."""
        return self.leftovers.sweep(remove)

    def requeue_expired(self) -> int:
        return self.jobs.requeue_expired()

    def requeue_owner(self, owner: str, job_ids: list[str] | None = None) -> int:
        return self.jobs.requeue_owner(owner, job_ids)

    # -- executor reports: see ``JobEvents`` ------------------------------------------------

    def handle(
        self, event: JobEvent, *, attempt: int | None = None, owner: str | None = None
    ) -> bool:
        return self.events.handle(event, attempt=attempt, owner=owner)

    def finish_many(self, reports: Sequence[Report]) -> list[bool]:
        """Record several FINISHED events in one transaction, all or none (see
        ``JobEvents.finish_many``)."""
        return self.events.finish_many(reports)
