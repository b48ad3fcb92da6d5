"""The planner's contract with the engine.

At submission the engine asks the planner to resolve a request into ``SubTaskSpec``s; once
the source is probed it asks for a ``Plan``: the physical jobs, each serving some sub-tasks,
plus the sub-tasks that cannot run on this source at all (e.g. a screenshot of an
audio-only file), which fail at once with their code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from reelflow.presets.lookup import TemplateLookup
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskRequest
from reelflow.specs.subtasks import SubTaskSpec
from reelflow.specs.works import Work


@dataclass(frozen=True)
class PlannedJob:
    """One physical job: the sub-task indices it serves and their works."""

    subtasks: tuple[int, ...]
    works: tuple[Work, ...]


@dataclass(frozen=True)
class Rejection:
    index: int
    code: str
    message: str


@dataclass(frozen=True)
class Plan:
    jobs: tuple[PlannedJob, ...]
    rejected: tuple[Rejection, ...] = field(default=())


class Planner(Protocol):
    def resolve(self, request: TaskRequest, templates: TemplateLookup) -> list[SubTaskSpec]:
        """Template lookup in ``templates`` (what the submitting account may use) and
        validation; raises ``SpecError`` naming the bad field.
        """
        ...

    def plan(self, subtasks: list[SubTaskSpec], media_info: MediaInfo, source_name: str) -> Plan:
        """Physical jobs for the sub-tasks still to run, given the source's probe."""
        ...
