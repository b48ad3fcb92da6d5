"""Choosing the executor: once, at start-up, from ``settings.executor``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from reelflow.config import Settings
from reelflow.engine.ports import Executor
from reelflow.errors import ConfigError
from reelflow.executors.base import JobRunner

if TYPE_CHECKING:
    from reelflow.executors.celery.executor import CeleryExecutor
    from reelflow.executors.inline import InlineExecutor
    from reelflow.executors.local import LocalExecutor

    # Every executor implements the engine's port: structurally, so mypy checks it here.
    IMPLEMENTATIONS: tuple[type[Executor], ...] = (LocalExecutor, CeleryExecutor, InlineExecutor)


def _local(settings: Settings, runner: JobRunner) -> Executor:
    from reelflow.executors.local import LocalExecutor

    return LocalExecutor(runner, slots=settings.workers)


def _celery(settings: Settings, runner: JobRunner) -> Executor:
    # ``runner`` is not used here: `reelflow worker` processes run the jobs.
    from reelflow.executors.celery.app import make_app
    from reelflow.executors.celery.executor import CeleryExecutor

    return CeleryExecutor(
        make_app(settings), queue=settings.celery_queue, slots=settings.cluster_slots
    )


EXECUTORS: dict[str, Callable[[Settings, JobRunner], Executor]] = {
    "local": _local,
    "celery": _celery,
}


def build_executor(settings: Settings, runner: JobRunner) -> Executor:
    """The executor named by ``settings.executor``; ``ConfigError`` names the valid ones."""
    factory = EXECUTORS.get(settings.executor)
    if factory is None:
        choices = ", ".join(sorted(EXECUTORS))
        raise ConfigError(f"unknown executor {settings.executor!r}; valid choices: {choices}")
    return factory(settings, runner)
