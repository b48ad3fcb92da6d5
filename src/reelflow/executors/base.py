"""What an executor runs: a ``JobRunner`` turns a ``JobPayload`` into a ``JobResult``.

The executors themselves (``local``, ``celery``, ``inline``) implement the engine's port,
``reelflow.engine.ports.Executor``: jobs are JSON data; executors run them and report through
the ``Reporter`` they were started with, never decide. Only ``reelflow.engine`` turns events
into state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reelflow.specs.jobs import JobPayload, JobResult


class JobContext:
    """What a running job may use: report progress, and see a cancel request."""

    def __init__(self, progress: Callable[[float], None], cancel: Any) -> None:
        self.progress = progress
        self.cancel = cancel  # threading.Event (or any object with is_set())


JobRunner = Callable[[JobPayload, JobContext], JobResult]
