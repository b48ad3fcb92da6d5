"""Schedule actions: Create, Modify, Describe, Enable, Disable, Delete.

A schedule is the compatible API's orchestration: a trigger and ``Activities``, a graph
of actions (``api/mps/activities.py``). New schedules are disabled; only an enabled one
fires on upload, and ``ProcessMedia`` with ``ScheduleId`` runs one in any state.
``ModifySchedule`` changes the fields given (``Activities`` as a whole; ``OutputDir`` ``""``
clears it), in any state. ``DeleteSchedule`` needs a disabled schedule, else
``FailedOperation``, as ``DeleteWorkflow`` does. Enable and Disable are idempotent. An
unknown id is ``ResourceNotFound``.
"""

from __future__ import annotations

from typing import Any

from reelflow.api.mps.actions.workflows import FAILED_OPERATION, trigger_spec
from reelflow.api.mps.activities import activity_error, parse_activities
from reelflow.api.mps.context import ActionContext, Handler
from reelflow.api.mps.envelope import MpsError
from reelflow.api.mps.locations import output_bucket, output_dir, request_regions
from reelflow.api.mps.mapping import notify_target
from reelflow.api.mps.params import Params, invalid
from reelflow.api.mps.required import CREATE_SCHEDULE, MODIFY_SCHEDULE, check
from reelflow.api.mps.validation import validate
from reelflow.catalog.schedules import ScheduleRecord
from reelflow.compat.regions import fill_regions
from reelflow.compat.schedules import schedule_info as render_schedule_info
from reelflow.errors import SpecError
from reelflow.specs.schedules import ScheduleSpec

_FIELDS = (
    "ScheduleName",
    "Trigger",
    "Activities",
    "OutputStorage",
    "OutputDir",
    "TaskNotifyConfig",
)
# SpecError fields of the catalog's checks, in the request's terms.
_RENAMES = {
    "name": "ScheduleName",
    "trigger.bucket": "Trigger.CosFileUploadTrigger.Bucket",
    "trigger": "Trigger.CosFileUploadTrigger",
    "output_bucket": "OutputStorage.CosOutputStorage.Bucket",
    "output_dir": "OutputDir",
    "notify.url": "TaskNotifyConfig.NotifyUrl",
    "notify": "TaskNotifyConfig",
}


def _name(p: Params) -> str:
    name = p.text("ScheduleName", required=True, max_length=128)
    if not name.strip():
        raise invalid("ScheduleName", "must not be empty")
    return name


def _spec(
    ctx: ActionContext, p: Params, current: ScheduleSpec | None
) -> tuple[ScheduleSpec, dict[str, str]]:
    """The spec a Create (``current`` None) or Modify request asks for, and the renames of
    its sub-tasks' fields."""
    fields: dict[str, Any] = {} if current is None else dict(current)
    renames = dict(_RENAMES)
    if current is None or p.has("ScheduleName"):
        fields["name"] = _name(p)
    if current is None or p.has("Trigger"):
        fields["trigger"] = trigger_spec(ctx, p.obj("Trigger", required=True) or Params({}))
    if current is None or p.has("Activities"):
        parsed = parse_activities(ctx, p)
        fields["steps"] = parsed.steps
        fields["media_process_task"] = parsed.task
        renames.update(parsed.renames)
    if current is None or p.has("OutputStorage"):
        fields["output_bucket"] = output_bucket(ctx, p.obj("OutputStorage"))
    if current is None or p.has("OutputDir"):
        fields["output_dir"] = output_dir(p, "OutputDir")
    if current is None or p.has("TaskNotifyConfig"):
        fields["notify"] = notify_target(p.obj("TaskNotifyConfig"))
    named = [fields["trigger"].bucket, fields.get("output_bucket", "")]
    fields["regions"] = request_regions(ctx, p.data, named, fields.get("regions"))
    return validate(ScheduleSpec, fields, ""), renames


def schedule_info(ctx: ActionContext, record: ScheduleRecord) -> dict[str, Any]:
    """``SchedulesInfo``."""
    filled: dict[str, Any] = fill_regions(render_schedule_info(record), ctx.region_of)
    return filled


def _schedule_id(p: Params) -> int:
    return p.integer("ScheduleId", required=True, low=1)


def create_schedule(ctx: ActionContext, p: Params) -> dict[str, Any]:
    check(CREATE_SCHEDULE, p.data, "")
    p.only(_FIELDS)
    spec, renames = _spec(ctx, p, None)
    try:
        record = ctx.services.schedules.create(ctx.account.id, spec, enabled=False)
    except SpecError as exc:
        raise activity_error(exc, renames) from None
    return {"ScheduleId": record.id}


def modify_schedule(ctx: ActionContext, p: Params) -> dict[str, Any]:
    check(MODIFY_SCHEDULE, p.data, "")
    p.only((*_FIELDS, "ScheduleId"))
    schedule_id = _schedule_id(p)
    current = ctx.services.schedules.get(ctx.account.id, schedule_id)
    spec, renames = _spec(ctx, p, current.spec)
    try:
        ctx.services.schedules.replace(ctx.account.id, schedule_id, spec)
    except SpecError as exc:
        raise activity_error(exc, renames) from None
    return {}


def describe_schedules(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("ScheduleIds", "TriggerType", "Status", "Offset", "Limit"))
    status = p.text("Status")
    if status not in ("", "Enabled", "Disabled"):
        raise invalid("Status", f"must be Enabled or Disabled, got {status!r}")
    trigger_type = p.text("TriggerType")
    if trigger_type not in ("", "CosFileUpload", "AwsS3FileUpload"):
        raise invalid(
            "TriggerType", f"must be CosFileUpload or AwsS3FileUpload, got {trigger_type!r}"
        )
    offset = p.integer("Offset", 0, low=0)
    limit = p.integer("Limit", 10, low=1, high=100)
    if trigger_type == "AwsS3FileUpload":  # every reelflow trigger is a CosFileUpload one
        return {"TotalCount": 0, "ScheduleInfoSet": []}
    records, total = ctx.services.schedules.list(
        ctx.account.id,
        enabled=None if not status else status == "Enabled",
        ids=p.integers("ScheduleIds"),
        offset=offset,
        limit=limit,
    )
    return {"TotalCount": total, "ScheduleInfoSet": [schedule_info(ctx, r) for r in records]}


def enable_schedule(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("ScheduleId",))
    ctx.services.schedules.enable(ctx.account.id, _schedule_id(p))
    return {}


def disable_schedule(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("ScheduleId",))
    ctx.services.schedules.disable(ctx.account.id, _schedule_id(p))
    return {}


def delete_schedule(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("ScheduleId",))
    schedule_id = _schedule_id(p)
    if ctx.services.schedules.get(ctx.account.id, schedule_id).enabled:
        raise MpsError(
            FAILED_OPERATION,
            f"schedule {schedule_id} is enabled: disable it (DisableSchedule) before deleting it",
        )
    ctx.services.schedules.delete(ctx.account.id, schedule_id)
    return {}


ACTIONS: dict[str, Handler] = {
    "CreateSchedule": create_schedule,
    "ModifySchedule": modify_schedule,
    "DescribeSchedules": describe_schedules,
    "EnableSchedule": enable_schedule,
    "DisableSchedule": disable_schedule,
    "DeleteSchedule": delete_schedule,
}
