"""Another account's key sees none of the admin's tasks, workflows, templates or objects:
each is reported exactly like one that does not exist (404), and lists leave them out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.clips import ClipCache
from tests.integration.server.media import submit, upload
from tests.integration.server.process import ServerProcess, create_key, wait_finished
from tests.integration.server.responses import api_error, fields_of

pytestmark = pytest.mark.integration

SNAPSHOT = {
    "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["0.5s"]}]
}
TEMPLATE = {
    "name": "admin-240p",
    "container": "mp4",
    "video_template": {"codec": "libx264", "height": 240, "bitrate": 300},
    "audio_template": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
}


@dataclass(frozen=True)
class AdminThings:
    task_id: str
    workflow_id: int
    template: int
    key: str  # an object in the admin's bucket "media"


@pytest.fixture(scope="module")
def owned(server: ServerProcess, clips: ClipCache) -> AdminThings:
    with server.client() as admin:
        key = "isolation/clip.mp4"
        upload(admin, key, clips(duration=1.0))
        task_id = submit(
            admin, {"input": {"bucket": "media", "key": key}, "media_process_task": SNAPSHOT}
        )
        created = admin.post("/v1/templates/Transcode", json=TEMPLATE)
        assert created.status_code == 201, created.text
        template = created.json()["definition"]
        workflow = admin.post(
            "/v1/workflows",
            json={
                "name": "isolation",
                "trigger": {"bucket": "media", "dir": "/isolation/incoming/"},
                "media_process_task": {"transcode_task_set": [{"definition": template}]},
            },
        )
        assert workflow.status_code == 201, workflow.text
        wait_finished(admin, task_id)
        return AdminThings(task_id, workflow.json()["id"], template, key)


@pytest.fixture(scope="module")
def bob(server: ServerProcess) -> Iterator[httpx.Client]:
    """A second account, its key made by the CLI while the server runs."""
    with server.client(create_key(server.data_dir, "bob")) as client:
        yield client


def reach(things: AdminThings, bucket: str = "media") -> list[tuple[str, str, str]]:
    """(method, path, code) for every way to reach ``things``; each must be a 404."""
    task = f"/v1/tasks/{things.task_id}"
    workflow = f"/v1/workflows/{things.workflow_id}"
    template = f"/v1/templates/Transcode/{things.template}"
    obj = f"/v1/buckets/{bucket}/objects/{things.key}"
    no_bucket = "ResourceNotFound.BucketNotExist"
    return [
        ("GET", task, "ResourceNotFound.TaskNotFound"),
        ("POST", f"{task}:cancel", "ResourceNotFound.TaskNotFound"),
        ("POST", f"{task}:retry", "ResourceNotFound.TaskNotFound"),
        ("GET", workflow, "ResourceNotFound.WorkflowNotExist"),
        ("POST", f"{workflow}:enable", "ResourceNotFound.WorkflowNotExist"),
        ("POST", f"{workflow}:disable", "ResourceNotFound.WorkflowNotExist"),
        ("DELETE", workflow, "ResourceNotFound.WorkflowNotExist"),
        ("GET", template, "ResourceNotFound.TemplateNotExist"),
        ("DELETE", template, "ResourceNotFound.TemplateNotExist"),
        ("GET", obj, no_bucket),
        ("DELETE", obj, no_bucket),
        ("GET", f"/v1/buckets/{bucket}/objects?prefix=isolation/", no_bucket),
    ]


def test_another_account_gets_404_for_each_resource(
    bob: httpx.Client, admin: httpx.Client, owned: AdminThings
) -> None:
    nothing = AdminThings("rf-0000", 999_999, 1_999_999, owned.key)
    for (method, path, code), (_, missing, _) in zip(
        reach(owned), reach(nothing, bucket="nothere"), strict=True
    ):
        error = api_error(bob.request(method, path), 404, code)
        # Worded like the answer about something that never existed: nothing leaks.
        absent = api_error(admin.request(method, missing), 404, code)
        assert _shape(error["message"]) == _shape(absent["message"]), (error, absent)
    head = bob.head(f"/v1/buckets/media/objects/{owned.key}")
    assert head.status_code == 404
    put = bob.put(f"/v1/buckets/media/objects/{owned.key}", content=b"overwritten by bob")
    api_error(put, 404, "ResourceNotFound.BucketNotExist")
    replace = bob.put(
        f"/v1/workflows/{owned.workflow_id}",
        json={
            "name": "hijack",
            "trigger": {"bucket": "media"},
            "media_process_task": {"transcode_task_set": [{"definition": 100010}]},
        },
    )
    assert replace.status_code in (400, 404), replace.text  # no bucket and no workflow of his
    template_put = bob.put(f"/v1/templates/Transcode/{owned.template}", json=TEMPLATE)
    api_error(template_put, 404, "ResourceNotFound.TemplateNotExist")

    # Nothing bob tried changed anything of the admin's.
    source = admin.head(f"/v1/buckets/media/objects/{owned.key}")
    assert source.status_code == 200
    assert int(source.headers["content-length"]) > len(b"overwritten by bob")
    assert admin.get(f"/v1/workflows/{owned.workflow_id}").json()["name"] == "isolation"
    assert admin.get(f"/v1/tasks/{owned.task_id}").json()["phase"] == "succeeded"
    assert admin.get(f"/v1/templates/Transcode/{owned.template}").status_code == 200


def test_another_account_lists_only_its_own(
    bob: httpx.Client, admin: httpx.Client, owned: AdminThings
) -> None:
    assert bob.get("/v1/tasks").json() == {"tasks": [], "next_cursor": None}
    assert bob.get("/v1/workflows").json()["workflows"] == []
    assert bob.get("/v1/templates", params={"type": "Custom"}).json()["total"] == 0
    assert bob.get("/v1/buckets").json() == {"buckets": []}
    # The admin's lists do hold them.
    admin_tasks = [t["id"] for t in admin.get("/v1/tasks", params={"limit": 100}).json()["tasks"]]
    assert owned.task_id in admin_tasks
    assert "media" in [b["name"] for b in admin.get("/v1/buckets").json()["buckets"]]


def test_another_account_cannot_use_the_admins_bucket_or_template(
    bob: httpx.Client, owned: AdminThings
) -> None:
    on_admin_bucket = bob.post(
        "/v1/tasks",
        json={"input": {"bucket": "media", "key": owned.key}, "media_process_task": SNAPSHOT},
    )
    error = api_error(on_admin_bucket, 404, "ResourceNotFound.BucketNotExist")
    assert fields_of(error) == ["input.bucket"]
    with_admin_template = bob.post(
        "/v1/workflows",
        json={
            "name": "bob",
            "trigger": {"bucket": "media"},
            "media_process_task": {"transcode_task_set": [{"definition": owned.template}]},
        },
    )
    error = api_error(with_admin_template, 404, "ResourceNotFound.BucketNotExist")
    assert fields_of(error) == ["trigger.bucket"]


def _shape(message: str) -> str:
    """A message with its ids and names taken out."""
    return re.sub(r"'[^']*'|\b[\w-]*\d[\w-]*\b", "?", message)
