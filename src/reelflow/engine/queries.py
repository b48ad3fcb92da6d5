"""Reading tasks: one task, pages of tasks and their count, and the task of a session id;
each read sees only the tasks of the account asking (``account_id=None``: an internal
caller, every task)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.chunk_parts import part_of
from reelflow.engine.store import Store
from reelflow.engine.views import ChunkMark, TaskView, decode_cursor, encode_cursor
from reelflow.errors import SpecError, TaskNotFound
from reelflow.specs.chunks import ChunkRole
from reelflow.specs.jobs import JobKind
from reelflow.specs.states import SubTaskState, TaskState

# How long a SessionId deduplicates (the compatible API's documents say 3 or 7 days; the
# task query window is 7 days, and the longer window is the safer one for a client retrying).
SESSION_WINDOW = timedelta(days=7)
MAX_PAGE = 100


class TaskQueries:
    """The task reads, each one read transaction of ``store``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def session_task(self, session_id: str, *, account_id: int | None = None) -> str | None:
        """The task that ``account_id`` started with ``session_id`` in the last 7 days, if
        any (the compatible API refuses such a repeat where ``submit`` returns the task)."""
        if not session_id:
            return None
        with self._store.read() as session:
            return session_task_in(session, session_id, account_id, self._store.now())

    def chunk_marks(self, task_id: str) -> dict[int, tuple[ChunkMark, ...]]:
        """The chunks of each chunked sub-task of ``task_id`` (its latest split's), by
        sub-task index; empty for a task without any."""
        query = (
            select(Job).where(Job.task_id == task_id, Job.kind == JobKind.CHUNK).order_by(Job.id)
        )
        latest: dict[int, dict[int, ChunkMark]] = {}  # sub-task -> split id -> ...
        marks: dict[tuple[int, int], list[ChunkMark]] = {}
        with self._store.read() as session:
            for job in session.scalars(query):
                part = part_of(job)
                if part is None or part.role is not ChunkRole.VIDEO or part.chunk is None:
                    continue
                chunk = part.chunk
                # Its share of the timeline (normalized below), not of the work: a probed
                # chunk weighs what its probe cost.
                mark = ChunkMark(chunk.index, chunk.duration, job.state, job.progress)
                for index in job.subtasks:
                    latest.setdefault(index, {})[part.split] = mark
                    marks.setdefault((index, part.split), []).append(mark)
        found: dict[int, tuple[ChunkMark, ...]] = {}
        for index, splits in latest.items():
            chunks = sorted(marks[(index, max(splits))], key=lambda m: m.index)
            total = sum(m.share for m in chunks) or 1.0
            found[index] = tuple(
                ChunkMark(m.index, m.share / total, m.state, m.progress) for m in chunks
            )
        return found

    def task_view(self, task_id: str, *, account_id: int | None = None) -> TaskView:
        """The task and its sub-tasks; ``TaskNotFound`` for an unknown id or another
        account's task (``account_id=None``: any task).
        """
        with self._store.read() as session:
            task = session.get(Task, task_id, options=[selectinload(Task.subtasks)])
            if task is None or not visible(task, account_id):
                raise TaskNotFound(f"no task with id {task_id!r}")
            return TaskView.of(task)

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
        """Tasks newest first, and the cursor of the next page (``None`` on the last page).

        ``state`` may be several states (the API's ``FINISH`` is three); the created bounds
        are inclusive after and exclusive before. ``account_id``: only that account's tasks
        (``None``: every task). ``subtask_failed``: only tasks with (True) or without (False)
        a failed or cancelled sub-task.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise SpecError(f"limit must be 1..{MAX_PAGE}, got {limit}", field="limit")
        query: Select[Task] = select(Task).options(selectinload(Task.subtasks))
        query = query.where(
            *_task_filters(
                state, workflow_id, created_after, created_before, account_id, subtask_failed
            )
        )
        if cursor:
            at, after_id = decode_cursor(cursor)
            query = query.where(
                or_(Task.created_at < at, and_(Task.created_at == at, Task.id < after_id))
            )
        query = query.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit + 1)
        with self._store.read() as session:
            tasks = list(session.scalars(query))
            views = [TaskView.of(task) for task in tasks[:limit]]
        more = len(tasks) > limit
        next_cursor = encode_cursor(views[-1].created_at, views[-1].id) if more else None
        return views, next_cursor

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
        """How many tasks ``list_tasks`` with the same filters would page through; with
        ``at_most``, counted no further than that (the answer is then ``min(count,
        at_most)``, and its cost is bounded whatever the table holds)."""
        filters = _task_filters(
            state, workflow_id, created_after, created_before, account_id, subtask_failed
        )
        if at_most is None:
            query = select(func.count()).select_from(Task).where(*filters)
        else:
            # Read no further than ``at_most`` index entries of the list's own range.
            head = select(Task.id).where(*filters).limit(at_most).subquery()
            query = select(func.count()).select_from(head)
        with self._store.read() as session:
            return session.scalar(query) or 0


def session_task_in(
    session: Session, session_id: str, account_id: int | None, now: datetime
) -> str | None:
    """The task that ``account_id`` started with ``session_id`` within ``SESSION_WINDOW``
    before ``now``, in the caller's transaction."""
    since = now - SESSION_WINDOW
    query = (
        select(Task.id)
        .where(
            Task.session_id == session_id,
            Task.created_at >= since,
            _owned_by(account_id),
        )
        .order_by(Task.created_at)
        .limit(1)
    )
    return session.scalar(query)


def visible(task: Task, account_id: int | None) -> bool:
    """Whether ``account_id`` may see ``task`` (``None``: an internal caller sees all)."""
    return account_id is None or task.account_id == account_id


def _task_filters(
    state: TaskState | Iterable[TaskState] | None,
    workflow_id: int | None,
    created_after: datetime | None,
    created_before: datetime | None,
    account_id: int | None,
    subtask_failed: bool | None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses shared by ``list_tasks`` and ``count_tasks``."""
    filters: list[ColumnElement[bool]] = []
    if account_id is not None:
        filters.append(Task.account_id == account_id)
    if state is not None:
        states = [state] if isinstance(state, TaskState) else list(state)
        filters.append(Task.state.in_(states))
    if workflow_id is not None:
        filters.append(Task.workflow_id == workflow_id)
    if created_after is not None:
        filters.append(Task.created_at >= created_after)
    if created_before is not None:
        filters.append(Task.created_at < created_before)
    if subtask_failed is not None:
        failed = Task.subtasks.any(SubTask.state.in_([SubTaskState.FAILED, SubTaskState.CANCELLED]))
        filters.append(failed if subtask_failed else ~failed)
    return filters


def _owned_by(account_id: int | None) -> ColumnElement[bool]:
    """Tasks of ``account_id``; for ``None`` the tasks without an owner."""
    if account_id is None:
        return Task.account_id.is_(None)
    return Task.account_id == account_id
