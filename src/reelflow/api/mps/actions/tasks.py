"""Task actions: ProcessMedia, DescribeTaskDetail, DescribeTasks.

``ProcessMedia`` runs a ``MediaProcessTask``, or a schedule: a stored one (``ScheduleId``)
or ``Activities`` given inline (which win over ``ScheduleId``, as the vendor documents).
A schedule's task is a ``ScheduleTask``: its outputs go, by priority, where an activity
says, else where the request says, else where the schedule says; the request's
``TaskNotifyConfig`` replaces the schedule's.

A ``SessionId`` used by the same account in the last 7 days is refused with
``InvalidParameterValue.SessionId``, as the cloud service does (reelflow's native API
returns the original task instead). The engine decides that in the transaction that would
create the task, so of two identical requests racing each other exactly one gets a task.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from reelflow.api.mps.activities import activity_error, parse_activities
from reelflow.api.mps.context import ActionContext, Handler
from reelflow.api.mps.envelope import MpsError
from reelflow.api.mps.locations import output_bucket, output_dir, request_regions, source
from reelflow.api.mps.mapping import from_spec_error, media_process_task, notify_target
from reelflow.api.mps.params import Params, invalid, is_empty, missing
from reelflow.api.mps.required import PROCESS_MEDIA, check
from reelflow.api.mps.validation import validate
from reelflow.catalog.schedules import build_request
from reelflow.compat import trim
from reelflow.compat.notify import to_task_notify_config
from reelflow.compat.regions import fill_regions
from reelflow.compat.render import iso, task_detail, task_type
from reelflow.engine.queries import SESSION_WINDOW
from reelflow.engine.views import TaskView
from reelflow.errors import SpecError
from reelflow.specs.requests import TaskRequest
from reelflow.specs.schedules import TaskSchedule
from reelflow.specs.states import TaskState

MAX_SESSION_ID = 50
MAX_SESSION_CONTEXT = 1000
QUERY_WINDOW = timedelta(days=7)
# DescribeTasks' TotalCount is counted on every page, but no further than this many tasks, so
# that a page costs the same whatever the account holds (docs/mps-compat.md, differences).
TOTAL_COUNT_CAP = 10_000
_FIELDS = (
    "InputInfo",
    "OutputStorage",
    "OutputDir",
    "MediaProcessTask",
    "TaskNotifyConfig",
    "TasksPriority",
    "SessionId",
    "SessionContext",
    "TaskType",
    "SkipMateData",
    "ScheduleId",
    "Activities",
)
_RENAMES = {
    "source.url": "InputInfo.UrlInputInfo.Url",
    "source": "InputInfo",
    "output_bucket": "OutputStorage.CosOutputStorage.Bucket",
    "output_dir": "OutputDir",
    "priority": "TasksPriority",
    "notify.url": "TaskNotifyConfig.NotifyUrl",
    "notify": "TaskNotifyConfig",
    "session_id": "SessionId",
    "session_context": "SessionContext",
    "cursor": "ScrollToken",
    "limit": "Limit",
}
_STATES = {
    "WAITING": (TaskState.QUEUED,),
    "PROCESSING": (TaskState.RUNNING,),
    "FINISH": (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED),
}


def session(p: Params) -> tuple[str, str]:
    session_id = p.text("SessionId")
    if len(session_id) > MAX_SESSION_ID:
        raise MpsError(
            "InvalidParameterValue.SessionIdTooLong",
            f"SessionId: at most {MAX_SESSION_ID} characters",
        )
    context = p.text("SessionContext")
    if len(context) > MAX_SESSION_CONTEXT:
        raise MpsError(
            "InvalidParameterValue.SessionContextTooLong",
            f"SessionContext: at most {MAX_SESSION_CONTEXT} characters",
        )
    return session_id, context


def task_request(ctx: ActionContext, p: Params) -> tuple[TaskRequest, dict[str, str]]:
    """The task request of a ProcessMedia call, and the renames of its sub-tasks' fields
    (activities)."""
    check(PROCESS_MEDIA, p.data, "")
    p.only(_FIELDS)
    origin = source(ctx, p.obj("InputInfo", required=True) or Params({}))
    storage = p.obj("OutputStorage")
    target = output_bucket(ctx, storage)
    scheduled = p.has("Activities") or p.has("ScheduleId")
    if scheduled and not is_empty(p.raw("MediaProcessTask")):
        raise invalid(
            "MediaProcessTask",
            "give either MediaProcessTask or a schedule (ScheduleId or Activities), not both",
        )
    if origin.type == "url" and not target and not p.has("ScheduleId"):
        where = "OutputStorage" if storage is None else "OutputStorage.CosOutputStorage.Bucket"
        raise missing(where)
    task_type = p.text("TaskType", "Online")
    if task_type not in ("Online", "Offline"):
        raise invalid("TaskType", f"must be Online or Offline, got {task_type!r}")
    p.integer("SkipMateData", 0, low=0, high=1)  # reelflow always probes the source
    session_id, context = session(p)
    fields: dict[str, Any] = {
        "Source": origin,
        "OutputBucket": target,
        "OutputDir": output_dir(p, "OutputDir"),
        "Priority": p.integer("TasksPriority", 0, low=-10, high=10),
        "SessionId": session_id,
        "SessionContext": context,
        "Notify": notify_target(p.obj("TaskNotifyConfig")),
    }
    renames = dict(_RENAMES)
    if p.has("Activities"):
        parsed = parse_activities(ctx, p)
        fields["MediaProcessTask"] = parsed.task
        fields["Schedule"] = TaskSchedule(steps=parsed.steps)
        renames.update(parsed.renames)
    elif p.has("ScheduleId"):
        schedule_id = p.integer("ScheduleId", required=True, low=1)
        record = ctx.services.schedules.get(ctx.account.id, schedule_id)
        made = build_request(
            record.spec,
            origin,
            record.id,
            output_bucket=target,
            output_dir=fields["OutputDir"],
            notify=fields["Notify"],
        )
        fields |= {
            "MediaProcessTask": made.media_process_task,
            "OutputBucket": made.output_bucket,
            "OutputDir": made.output_dir,
            "Notify": made.notify,
            "Schedule": made.schedule,
            "Regions": made.regions,
        }
    else:
        task = p.obj("MediaProcessTask", required=True) or Params({})
        fields["MediaProcessTask"] = media_process_task(ctx, task)
    named = [origin.bucket, fields["OutputBucket"]]  # the request's regions win a schedule's
    fields["Regions"] = request_regions(ctx, p.data, named, fields.get("Regions"))
    return validate(TaskRequest, fields, ""), renames


def process_media(ctx: ActionContext, p: Params) -> dict[str, Any]:
    request, renames = task_request(ctx, p)
    return submit(ctx, request, lambda exc: activity_error(exc, renames))


def submit(
    ctx: ActionContext, request: TaskRequest, spec_error: Callable[[SpecError], MpsError]
) -> dict[str, Any]:
    """Start one task (ProcessMedia, EditMedia): its TaskId, or the action's error; a SessionId
    used in the last days is refused rather than answered with the earlier task."""
    try:
        submitted = ctx.services.engine.submit_task(request, account_id=ctx.account.id)
    except SpecError as exc:
        raise spec_error(exc) from None
    if not submitted.created:  # only a repeated SessionId returns an earlier task here
        raise MpsError(
            "InvalidParameterValue.SessionId",
            f"SessionId {request.session_id!r} was already used by task {submitted.task_id} "
            f"in the last {SESSION_WINDOW.days} days",
        )
    return {"TaskId": submitted.task_id}


def describe_task_detail(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("TaskId",))
    task_id = p.text("TaskId", required=True, max_length=256)
    view = ctx.services.engine.task_view(task_id, account_id=ctx.account.id)
    detail = task_detail(view)
    if detail["WorkflowTask"] is not None:
        detail["WorkflowTask"] = trim.workflow_task(detail["WorkflowTask"])
    if detail["ScheduleTask"] is not None:
        detail["ScheduleTask"] = trim.schedule_task(detail["ScheduleTask"])
    detail["TaskNotifyConfig"] = to_task_notify_config(view.request.notify)
    filled: dict[str, Any] = fill_regions(detail, ctx.region_of)
    return filled


def _time(p: Params, name: str) -> datetime | None:
    value = p.text(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise invalid(name, f"must be an ISO-8601 time, got {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _simple(view: TaskView) -> dict[str, Any]:
    """``TaskSimpleInfo``."""
    kinds = list(dict.fromkeys(sub.kind.value for sub in view.subtasks))
    return {
        "TaskId": view.id,
        "TaskType": task_type(view),
        "CreateTime": iso(view.created_at),
        "BeginProcessTime": iso(view.started_at),
        "FinishTime": iso(view.finished_at),
        "SubTaskTypes": kinds,
    }


def describe_tasks(ctx: ActionContext, p: Params) -> dict[str, Any]:
    """Tasks of the last 7 days, newest first, with a cursor (``ScrollToken``)."""
    p.only(("Status", "SubTaskHasFailed", "Limit", "ScrollToken", "StartTime", "EndTime"))
    status = p.text("Status", required=True)
    if status not in _STATES:
        raise invalid("Status", f"must be WAITING, PROCESSING or FINISH, got {status!r}")
    window = datetime.now(UTC) - QUERY_WINDOW
    start = _time(p, "StartTime")
    filters: dict[str, Any] = {
        "created_after": max(start, window) if start is not None else window,
        "created_before": _time(p, "EndTime"),
        "subtask_failed": p.flag("SubTaskHasFailed"),
        "account_id": ctx.account.id,
    }
    engine = ctx.services.engine
    try:
        views, cursor = engine.list_tasks(
            _STATES[status],
            limit=p.integer("Limit", 10, low=1, high=100),
            cursor=p.text("ScrollToken") or None,
            **filters,
        )
        total = engine.count_tasks(_STATES[status], at_most=TOTAL_COUNT_CAP, **filters)
    except SpecError as exc:
        raise from_spec_error(exc, _RENAMES) from None
    return {
        "TaskSet": [_simple(v) for v in views],
        "ScrollToken": cursor or "",
        "TotalCount": total,
    }


ACTIONS: dict[str, Handler] = {
    "ProcessMedia": process_media,
    "DescribeTaskDetail": describe_task_detail,
    "DescribeTasks": describe_tasks,
}
