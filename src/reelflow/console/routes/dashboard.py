"""The dashboard: tasks by state, recent failures, throughput, executor slots."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from reelflow.console import stats
from reelflow.console.charts import throughput_chart
from reelflow.console.deps import RuntimeDep, SignedIn, UserDep, console_state
from reelflow.console.routing import ConsoleRoute
from reelflow.engine.stats import TaskStats
from reelflow.runtime import Runtime
from reelflow.specs.states import TaskState

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

RECENT_FAILURES = 6


def _context(runtime: Runtime, task_stats: TaskStats, user: SignedIn) -> dict[str, Any]:
    account_id = user.account.id
    counts = task_stats.tasks_by_state(account_id)
    failures, _ = runtime.engine.list_tasks(
        TaskState.FAILED, limit=RECENT_FAILURES, account_id=account_id
    )
    hours = stats.throughput(task_stats, account_id)
    return {
        "counts": counts,
        "total": sum(counts.values()),
        "failures": failures,
        "chart": throughput_chart(hours),
        "finished_today": sum(h.total for h in hours),
        "slots": stats.slots(runtime, task_stats),
    }


@router.get("")
def dashboard(request: Request, runtime: RuntimeDep, user: UserDep) -> Response:
    state = console_state(request)
    context = _context(runtime, state.stats, user)
    return state.pages.render(request, "dashboard.html", context, user=user)


@router.get("/dashboard/live")
def dashboard_live(request: Request, runtime: RuntimeDep, user: UserDep) -> Response:
    """The dashboard's figures alone, for htmx to refresh in place."""
    state = console_state(request)
    context = _context(runtime, state.stats, user)
    return state.pages.render(request, "_dashboard_stats.html", context, user=user, fragment=True)
