"""``Activities`` (CreateSchedule, ModifySchedule, ProcessMedia) -> a schedule's steps and
the sub-tasks of its task graph.

The structure (types, ``ReardriveIndex``, who reads whose output) is checked and translated
by ``reelflow.compat.activities``; here each action's ``ActivityPara`` member is read like a
``MediaProcessTaskInput`` entry (required fields, output storages), and the engine's later
errors about a sub-task are named by the activity (``Activities.2.ActivityPara...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reelflow.api.mps.context import ActionContext
from reelflow.api.mps.envelope import MpsError
from reelflow.api.mps.mapping import TASK_SETS as MPS_TASK_SETS
from reelflow.api.mps.mapping import from_spec_error, sub_task
from reelflow.api.mps.params import Params, invalid, is_empty, join, missing, unsupported
from reelflow.api.mps.required import MEDIA_PROCESS_TASK, Each, Struct, check
from reelflow.api.mps.validation import validate
from reelflow.compat.activities import PARA_MEMBERS, Activity, layout, node_id
from reelflow.errors import SpecError
from reelflow.specs.graph import INPUT_CODE
from reelflow.specs.schedules import MAX_STEPS, ScheduleStep
from reelflow.specs.subtasks import INPUT_MODELS, SubTaskKind, TaskInput
from reelflow.specs.tasks import MediaProcessTask
from reelflow.specs.workflows import TASK_SETS

_SET_NAMES = {kind: set_name for set_name, kind, _template in TASK_SETS}


def _item_structs() -> dict[SubTaskKind, Struct]:
    """The required fields of each kind's task input (``MediaProcessTaskInput``'s)."""
    found: dict[SubTaskKind, Struct] = {}
    for (_set, kind, _template), mps_set in zip(TASK_SETS, MPS_TASK_SETS, strict=True):
        each = MEDIA_PROCESS_TASK.children[mps_set]
        assert isinstance(each, Each)
        found[kind] = each.item
    return found


_ITEMS = _item_structs()
# ActivityPara members of activity types reelflow does not run.
_PARA_NOT_OFFERED = (
    "AiContentReviewTask",
    "AiAnalysisTask",
    "AiRecognitionTask",
    "QualityControlTask",
    "ExecRulesTask",
    "SmartSubtitlesTask",
    "SmartEraseTask",
    "AIDubbingTask",
)
_NODE_KEYS = ("id", "input", "Id", "Input")
_NODE_MENTION = re.compile(r"'activity-(\d+)' \([^)]*\)")


@dataclass(frozen=True)
class ParsedActivities:
    """``steps`` and ``task`` of a schedule; ``renames`` maps each sub-task's field in
    reelflow's errors (``media_process_task.transcode_task_set[0]``) to its activity."""

    steps: list[ScheduleStep]
    task: MediaProcessTask
    renames: dict[str, str] = field(default_factory=dict)


def parse_activities(ctx: ActionContext, p: Params, name: str = "Activities") -> ParsedActivities:
    raw = p.raw(name)
    if raw is None:
        raise missing(p.where(name))
    if not isinstance(raw, list) or not raw:
        raise invalid(p.where(name), "must be a non-empty array of Activity")
    if len(raw) > MAX_STEPS:
        raise invalid(p.where(name), f"at most {MAX_STEPS} activities")
    read: list[Activity] = []
    for position, item in enumerate(raw):
        where = join(p.where(name), position)
        if not isinstance(item, dict):
            raise invalid(where, "must be an object")
        activity = Params(item, where)
        # PredriveIndex is the server's own (computed from ReardriveIndex): ignored.
        activity.only(("ActivityType", "ReardriveIndex", "PredriveIndex", "ActivityPara"))
        after = activity.integers("ReardriveIndex", max_items=MAX_STEPS) or []
        read.append(Activity(activity.text("ActivityType", required=True), tuple(after)))
    try:
        plan = layout(read)
    except SpecError as exc:
        raise MpsError(exc.code, exc.message) from None
    sets: dict[SubTaskKind, list[TaskInput]] = {kind: [] for kind in _SET_NAMES}
    renames: dict[str, str] = {}
    for position, kind in plan.kinds.items():
        where = join(p.where(name), position)
        para = Params(raw[position], where).obj("ActivityPara", required=True)
        assert para is not None
        item = _para_member(para, kind, read[position].type)
        check(_ITEMS[kind], item.data, item.path)
        fields = {k: v for k, v in sub_task(ctx, item).items() if k not in _NODE_KEYS}
        fields["Id"] = node_id(position)
        fields["Input"] = plan.reads[position]
        renames[f"media_process_task.{_SET_NAMES[kind]}[{len(sets[kind])}]"] = item.path
        sets[kind].append(validate(INPUT_MODELS[kind], fields, item.path))
    task = MediaProcessTask.model_validate({_SET_NAMES[k]: v for k, v in sets.items() if v})
    return ParsedActivities(plan.steps, task, renames)


def _para_member(para: Params, kind: SubTaskKind, activity_type: str) -> Params:
    member = PARA_MEMBERS[kind]
    for other in PARA_MEMBERS.values():
        if other != member and not is_empty(para.raw(other)):
            raise invalid(
                para.where(other),
                f"does not go with ActivityType {activity_type}, which reads {member}",
            )
    for other in _PARA_NOT_OFFERED:
        if not is_empty(para.raw(other)):
            raise unsupported(para.where(other))
    para.only((*PARA_MEMBERS.values(), *_PARA_NOT_OFFERED))
    found = para.obj(member, required=True)
    assert found is not None
    return found


def activity_error(exc: SpecError, renames: dict[str, str]) -> MpsError:
    """An engine's ``SpecError`` about a sub-task made from an activity, named by the
    activity; a graph error (what an action may read) is the activity's
    ``InvalidParameterValue.ReardriveIndex``."""
    error = from_spec_error(exc, renames)
    message = _NODE_MENTION.sub(lambda m: f"Activities.{m.group(1)}", error.message)
    if exc.code == INPUT_CODE:
        return MpsError("InvalidParameterValue.ReardriveIndex", message)
    return MpsError(error.code, message)
