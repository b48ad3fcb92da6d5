"""``/v1/workflows``: create, read, replace, delete, list, enable/disable, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.conftest import OTHER_BUCKET, Key, TestClient, error_of, fields_of

SPEC = {"transcode_task_set": [{"definition": 100010}]}


def workflow(**extra: Any) -> dict[str, Any]:
    return {
        "name": "uploads",
        "trigger": {"bucket": "media", "dir": "/in", "formats": [".MP4", "mov"]},
        "media_process_task": SPEC,
        "output_dir": "/out/",
        "priority": 2,
        **extra,
    }


def create(client: TestClient, key: Key, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/workflows", json=workflow(**extra), headers=key.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_read_replace_delete(client: TestClient, admin: Key) -> None:
    created = create(client, admin)
    assert created["enabled"] is False
    assert created["trigger"] == {"bucket": "media", "dir": "in/", "formats": ["mp4", "mov"]}
    assert created["media_process_task"]["transcode_task_set"][0]["definition"] == 100010
    assert created["priority"] == 2
    url = f"/v1/workflows/{created['id']}"
    assert client.get(url, headers=admin.headers).json() == created
    response = client.put(url, json=workflow(name="renamed", priority=-1), headers=admin.headers)
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["priority"]) == ("renamed", -1)
    assert client.delete(url, headers=admin.headers).status_code == 204
    response = client.get(url, headers=admin.headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound.WorkflowNotExist"


def test_create_enabled_and_toggle(client: TestClient, admin: Key) -> None:
    created = create(client, admin, enabled=True)
    assert created["enabled"] is True
    url = f"/v1/workflows/{created['id']}"
    assert client.post(f"{url}:disable", headers=admin.headers).json()["enabled"] is False
    assert client.post(f"{url}:disable", headers=admin.headers).json()["enabled"] is False
    assert client.post(f"{url}:enable", headers=admin.headers).json()["enabled"] is True
    replaced = client.put(url, json=workflow(name="kept"), headers=admin.headers).json()
    assert replaced["enabled"] is True  # a replace keeps the state


def test_pascal_case_body(client: TestClient, admin: Key) -> None:
    body = {
        "Name": "pascal",
        "Trigger": {"Bucket": "media"},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
        "Enabled": True,
    }
    response = client.post("/v1/workflows", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert response.json()["enabled"] is True


def test_list_with_filters(client: TestClient, admin: Key) -> None:
    ids = [create(client, admin, name=f"w{i}", enabled=i % 2 == 0)["id"] for i in range(5)]
    page = client.get("/v1/workflows?limit=2&offset=1", headers=admin.headers).json()
    assert page["total"] == 5
    assert [w["id"] for w in page["workflows"]] == ids[1:3]
    enabled = client.get("/v1/workflows?enabled=true", headers=admin.headers).json()
    assert [w["id"] for w in enabled["workflows"]] == ids[0::2]
    chosen = client.get(f"/v1/workflows?id={ids[1]}&id={ids[4]}", headers=admin.headers).json()
    assert [w["id"] for w in chosen["workflows"]] == [ids[1], ids[4]]


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        (
            workflow(trigger={"bucket": "nope"}),
            "ResourceNotFound.BucketNotExist",
            ["trigger.bucket"],
        ),
        (workflow(output_bucket="nope"), "ResourceNotFound.BucketNotExist", ["output_bucket"]),
        (
            workflow(trigger={"bucket": OTHER_BUCKET}),
            "ResourceNotFound.BucketNotExist",
            ["trigger.bucket"],
        ),
        (
            workflow(media_process_task={"transcode_task_set": [{"definition": 4242}]}),
            "ResourceNotFound.TemplateNotExist",
            ["media_process_task.transcode_task_set[0].definition"],
        ),
        (workflow(priority=11), "InvalidParameterValue", ["priority"]),
        (
            workflow(trigger={"bucket": "media", "formats": ["m p4"]}),
            "InvalidParameterValue",
            ["trigger.formats"],
        ),
        (workflow(schedule="daily"), "UnknownParameter", ["schedule"]),
        ({"name": "x"}, "MissingParameter", ["trigger", "media_process_task"]),
        (workflow(enabled="maybe"), "InvalidParameterValue", ["enabled"]),
    ],
    ids=[
        "missing-bucket",
        "missing-output-bucket",
        "other-accounts-bucket",
        "unknown-template",
        "priority",
        "formats",
        "unknown-field",
        "missing-fields",
        "enabled-type",
    ],
)
def test_bad_workflows_name_the_field(
    client: TestClient, admin: Key, bob: Key, body: dict[str, Any], code: str, fields: list[str]
) -> None:
    response = client.post("/v1/workflows", json=body, headers=admin.headers)
    # A missing resource named in the body is a 404 with its ResourceNotFound.* code.
    expected = 404 if code.startswith("ResourceNotFound") else 400
    assert response.status_code == expected, response.text
    assert error_of(response)["code"] == code
    assert fields_of(response) == fields


def test_names_are_unique_per_account(client: TestClient, admin: Key, bob: Key) -> None:
    create(client, admin)
    response = client.post("/v1/workflows", json=workflow(), headers=admin.headers)
    assert response.status_code == 400
    assert fields_of(response) == ["name"]
    bobs = workflow(trigger={"bucket": OTHER_BUCKET})
    assert client.post("/v1/workflows", json=bobs, headers=bob.headers).status_code == 201


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", ":enable"), ("POST", ":disable")],
)
def test_another_accounts_workflow_is_404(
    client: TestClient, admin: Key, bob: Key, method: str, suffix: str
) -> None:
    workflow_id = create(client, admin)["id"]
    body = workflow(trigger={"bucket": OTHER_BUCKET}) if method == "PUT" else None
    response = client.request(
        method, f"/v1/workflows/{workflow_id}{suffix}", json=body, headers=bob.headers
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound.WorkflowNotExist"
    assert client.get("/v1/workflows", headers=bob.headers).json()["total"] == 0
    mine = client.get(f"/v1/workflows/{workflow_id}", headers=admin.headers).json()
    assert (mine["name"], mine["enabled"]) == ("uploads", False)


def test_a_non_numeric_id_is_400(client: TestClient, admin: Key) -> None:
    response = client.get("/v1/workflows/abc", headers=admin.headers)
    assert response.status_code == 400
    assert fields_of(response) == ["workflow_id"]
