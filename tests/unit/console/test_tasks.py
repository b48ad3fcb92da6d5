"""Task pages: the diagram, live fragments, cancel and retry; the dashboard."""

from __future__ import annotations

import re

from reelflow.specs.requests import TaskRequest
from reelflow.wiring.server import ServerServices
from tests.unit.console.conftest import Console


def _submit(runtime: ServerServices) -> str:
    runtime.storages.get("media").put_bytes("in/a.mp4", b"not really a video")
    request = TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "media", "key": "in/a.mp4"},
            "media_process_task": {
                "transcode_task_set": [{"definition": 100010}],
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["50%"]}
                ],
            },
        }
    )
    return runtime.engine.submit(request, account_id=runtime.admin_account.id)


def test_task_page_draws_one_node_per_subtask(console: Console, runtime: ServerServices) -> None:
    task_id = _submit(runtime)
    page = console.client.get(f"/console/tasks/{task_id}")
    assert page.status_code == 200
    wide = page.text.split('class="diagram wide"')[1].split("</svg>")[0]
    nodes = re.findall(r'class="node" data-index="(\d+)" data-state="(\w+)"', wide)
    assert nodes == [("0", "pending"), ("1", "pending")]
    for shape in ("start", "fork", "join", "end"):
        assert f'data-shape="{shape}"' in wide
    assert 'hx-trigger="every 1s"' in page.text  # polls while the task runs


def test_cancel_then_the_live_fragment_stops_polling(
    console: Console, runtime: ServerServices
) -> None:
    task_id = _submit(runtime)
    done = console.post(f"/console/tasks/{task_id}/cancel")
    assert done.status_code == 303
    live = console.client.get(f"/console/tasks/{task_id}/live")
    assert 'data-task-state="cancelled"' in live.text
    assert "hx-trigger" not in live.text.split(">")[0]
    again = console.post(f"/console/tasks/{task_id}/retry")
    assert again.status_code == 303  # refused with a notice, not an error page
    assert "only a failed task" in console.client.get(f"/console/tasks/{task_id}").text


def test_lists_and_dashboard(console: Console, runtime: ServerServices) -> None:
    task_id = _submit(runtime)
    rows = console.client.get("/console/tasks/rows?state=active")
    assert task_id in rows.text
    assert task_id not in console.client.get("/console/tasks/rows?state=failed").text
    dashboard = console.client.get("/console")
    assert re.search(
        r'data-count="queued">\s*<div class="label">queued</div>\s*<div class="value">1<',
        dashboard.text,
    )


def test_unknown_task_is_a_404_page(console: Console) -> None:
    page = console.client.get("/console/tasks/rf-none")
    assert page.status_code == 404 and "no task with id" in page.text
