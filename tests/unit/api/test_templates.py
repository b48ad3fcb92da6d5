"""``/v1/templates``: presets (read-only) and custom templates, per account."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.conftest import Key, TestClient, error_of, fields_of

TRANSCODE = {
    "name": "720p",
    "container": "mp4",
    "video_template": {"codec": "libx264", "bitrate": 1800, "height": 720},
    "audio_template": {"codec": "aac", "bitrate": 128, "sample_rate": 44100},
}
PASCAL = {
    "Name": "gif",
    "Fps": 10,
    "Format": "gif",
    "Width": 320,
}


def create(
    client: TestClient, key: Key, kind: str = "Transcode", body: Any = TRANSCODE
) -> dict[str, Any]:
    response = client.post(f"/v1/templates/{kind}", json=body, headers=key.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_read_replace_delete(client: TestClient, admin: Key) -> None:
    created = create(client, admin)
    assert created["type"] == "Custom"
    assert created["kind"] == "Transcode"
    assert created["name"] == "720p"
    assert created["template"]["video_template"]["codec"] == "h264"
    url = f"/v1/templates/Transcode/{created['definition']}"
    assert client.get(url, headers=admin.headers).json() == created
    changed = {**TRANSCODE, "name": "720p-v2", "comment": "tuned"}
    response = client.put(url, json=changed, headers=admin.headers)
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["comment"]) == ("720p-v2", "tuned")
    assert client.delete(url, headers=admin.headers).status_code == 204
    response = client.get(url, headers=admin.headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound.TemplateNotExist"


def test_pascal_case_bodies(client: TestClient, admin: Key) -> None:
    created = create(client, admin, "AnimatedGraphics", PASCAL)
    assert created["template"]["fps"] == 10
    assert created["template"]["width"] == 320


def test_presets_are_listed_and_read_only(client: TestClient, admin: Key) -> None:
    page = client.get(
        "/v1/templates",
        params={"kind": "Transcode", "type": "Preset", "limit": 5},
        headers=admin.headers,
    ).json()
    assert page["total"] > 5
    assert len(page["templates"]) == 5
    assert {t["type"] for t in page["templates"]} == {"Preset"}
    preset = page["templates"][0]
    url = f"/v1/templates/Transcode/{preset['definition']}"
    assert client.get(url, headers=admin.headers).json()["definition"] == preset["definition"]
    response = client.put(url, json=TRANSCODE, headers=admin.headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidParameterValue.ModifyDefaultTemplate"
    response = client.delete(url, headers=admin.headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidParameterValue.DeleteDefaultTemplate"


def test_list_custom_with_paging(client: TestClient, admin: Key) -> None:
    made = [create(client, admin, body={**TRANSCODE, "name": f"t{i}"}) for i in range(3)]
    params: dict[str, Any] = {"type": "Custom", "limit": 2, "offset": 1}
    page = client.get("/v1/templates", params=params, headers=admin.headers).json()
    assert page["total"] == 3
    assert [t["definition"] for t in page["templates"]] == [t["definition"] for t in made[1:]]
    wanted = {"definition": [made[0]["definition"], made[2]["definition"]], "type": "Custom"}
    page = client.get("/v1/templates", params=wanted, headers=admin.headers).json()
    assert page["total"] == 2


@pytest.mark.parametrize(
    ("kind", "body", "code", "fields"),
    [
        ("Transcode", {**TRANSCODE, "container": "avi"}, "InvalidParameterValue", ["container"]),
        ("Transcode", {**TRANSCODE, "colour": "red"}, "UnknownParameter", ["colour"]),
        (
            "Transcode",
            {"video_template": {"bitrate": 1000}},
            "MissingParameter",
            ["container", "video_template.codec"],
        ),
        (
            "Transcode",
            {**TRANSCODE, "video_template": {"codec": "h264", "bitrate": "fast"}},
            "InvalidParameterValue",
            ["video_template.bitrate"],
        ),
        ("Nonsense", TRANSCODE, "InvalidParameterValue", ["kind"]),
        (
            "SampleSnapshot",
            {"sample_type": "Percent", "sample_interval": 500},
            "InvalidParameterValue",
            ["body"],
        ),
    ],
    ids=["bad-value", "unknown-field", "missing", "wrong-type", "bad-kind", "model-rule"],
)
def test_bad_templates_name_the_field(
    client: TestClient, admin: Key, kind: str, body: Any, code: str, fields: list[str]
) -> None:
    response = client.post(f"/v1/templates/{kind}", json=body, headers=admin.headers)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == code
    assert fields_of(response) == fields


def test_a_template_in_use_cannot_be_deleted(client: TestClient, admin: Key) -> None:
    definition = create(client, admin)["definition"]
    workflow = {
        "name": "uses-it",
        "trigger": {"bucket": "media"},
        "media_process_task": {"transcode_task_set": [{"definition": definition}]},
    }
    assert client.post("/v1/workflows", json=workflow, headers=admin.headers).status_code == 201
    response = client.delete(f"/v1/templates/Transcode/{definition}", headers=admin.headers)
    assert response.status_code == 409
    assert error_of(response)["code"] == "FailedOperation.TemplateInUse"


def test_another_accounts_template_is_404(client: TestClient, admin: Key, bob: Key) -> None:
    definition = create(client, admin)["definition"]
    url = f"/v1/templates/Transcode/{definition}"
    for method in ("GET", "PUT", "DELETE"):
        response = client.request(method, url, json=TRANSCODE, headers=bob.headers)
        assert response.status_code == 404, method
        assert error_of(response)["code"] == "ResourceNotFound.TemplateNotExist"
    custom = client.get("/v1/templates?type=Custom", headers=bob.headers).json()
    assert custom["templates"] == []
    assert client.get(url, headers=admin.headers).json()["name"] == "720p"


def test_a_per_title_transcode_template(client: TestClient, admin: Key) -> None:
    video = {**TRANSCODE["video_template"], "content_adapt_stream": True, "target_vmaf": 95}
    created = create(client, admin, body={**TRANSCODE, "video_template": video})
    shown = created["template"]["video_template"]
    assert (shown["content_adapt_stream"], shown["target_vmaf"]) == (True, 95.0)
    for bad, field in (
        ({"content_adapt_stream": True, "target_vmaf": 120}, "video_template.target_vmaf"),
        ({"target_vmaf": 90}, "video_template"),
    ):
        body = {**TRANSCODE, "video_template": {**TRANSCODE["video_template"], **bad}}
        response = client.post("/v1/templates/Transcode", json=body, headers=admin.headers)
        assert response.status_code == 400, response.text
        assert fields_of(response) == [field], response.text
