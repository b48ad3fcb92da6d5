"""``build_planner``: a cluster plans the same fused job per input as one machine; only
``cluster_fanout`` (a cluster's explicit setting) makes one job per sub-task."""

from __future__ import annotations

import pytest

from reelflow.config import Settings
from reelflow.wiring.jobs import build_planner
from tests.unit.planner.test_plan import FULL_TASK, media_info, resolve


def jobs_of(settings: Settings, *, cluster: bool | None = None) -> list[tuple[int, ...]]:
    planner = build_planner(settings, cluster=cluster)
    plan = planner.plan(resolve(FULL_TASK), media_info(), "movie.mp4")
    assert plan.rejected == ()
    return [job.subtasks for job in plan.jobs]


FUSED = [(0, 1, 2, 3, 4, 5)]
FANNED = [(0,), (1,), (2,), (3,), (4,), (5,)]


@pytest.mark.parametrize("executor", ["local", "celery"])
def test_every_executor_fuses_by_default(executor: str) -> None:
    settings = Settings(executor=executor, broker_url="memory://")  # type: ignore[arg-type]
    assert settings.cluster_fanout is False
    assert jobs_of(settings) == FUSED


def test_a_worker_fuses_by_default() -> None:
    assert jobs_of(Settings(), cluster=True) == FUSED


def test_cluster_fanout_makes_one_job_per_sub_task_in_a_cluster_only() -> None:
    fanout = Settings(executor="celery", broker_url="memory://", cluster_fanout=True)
    assert jobs_of(fanout) == FANNED
    assert jobs_of(fanout.model_copy(update={"executor": "local"})) == FUSED  # one machine
    assert jobs_of(Settings(cluster_fanout=True), cluster=True) == FANNED  # a worker


def test_cluster_fanout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELFLOW_CLUSTER_FANOUT", "true")
    assert Settings().cluster_fanout is True
    monkeypatch.setenv("REELFLOW_CLUSTER_FANOUT", "maybe")
    with pytest.raises(ValueError, match="cluster_fanout"):
        Settings()
