"""URL inputs under the egress policy, with real servers on loopback and real FFmpeg: an
allowed address works (no Range support, ``moov`` at the end); a redirect to a refused
address and a playlist whose segment is refused fail with ``InvalidInput.UrlNotAllowed``
while the refused listener accepts zero connections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reelflow.config import Settings
from reelflow.engine.views import TaskView
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.egress import CountingListener, file_server
from tests.unit.api.conftest import TestClient

pytestmark = pytest.mark.integration

ALLOWED = "127.0.0.2"  # opened by the policy below; 127.0.0.1 stays refused
SPEC = {"transcode_task_set": [{"definition": 100010}]}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServerServices]:
    settings = Settings(
        data_dir=tmp_path / "data",
        video_preset="ultrafast",
        workers=1,
        egress_allow=(f"{ALLOWED}/32",),
    )
    with build_server(settings) as rt:
        yield rt


def run(runtime: ServerServices, url: str) -> tuple[TaskView, dict[str, Any]]:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    body = {"input": {"url": url}, "media_process_task": SPEC, "output": {"bucket": "media"}}
    with TestClient(create_app(runtime)) as client:
        answer = client.post("/v1/tasks", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        task_id = answer.json()["task_id"]
        assert runtime.scheduler.run_until(
            lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=120
        )
        doc = client.get(f"/v1/tasks/{task_id}", headers=headers).json()
    return runtime.engine.task_view(task_id), doc


def test_a_url_input_from_an_allowed_address_is_fetched_and_transcoded(
    runtime: ServerServices, clips: ClipCache
) -> None:
    clip = clips(duration=1.0, faststart=False)  # moov at the end; the server has no Range
    requests: list[str] = []
    with file_server(clip.parent, ALLOWED, requests=requests) as base:
        view, doc = run(runtime, base + clip.name + "?sig=1")
    assert (view.state.value, view.err_code) == ("succeeded", ""), doc
    assert [s["status"] for s in doc["subtasks"]] == ["SUCCESS"]
    assert doc["metadata"]["Duration"] == pytest.approx(1.0, abs=0.2)
    # Fetched once for the task: the media job took over the probe's copy, then removed it.
    assert requests == [f"/{clip.name}?sig=1"]
    left = (runtime.settings.data_dir / "scratch").rglob("*")
    assert [path for path in left if not path.is_dir()] == []


def test_a_redirect_to_a_refused_address_fails_and_connects_nowhere(
    runtime: ServerServices, clips: ClipCache
) -> None:
    clip = clips(duration=1.0)
    with CountingListener("127.0.0.1") as refused:
        target = f"http://127.0.0.1:{refused.port}/{clip.name}"
        with file_server(clip.parent, ALLOWED, {"go": target}) as base:
            view, _doc = run(runtime, base + "go")
        assert refused.accepted == 0
    assert view.state.value == "failed"
    assert view.err_code == "InvalidInput.UrlNotAllowed"
    assert "127.0.0.1 is a loopback address" in view.message
    assert [s.err_code for s in view.subtasks] == ["InvalidInput.UrlNotAllowed"]


def test_a_playlist_naming_a_refused_segment_fails_and_connects_nowhere(
    runtime: ServerServices, tmp_path: Path
) -> None:
    with CountingListener("127.0.0.1") as refused:
        playlist = tmp_path / "hls" / "index.m3u8"
        playlist.parent.mkdir()
        playlist.write_text(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n"
            f"http://127.0.0.1:{refused.port}/seg0.ts\n#EXT-X-ENDLIST\n"
        )
        with file_server(playlist.parent, ALLOWED) as base:
            view, _doc = run(runtime, base + "index.m3u8")
        assert refused.accepted == 0
    assert (view.state.value, view.err_code) == ("failed", "InvalidInput.UrlNotAllowed")
    assert "HLS playlist" in view.message


def test_a_missing_url_source_is_the_tasks_own_error(
    runtime: ServerServices, tmp_path: Path
) -> None:
    with file_server(tmp_path, ALLOWED) as base:
        view, doc = run(runtime, base + "gone.mp4")
    assert (view.state.value, view.err_code) == ("failed", "ResourceNotFound.ObjectNotFound")
    assert doc["workflow_task"]["ErrCode"] != 0
    assert doc["workflow_task"]["ErrCodeExt"] == "ResourceNotFound.ObjectNotFound"


def test_a_playlist_in_a_bucket_is_refused_too(runtime: ServerServices) -> None:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    with CountingListener("127.0.0.1") as refused:
        playlist = (
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n"
            f"http://127.0.0.1:{refused.port}/seg0.ts\n#EXT-X-ENDLIST\n"
        )
        runtime.storages.get("media").put_bytes("in/index.m3u8", playlist.encode())
        body = {"input": {"bucket": "media", "key": "in/index.m3u8"}, "media_process_task": SPEC}
        with TestClient(create_app(runtime)) as client:
            task_id = client.post("/v1/tasks", json=body, headers=headers).json()["task_id"]
            assert runtime.scheduler.run_until(
                lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=60
            )
        assert refused.accepted == 0
    view = runtime.engine.task_view(task_id)
    assert (view.state.value, view.err_code) == ("failed", "InvalidInput.UrlNotAllowed")
    assert "media/in/index.m3u8 is an HLS playlist" in view.message


def test_a_url_source_that_is_not_media_leaves_no_copy_behind(
    runtime: ServerServices, tmp_path: Path
) -> None:
    (tmp_path / "noise.mp4").write_bytes(bytes(range(256)) * 64)
    with file_server(tmp_path, ALLOWED) as base:
        view, _doc = run(runtime, base + "noise.mp4")
    assert view.state.value == "failed" and view.err_code.startswith("InvalidInput.")
    scratch = runtime.settings.data_dir / "scratch"
    assert [p for p in scratch.rglob("*") if p.is_file()] == []


def test_a_dash_manifest_hidden_from_a_quick_look_is_refused_too(
    runtime: ServerServices, clips: ClipCache
) -> None:
    # FFmpeg's DASH probe finds "<mpd" in any case, anywhere in its probe buffer: this one
    # sits behind 6000 bytes of comment and names a file of the machine, which the FFmpeg
    # binary would open on the account's behalf (PyAV's build here cannot demux DASH, so
    # without the check the probe fails NotMedia; another build would read the file).
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    named = clips(duration=1.0)
    manifest = (
        '<?xml version="1.0"?>\n<!--' + " " * 6000 + "-->\n"
        '<mpd xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">'
        '<Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1">'
        f"<BaseURL>{named}</BaseURL></Representation></AdaptationSet></Period></mpd>\n"
    )
    runtime.storages.get("media").put_bytes("in/clip.mpd", manifest.encode())
    body = {"input": {"bucket": "media", "key": "in/clip.mpd"}, "media_process_task": SPEC}
    with TestClient(create_app(runtime)) as client:
        task_id = client.post("/v1/tasks", json=body, headers=headers).json()["task_id"]
        assert runtime.scheduler.run_until(
            lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=60
        )
    view = runtime.engine.task_view(task_id)
    assert (view.state.value, view.err_code) == ("failed", "InvalidInput.UrlNotAllowed")
    assert "media/in/clip.mpd is a DASH manifest" in view.message
