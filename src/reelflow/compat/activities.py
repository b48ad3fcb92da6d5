"""The compatible API's ``Activities`` (a schedule's graph) <-> reelflow's task graph.

``Activities`` is a list; each entry has an ``ActivityType`` and ``ReardriveIndex``, the
positions of the activities that follow it::

    0 input          ReardriveIndex [1, 3]     the source
    1 action-trans   ReardriveIndex [2]        reads the source (it follows the input)
    2 action-snapshotByTimeOffset  [4]         reads activity 1's rendition
    3 action-image-sprite          [4]         reads the source
    4 output                                   the end: nothing follows it

An action reads the output of the one activity it follows (its precursor): the source
when that is the ``input``. In reelflow's terms each action is a sub-task whose node id is
``activity-<position>`` and whose ``input`` is its precursor's node id (``None``: the
source); ``specs.graph`` then checks what may read what, as for any task.

:func:`layout` checks the structure and raises ``SpecError`` whose ``code`` is already the
compatible API's and whose message names the activity by position (``Activities.2``):
one ``input``, at most one ``output`` (nothing follows it), each action follows exactly one
activity, indices in range, no cycle, only a transcode's output is read by another action,
types reelflow runs (others ``UnsupportedOperation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reelflow.compat import trim
from reelflow.errors import SpecError
from reelflow.specs.schedules import MAX_STEPS, ScheduleSpec, ScheduleStep, StepRole
from reelflow.specs.subtasks import SubTaskKind
from reelflow.specs.tasks import SubTaskOutput
from reelflow.specs.workflows import TASK_SETS

INPUT = "input"
OUTPUT = "output"
ACTION_KINDS: dict[str, SubTaskKind] = {
    "action-trans": SubTaskKind.TRANSCODE,
    "action-snapshotByTimeOffset": SubTaskKind.SNAPSHOT,
    "action-samplesnapshot": SubTaskKind.SAMPLE_SNAPSHOT,
    "action-image-sprite": SubTaskKind.IMAGE_SPRITE,
    "action-animated-graphics": SubTaskKind.ANIMATED_GRAPHICS,
    "action-adaptive-substream": SubTaskKind.ADAPTIVE,
}
ACTIVITY_TYPES = {kind: name for name, kind in ACTION_KINDS.items()}
# The ActivityPara member holding each action's task input.
PARA_MEMBERS: dict[SubTaskKind, str] = {
    SubTaskKind.TRANSCODE: "TranscodeTask",
    SubTaskKind.ANIMATED_GRAPHICS: "AnimatedGraphicTask",
    SubTaskKind.SNAPSHOT: "SnapshotByTimeOffsetTask",
    SubTaskKind.SAMPLE_SNAPSHOT: "SampleSnapshotTask",
    SubTaskKind.IMAGE_SPRITE: "ImageSpriteTask",
    SubTaskKind.ADAPTIVE: "AdaptiveDynamicStreamingTask",
}
_PARA_NULLS = tuple(PARA_MEMBERS.values())
NOT_OFFERED: dict[str, str] = {
    "action-AIAnalysis": "AI analysis is not offered",
    "action-AIRecognition": "AI recognition is not offered",
    "action-aiReview": "content review is not offered",
    "action-AIQualityControl": "media quality control is not offered",
    "action-SmartSubtitles": "smart subtitles are not offered",
    "action-SmartErase": "smart erase is not offered",
    "action-exec-rules": "rule activities (conditions) are not offered",
}
INVALID_TYPE = "InvalidParameterValue.ActivityType"
INVALID_INDEX = "InvalidParameterValue.ReardriveIndex"
INVALID_ACTIVITIES = "InvalidParameterValue.Activities"
UNSUPPORTED = "UnsupportedOperation"


@dataclass(frozen=True)
class Activity:
    """One entry of ``Activities`` as the door read it."""

    type: str
    next: tuple[int, ...] = ()


@dataclass(frozen=True)
class Layout:
    """``steps`` for the schedule; for each action (by position) its kind and the node id
    of its precursor (``None``: the source)."""

    steps: list[ScheduleStep]
    kinds: dict[int, SubTaskKind]
    reads: dict[int, str | None]


def node_id(position: int) -> str:
    """The sub-task node id of the action at ``position``."""
    return f"activity-{position}"


def position_of(node: str) -> int:
    return int(node.removeprefix("activity-"))


def _where(position: int, member: str = "") -> str:
    return f"Activities.{position}" + (f".{member}" if member else "")


def _fail(code: str, where: str, message: str) -> SpecError:
    return SpecError(f"{where}: {message}", code=code, field=where)


def layout(activities: Sequence[Activity]) -> Layout:
    """The steps and the graph of ``activities``; ``SpecError`` (compatible codes)."""
    count = len(activities)
    if count > MAX_STEPS:
        raise _fail(INVALID_ACTIVITIES, "Activities", f"at most {MAX_STEPS} activities")
    kinds: dict[int, SubTaskKind] = {}
    inputs: list[int] = []
    outputs: list[int] = []
    for position, activity in enumerate(activities):
        kind = _kind(position, activity.type)
        if kind is None:
            (inputs if activity.type == INPUT else outputs).append(position)
        else:
            kinds[position] = kind
    if not inputs:
        raise _fail(INVALID_ACTIVITIES, "Activities", "no input activity (the start)")
    if len(inputs) > 1:
        raise _fail(
            INVALID_TYPE,
            _where(inputs[1], "ActivityType"),
            f"a second input activity (the first is Activities.{inputs[0]})",
        )
    if len(outputs) > 1:
        raise _fail(
            INVALID_TYPE,
            _where(outputs[1], "ActivityType"),
            f"a second output activity (the first is Activities.{outputs[0]})",
        )
    if not kinds:
        raise _fail(INVALID_ACTIVITIES, "Activities", "no action activity: nothing to do")
    precursors = _precursors(activities, inputs[0])
    reads: dict[int, str | None] = {}
    for position in kinds:
        before = precursors[position]
        if not before:
            raise _fail(
                INVALID_INDEX,
                _where(position),
                f"no activity lists {position} in its ReardriveIndex: an action follows the "
                "input or another action",
            )
        if len(before) > 1:
            shown = ", ".join(f"Activities.{p}" for p in before)
            raise _fail(
                INVALID_INDEX,
                _where(position),
                f"follows {shown}; an action reads the output of exactly one activity",
            )
        (upstream,) = before
        if upstream in kinds and kinds[upstream] is not SubTaskKind.TRANSCODE:
            raise _fail(
                INVALID_INDEX,
                _where(upstream, "ReardriveIndex"),
                f"Activities.{position} ({activities[position].type}) cannot follow "
                f"Activities.{upstream} ({activities[upstream].type}): only a transcode's "
                "output (action-trans) can be processed further",
            )
        reads[position] = None if upstream == inputs[0] else node_id(upstream)
    _check_acyclic(kinds, precursors)
    steps = [
        ScheduleStep(
            role=StepRole.ACTION if p in kinds else StepRole(activities[p].type),
            node=node_id(p) if p in kinds else None,
            next=list(activities[p].next),
        )
        for p in range(count)
    ]
    return Layout(steps, kinds, reads)


def _kind(position: int, name: str) -> SubTaskKind | None:
    if name in (INPUT, OUTPUT):
        return None
    if name in ACTION_KINDS:
        return ACTION_KINDS[name]
    where = _where(position, "ActivityType")
    if name in NOT_OFFERED:
        raise SpecError(
            f"{where} {name} is not supported by reelflow: {NOT_OFFERED[name]}",
            code=UNSUPPORTED,
            field=where,
        )
    offered = ", ".join((INPUT, OUTPUT, *ACTION_KINDS))
    raise _fail(INVALID_TYPE, where, f"{name!r} is not an activity type ({offered})")


def _precursors(activities: Sequence[Activity], start: int) -> list[list[int]]:
    count = len(activities)
    before: list[list[int]] = [[] for _ in activities]
    for position, activity in enumerate(activities):
        for slot, after in enumerate(activity.next):
            where = _where(position, f"ReardriveIndex.{slot}")
            if activity.type == OUTPUT:
                raise _fail(INVALID_INDEX, where, "the output activity is the end")
            if not 0 <= after < count:
                raise _fail(
                    INVALID_INDEX, where, f"{after} is not an activity's index (0..{count - 1})"
                )
            if after == position:
                raise _fail(INVALID_INDEX, where, "an activity cannot follow itself")
            if after == start:
                raise _fail(INVALID_INDEX, where, "the input activity is the start")
            if position in before[after]:
                raise _fail(INVALID_INDEX, where, f"{after} is listed twice")
            before[after].append(position)
    return before


def _check_acyclic(kinds: dict[int, SubTaskKind], precursors: list[list[int]]) -> None:
    # Each action has one precursor: walking back from any action reaches the input or
    # comes round to an action already on the walk.
    done: set[int] = set()
    for start in kinds:
        walk: list[int] = []
        position = start
        while position in kinds and position not in done:
            if position in walk:
                cycle = [*walk[walk.index(position) :], position]
                path = " -> ".join(str(p) for p in reversed(cycle))
                raise _fail(
                    INVALID_INDEX,
                    _where(position, "ReardriveIndex"),
                    f"the activities {path} follow each other in a cycle",
                )
            walk.append(position)
            position = precursors[position][0]
        done.update(walk)


def activities(spec: ScheduleSpec) -> list[dict[str, Any]]:
    """``Activities`` of a stored schedule (``PredriveIndex`` computed)."""
    inputs: dict[str, tuple[SubTaskKind, SubTaskOutput]] = {}
    for set_name, kind, _template in TASK_SETS:
        for item in getattr(spec.media_process_task, set_name):
            if item.id is not None:
                inputs[item.id] = (kind, item)
    before: list[list[int]] = [[] for _ in spec.steps]
    for position, step in enumerate(spec.steps):
        for after in step.next:
            before[after].append(position)
    rendered = []
    for position, step in enumerate(spec.steps):
        para: dict[str, Any] | None = None
        name = str(step.role)
        if step.node is not None:
            kind, item = inputs[step.node]
            name = ACTIVITY_TYPES[kind]
            para = {member: None for member in _PARA_NULLS}
            para[PARA_MEMBERS[kind]] = para_input(kind, item)
        rendered.append(
            {
                "ActivityType": name,
                "ReardriveIndex": list(step.next),
                "PredriveIndex": before[position],
                "ActivityPara": para,
            }
        )
    return rendered


def para_input(kind: SubTaskKind, item: SubTaskOutput) -> dict[str, Any]:
    """A task input as an ``ActivityPara`` member: without the node's id and input."""
    document = {k: v for k, v in item.to_mps().items() if k not in ("Id", "Input")}
    if kind is SubTaskKind.TRANSCODE:
        return trim.transcode_input(document)
    if kind is SubTaskKind.ANIMATED_GRAPHICS:
        return trim.animated_input(document)
    if kind is SubTaskKind.ADAPTIVE:
        return trim.adaptive_input(document)
    return document
