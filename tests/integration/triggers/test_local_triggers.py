"""Local buckets with real FFmpeg: uploads through the object API and files copied into the
folder start their workflow once, never again for the same version (restarts included), and
never for the outputs reelflow writes next to the source."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelflow.config import Settings
from reelflow.storage.local.backend import LocalStorage
from reelflow.triggers.watch import FolderWatcher
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.integration.triggers.common import add_workflow, run_all, succeeded, tasks, wait_for
from tests.unit.api.conftest import TestClient

pytestmark = pytest.mark.integration

SETTLE_MS = 300


def settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir, video_preset="ultrafast", workers=2, watch_settle_ms=SETTLE_MS
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[ServerServices]:
    with build_server(settings(data_dir)) as rt:
        yield rt


def start_watching(runtime: ServerServices) -> FolderWatcher:
    runtime.triggers.start()
    (watcher,) = [t for t in runtime.triggers.triggers if isinstance(t, FolderWatcher)]
    assert watcher.wait_ready()
    return watcher


def quiet() -> None:
    """Long enough for the watcher to have noticed and settled anything pending."""
    time.sleep(SETTLE_MS / 1000 * 4 + 0.5)


def media_root(runtime: ServerServices) -> Path:
    media = runtime.storages.get("media")
    assert isinstance(media, LocalStorage)
    return media.root


def test_object_api_upload_triggers_once(runtime: ServerServices, clips: ClipCache) -> None:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    workflow = add_workflow(runtime, "media")
    start_watching(runtime)  # the watcher sees the upload too: still one task
    app = create_app(runtime)
    app.state.on_upload = runtime.triggers.upload  # as `reelflow serve` wires it
    data = clips(duration=2.0).read_bytes()
    with TestClient(app) as client:
        put = client.put("/v1/buckets/media/objects/up/clip.mp4", content=data, headers=headers)
        assert put.status_code == 200, put.text
        (task,) = tasks(runtime)  # started by the hook, before the response
        assert task.workflow_id == workflow.id
        assert task.source.key == "up/clip.mp4"

        (done,) = run_all(runtime)
        assert succeeded(done), [(s.err_code, s.message) for s in done.subtasks]
        media = runtime.storages.get("media")
        assert media.exists("up/clip_transcode_100010.mp4")  # outputs next to the source,
        assert media.exists("up/clip_snapshotByTimeOffset_10_1.jpg")  # under the trigger

        quiet()
        assert len(tasks(runtime)) == 1  # none for the watcher's sight of it or the outputs

        # The same bytes uploaded again are a new version of the object (as S3 and COS
        # announce every PUT): one more task, and again only one.
        again = client.put("/v1/buckets/media/objects/up/clip.mp4", content=data, headers=headers)
        assert again.status_code == 200
        assert again.json()["etag"] != put.json()["etag"]
        quiet()
    assert len(tasks(runtime)) == 2


def test_a_copied_file_triggers_once_and_its_outputs_never(
    runtime: ServerServices, clips: ClipCache
) -> None:
    add_workflow(runtime, "media")
    start_watching(runtime)
    source = clips(duration=2.0)
    target = media_root(runtime) / "up" / "copied.mp4"
    target.parent.mkdir(parents=True)
    data = source.read_bytes()
    with target.open("wb") as out:  # a slow copy: the file grows for longer than SETTLE_MS
        for start in range(0, len(data), len(data) // 4 + 1):
            out.write(data[start : start + len(data) // 4 + 1])
            out.flush()
            time.sleep(SETTLE_MS / 1000 / 2)
            assert tasks(runtime) == []  # not before it stopped growing
    (media_root(runtime) / "up" / ".copied.mp4.rsync-part").write_bytes(data)  # hidden: never
    assert wait_for(lambda: len(tasks(runtime)) == 1)

    (done,) = run_all(runtime)
    assert succeeded(done)
    assert done.source.key == "up/copied.mp4"
    shutil.copyfile(source, target)  # the same version copied again
    quiet()
    assert len(tasks(runtime)) == 1


def test_restart_does_not_trigger_again_but_catches_up(data_dir: Path, clips: ClipCache) -> None:
    source = clips(duration=1.0)
    with build_server(settings(data_dir)) as first:
        add_workflow(first, "media", folder="in/")
        start_watching(first)
        root = media_root(first)
        (root / "in").mkdir()
        shutil.copyfile(source, root / "in" / "a.mp4")
        assert wait_for(lambda: len(tasks(first)) == 1)
        quiet()  # the checkpoint is saved once nothing is pending
    shutil.copyfile(source, root / "in" / "offline.mp4")  # arrives while reelflow is down

    with build_server(settings(data_dir)) as second:
        start_watching(second)
        assert wait_for(lambda: len(tasks(second)) == 2)
        quiet()
        keys = sorted(view.source.key for view in tasks(second))
        assert keys == ["in/a.mp4", "in/offline.mp4"]
