"""The engine: the one writer of task, sub-task and job state.

    request -> submit -> task + sub-tasks + PROBE job
    claim -> executor -> handle(FINISHED probe) -> planner.plan -> MEDIA jobs
    claim -> executor -> handle(FINISHED media) -> sub-tasks final -> task final

``Engine`` gathers the command groups, each in its own module: ``tasks`` (submit, read,
list, cancel, retry), ``jobs`` (claim, heartbeat, lease recovery) and ``events`` (progress
and results). Every method is one database transaction and is safe to call from any thread
and from several processes sharing the database.
"""

from __future__ import annotations

from reelflow.engine.events import EventHandling
from reelflow.engine.jobs import JobCommands
from reelflow.engine.tasks import TaskCommands


class Engine(TaskCommands, JobCommands, EventHandling):
    """``Engine(session_factory, planner, settings, clock=utcnow)``.

    Subclass and override ``_on_task_finished(session, task)`` (see ``EngineCore``) to write
    something in the transaction that finishes a task.
    """
