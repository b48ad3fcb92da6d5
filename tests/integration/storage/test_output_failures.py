"""Outputs that cannot be written: the sub-task fails with a storage error code, the other
sub-tasks keep their outputs, the task is FAILED (never SUCCEEDED), and no partial object
is left visible. Real FFmpeg; local folders and moto's S3."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import BinaryIO

import pytest

from reelflow.config import Settings
from reelflow.engine.views import TaskView
from reelflow.errors import AccessDenied
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import SubTaskState, TaskState
from reelflow.specs.tasks import (
    CosStorage,
    MediaProcessTask,
    OutputStorage,
    SnapshotByTimeOffsetTaskInput,
    TranscodeTaskInput,
)
from reelflow.storage.base import ObjectInfo
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.registry import StorageRegistry
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.s3server import MotoServer

pytestmark = pytest.mark.integration


def request(output_bucket: str) -> TaskRequest:
    """A transcode into the source's bucket and two snapshots into ``output_bucket``."""
    elsewhere = OutputStorage(cos_output_storage=CosStorage(bucket=output_bucket))
    return TaskRequest(
        source=TaskSource(type="bucket", bucket="media", key="in/clip.mp4"),
        media_process_task=MediaProcessTask(
            transcode_task_set=[TranscodeTaskInput(definition=100010)],
            snapshot_by_time_offset_task_set=[
                SnapshotByTimeOffsetTaskInput(
                    definition=10, ext_time_offset_set=["0.5s", "1s"], output_storage=elsewhere
                )
            ],
        ),
    )


def run(runtime: ServerServices, task_id: str) -> TaskView:
    done = runtime.scheduler.run_until(
        lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=180
    )
    assert done
    return runtime.engine.task_view(task_id)


def assert_failed_storage(view: TaskView, code: str) -> None:
    transcode, snapshots = view.subtasks
    assert view.state is TaskState.FAILED
    assert transcode.state is SubTaskState.SUCCEEDED
    assert transcode.output is not None
    assert snapshots.state is SubTaskState.FAILED
    assert snapshots.err_code == code
    assert "could not be written" in snapshots.message
    assert snapshots.output is None


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class FailsOnSecondWrite(LocalStorage):
    """A bucket whose permissions change after its first object was written."""

    writes = 0

    def put_stream(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None
    ) -> ObjectInfo:
        self._write(key)
        return super().put_stream(key, stream, content_type=content_type)

    def move_file(self, key: str, path: Path, *, content_type: str | None = None) -> ObjectInfo:
        self._write(key)  # (outputs are moved in, never streamed)
        return super().move_file(key, path, content_type=content_type)

    def _write(self, key: str) -> None:
        self.writes += 1
        if self.writes > 1:
            raise AccessDenied(f"cannot write '{key}' in bucket '{self.name}': permission denied")


def test_a_removed_local_bucket_fails_its_subtask(tmp_path: Path, clips: ClipCache) -> None:
    media = LocalStorage("media", tmp_path / "media")
    broken = LocalStorage("broken", tmp_path / "broken")
    storages = StorageRegistry([media, broken])
    settings = Settings(data_dir=tmp_path / "data", video_preset="ultrafast")
    with build_server(settings, storages=storages) as runtime:
        media.put_file("in/clip.mp4", clips(duration=2.0))
        task_id = runtime.engine.submit(request("broken"), account_id=runtime.admin_account.id)
        shutil.rmtree(broken.root)  # the bucket goes away after the task was accepted

        view = run(runtime, task_id)

    assert_failed_storage(view, "StorageError")
    assert not broken.root.exists()  # not recreated: it may be an unmounted volume
    assert leftovers(media.root) == ["in/clip.mp4", "in/clip_transcode_100010.mp4"]


def test_a_write_refused_midway_leaves_no_partial_output(tmp_path: Path, clips: ClipCache) -> None:
    media = LocalStorage("media", tmp_path / "media")
    flaky = FailsOnSecondWrite("flaky", tmp_path / "flaky")
    settings = Settings(data_dir=tmp_path / "data", video_preset="ultrafast")
    with build_server(settings, storages=StorageRegistry([media, flaky])) as runtime:
        media.put_file("in/clip.mp4", clips(duration=2.0))
        task_id = runtime.engine.submit(request("flaky"), account_id=runtime.admin_account.id)
        view = run(runtime, task_id)

    assert flaky.writes == 2  # the first snapshot was written, then removed again
    assert_failed_storage(view, "StorageError.AccessDenied")
    assert leftovers(flaky.root) == []


def test_a_deleted_s3_output_bucket_fails_its_subtask(
    tmp_path: Path, moto: MotoServer, clips: ClipCache
) -> None:
    from reelflow.storage.s3.backend import S3Storage

    media = LocalStorage("media", tmp_path / "media")
    s3_bucket = moto.create_bucket("gone")
    remote = S3Storage("remote", moto.options(s3_bucket))
    settings = Settings(data_dir=tmp_path / "data", video_preset="ultrafast")
    with build_server(settings, storages=StorageRegistry([media, remote])) as runtime:
        media.put_file("in/clip.mp4", clips(duration=2.0))
        task_id = runtime.engine.submit(request("remote"), account_id=runtime.admin_account.id)
        moto.client().delete_bucket(Bucket=s3_bucket)

        view = run(runtime, task_id)

    assert_failed_storage(view, "StorageError.NoSuchBucket")
    assert s3_bucket in view.subtasks[1].message or "does not exist" in view.subtasks[1].message
