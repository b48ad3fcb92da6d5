"""What the engine needs from the layers above it: the executor port.

The scheduler hands jobs to an ``Executor`` and hears back through a ``Reporter``. Executors
(``reelflow.executors``: local, celery, inline) implement this ``Protocol`` structurally,
without importing an engine base class; mypy checks each of them against it
(``reelflow.executors.registry``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

from reelflow.specs.jobs import JobEvent, JobPayload

Reporter = Callable[[JobEvent], None]


class Executor(Protocol):
    """Where jobs run: receives ``JobPayload``s, reports ``JobEvent``s, never decides.

    Contract: ``submit`` never blocks on the job; every submitted job ends with exactly one
    FINISHED event (progress events before it) through the ``Reporter`` given to ``start``,
    unless ``cancel`` or ``close`` stops it first (the engine then requeues it or marks it
    cancelled from its own state). Only the engine turns events into state.

    An executor with ``reports_to_engine`` (``celery``) runs jobs on workers that share the
    database and report to the engine themselves (adopting the claim, renewing its lease,
    applying progress and the result): it reports no events, and the scheduler tells it with
    ``forget`` when the engine shows that a submitted job's claim is over.
    """

    reports_to_engine: ClassVar[bool]

    def start(self, report: Reporter) -> None:
        """Begin accepting jobs; events go to ``report`` (called from any thread)."""
        ...

    def submit(self, job: JobPayload) -> None:
        """Run ``job``."""
        ...

    def free_slots(self) -> int:
        """How many more jobs ``submit`` can start now."""
        ...

    def cancel(self, job_id: str) -> None:
        """Stop a running job (its FFmpeg process group is killed); unknown ids are ignored."""
        ...

    def close(self, *, wait: bool = True) -> None:
        """Stop accepting jobs; stop running ones unless ``wait``."""
        ...

    def forget(self, job_id: str) -> None:
        """The claim on ``job_id`` is over (``reports_to_engine`` executors): free its slot.
        Executors that report their own events have nothing to free."""
        ...
