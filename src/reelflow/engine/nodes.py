"""A task's sub-tasks as nodes of its graph: who reads whom, and failing what an upstream
failure leaves without input (see ``reelflow.engine.stages`` for the stages themselves)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from reelflow.db.models import Job, SubTask, Task
from reelflow.engine.transitions import move_subtask
from reelflow.specs.states import SubTaskState

UPSTREAM_FAILED = "FailedOperation.UpstreamFailed"


def upstream_of(sub: SubTask) -> int | None:
    """The index of the sub-task whose output ``sub`` reads (``None``: the task's source)."""
    value = sub.spec.get("upstream")
    return value if isinstance(value, int) else None


def node_name(sub: SubTask) -> str:
    node_id = sub.spec.get("node_id")
    return f"{node_id!r} (sub-task {sub.index})" if node_id else f"sub-task {sub.index}"


def has_stages(task: Task) -> bool:
    return any(upstream_of(sub) is not None for sub in task.subtasks)


def reads_source(task: Task, job: Job) -> bool:
    """Whether ``job`` works for sub-tasks that read the task's source (not a rendition)."""
    wanted = set(job.subtasks)
    return all(upstream_of(sub) is None for sub in task.subtasks if sub.index in wanted)


def fail_dependents(by_index: Mapping[int, SubTask], now: datetime) -> None:
    """Fail every unfinished sub-task whose upstream failed or was cancelled, down the
    graph."""
    changed = True
    while changed:
        changed = False
        for sub in by_index.values():
            up = upstream_of(sub)
            if up is None or sub.state.is_terminal:
                continue
            upstream = by_index[up]
            if upstream.state in (SubTaskState.FAILED, SubTaskState.CANCELLED):
                why = f"{upstream.state.value.lower()} ({upstream.err_code or 'no code'})"
                fail_dependents_of([sub], upstream, now, why)
                changed = True


def fail_dependents_of(subs: list[SubTask], upstream: SubTask, now: datetime, why: str) -> None:
    for sub in subs:
        move_subtask(
            sub,
            SubTaskState.FAILED,
            now,
            code=UPSTREAM_FAILED,
            message=f"the sub-task it reads, {node_name(upstream)}, {why}",
        )
