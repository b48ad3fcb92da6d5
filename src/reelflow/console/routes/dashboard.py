"""The dashboard: tasks by state, recent failures, throughput, executor slots."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from reelflow.console.charts import throughput_chart
from reelflow.console.deps import SignedIn, UserDep, console_state
from reelflow.console.routing import ConsoleRoute
from reelflow.engine.service import Engine
from reelflow.specs.states import TaskState
from reelflow.triggers.service import TriggerService
from reelflow.web.services import EngineDep, TriggersDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

RECENT_FAILURES = 6


def _context(
    request: Request, engine: Engine, triggers: TriggerService, user: SignedIn
) -> dict[str, Any]:
    stats = console_state(request).stats
    account_id = user.account.id
    counts = stats.tasks_by_state(account_id)
    failures, _ = engine.list_tasks(TaskState.FAILED, limit=RECENT_FAILURES, account_id=account_id)
    hours = stats.throughput(account_id)
    return {
        "counts": counts,
        "total": sum(counts.values()),
        "failures": failures,
        "chart": throughput_chart(hours),
        "finished_today": sum(h.total for h in hours),
        "slots": stats.slots(),
        # Workflow starts waiting for room under max_queued_tasks (docs/scheduling.md).
        "deferred": triggers.deferred.count(account_id) if triggers.deferred else 0,
    }


@router.get("")
def dashboard(
    request: Request, engine: EngineDep, triggers: TriggersDep, user: UserDep
) -> Response:
    pages = console_state(request).pages
    context = _context(request, engine, triggers, user)
    return pages.render(request, "dashboard.html", context, user=user)


@router.get("/dashboard/live")
def dashboard_live(
    request: Request, engine: EngineDep, triggers: TriggersDep, user: UserDep
) -> Response:
    """The dashboard's figures alone, for htmx to refresh in place."""
    pages = console_state(request).pages
    context = _context(request, engine, triggers, user)
    return pages.render(request, "_dashboard_stats.html", context, user=user, fragment=True)
