"""Schedules: a task graph laid out as an ordered list of steps, as the compatible API's
``Activities`` draw it (``reelflow.compat.activities`` reads and writes that shape).

A schedule is a workflow whose sub-tasks come with a layout: ``steps`` in the order the
client gave them, each the task's start (``input``), its end (``output``) or one sub-task
(``action``, naming the sub-task's node ``id`` in ``media_process_task``), and the
positions of the steps that follow it (``next``). The graph itself (who reads whose
output) lives in the sub-tasks' ``id``/``input``, as for any task (``reelflow.specs.graph``);
the layout only keeps the order and the edges to ``input``/``output`` so that the schedule
and its results read back as they were written.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from reelflow.specs.base import Spec
from reelflow.specs.tasks import MAX_SUBTASKS, NodeId
from reelflow.specs.units import INT64_MAX
from reelflow.specs.workflows import TASK_SETS, WorkflowSpec

# input + output + at most MAX_SUBTASKS actions
MAX_STEPS = MAX_SUBTASKS + 2


StepIndex = Annotated[int, Field(ge=0, lt=MAX_STEPS)]


class StepRole(StrEnum):
    INPUT = "input"
    OUTPUT = "output"
    ACTION = "action"


class ScheduleStep(Spec):
    """One step: ``node`` is the sub-task's node id (actions only); ``next`` the positions
    of the steps after it."""

    role: StepRole
    node: NodeId = None
    next: Annotated[list[StepIndex], Field(max_length=MAX_STEPS)] = []

    @model_validator(mode="after")
    def _check_node(self) -> ScheduleStep:
        if (self.role is StepRole.ACTION) != (self.node is not None):
            raise ValueError("an action step names its sub-task (node); input and output do not")
        return self


Steps = Annotated[list[ScheduleStep], Field(min_length=1, max_length=MAX_STEPS)]


class TaskSchedule(Spec):
    """The layout a task was made with (``TaskRequest.schedule``): its results are read in
    the order of ``steps``. ``schedule_id`` is the stored schedule it came from, ``None``
    for steps given with the request itself."""

    schedule_id: Annotated[int, Field(ge=1, le=INT64_MAX)] | None = None
    steps: Steps

    def action_nodes(self) -> list[str]:
        """The node ids of the action steps, in step order."""
        return [step.node for step in self.steps if step.node is not None]


class ScheduleSpec(WorkflowSpec):
    """A workflow with a layout: ``steps`` over the sub-tasks of ``media_process_task``
    (each action step names one of them, each sub-task is named by one step)."""

    steps: Steps

    @model_validator(mode="after")
    def _check_steps(self) -> ScheduleSpec:
        named = [step.node for step in self.steps if step.node is not None]
        mpt = self.media_process_task
        ids = [
            item.id for set_name, _kind, _template in TASK_SETS for item in getattr(mpt, set_name)
        ]
        if sorted(named) != sorted(i for i in ids if i is not None) or None in ids:
            raise ValueError(
                "each action step names exactly one sub-task, and each sub-task one step"
            )
        if any(n >= len(self.steps) for step in self.steps for n in step.next):
            raise ValueError("a step's next is the position of another step")
        return self

    def layout(self) -> TaskSchedule:
        return TaskSchedule(steps=self.steps)
