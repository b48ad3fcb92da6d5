"""Retention on SQLite and PostgreSQL with real FFmpeg (issue 21): the scheduler deletes a
finished task past ``task_retention_days`` with its sub-tasks and jobs; a recent task stays,
and every output stays in its bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from reelflow.config import Settings
from reelflow.db.models import Job, SubTask, Task
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.unit.api.conftest import TestClient

pytestmark = pytest.mark.integration

SPEC = {"snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["0s"]}]}


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerServices]:
    database_url = ""
    if request.param == "postgresql":
        database_url = request.getfixturevalue("pg_url")
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        video_preset="ultrafast",
        workers=1,
        task_retention_days=30,
    )
    with build_server(settings) as rt:
        yield rt


def test_retention_deletes_only_old_finished_tasks_and_never_outputs(
    runtime: ServerServices, clips: ClipCache
) -> None:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    with TestClient(create_app(runtime)) as client:
        upload = client.put(
            "/v1/buckets/media/objects/in/clip.mp4",
            content=clips(duration=1.0).read_bytes(),
            headers=headers,
        )
        assert upload.status_code == 200
        ids = []
        for name in ("old", "recent"):
            body = {
                "input": {"bucket": "media", "key": "in/clip.mp4"},
                "media_process_task": SPEC,
                "output": {"dir": f"/{name}/"},
            }
            ids.append(client.post("/v1/tasks", json=body, headers=headers).json()["task_id"])
        old, recent = ids
        assert runtime.scheduler.run_until(
            lambda: all(runtime.engine.task_view(i).state.is_terminal for i in ids), timeout=120
        )
        outputs = {
            name: client.get(f"/v1/buckets/media/objects?prefix={name}/", headers=headers).json()
            for name in ("old", "recent")
        }
        assert all(listing["objects"] for listing in outputs.values()), outputs
        with runtime.sessions.begin() as session:  # it finished 31 days ago
            finished = session.scalar(select(Task.finished_at).where(Task.id == old))
            assert finished is not None
            session.execute(
                update(Task).where(Task.id == old).values(finished_at=finished - timedelta(31))
            )

        # The scheduler's own pass deletes it (at its next purge; no other work meanwhile).
        assert runtime.scheduler.run_until(
            lambda: client.get(f"/v1/tasks/{old}", headers=headers).status_code == 404,
            timeout=60,
        )
        assert client.get(f"/v1/tasks/{recent}", headers=headers).json()["phase"] == "succeeded"
        with runtime.sessions() as session:
            for model in (SubTask, Job):
                left = select(func.count()).select_from(model).where(model.task_id == old)
                assert session.scalar(left) == 0, model
        for name, listing in outputs.items():
            again = client.get(f"/v1/buckets/media/objects?prefix={name}/", headers=headers)
            assert again.json()["objects"] == listing["objects"], name
        assert (
            client.head("/v1/buckets/media/objects/in/clip.mp4", headers=headers).status_code == 200
        )
