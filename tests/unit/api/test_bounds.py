"""Out-of-bounds input through the REST API: a 400 naming the field, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.clips import TINY_PNG_B64
from tests.unit.api.conftest import Key, TestClient, error_of, fields_of
from tests.unit.api.test_templates import TRANSCODE
from tests.unit.mps.test_bounds import BROKEN_PNG, png_declaring


def image_mark(content: str) -> dict[str, Any]:
    return {"type": "image", "image_template": {"image_content": content}}


@pytest.mark.parametrize(
    "content", ["not base64!", png_declaring(30000, 30000), png_declaring(4097, 8), BROKEN_PNG]
)
def test_a_watermark_image_is_decoded_at_creation(
    client: TestClient, admin: Key, content: str
) -> None:
    response = client.post(
        "/v1/templates/Watermark", json=image_mark(content), headers=admin.headers
    )
    assert response.status_code == 400, response.text
    assert str(error_of(response)["code"]).startswith("InvalidParameterValue")
    assert fields_of(response) == ["image_template.image_content"]


def test_a_valid_watermark_image_is_stored(client: TestClient, admin: Key) -> None:
    response = client.post(
        "/v1/templates/Watermark", json=image_mark(TINY_PNG_B64), headers=admin.headers
    )
    assert response.status_code == 201, response.text


def test_a_5000_digit_bitrate_is_a_400(client: TestClient, admin: Key) -> None:
    # json.dumps cannot write it (Python refuses ints of more than 4300 digits): splice it.
    body = json.dumps(TRANSCODE).replace('"bitrate": 1800', '"bitrate": ' + "7" * 5000)
    assert '"bitrate": 777' in body
    response = client.post(
        "/v1/templates/Transcode",
        content=body,
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert fields_of(response) == ["video_template.bitrate"], response.text
    assert str(error_of(response)["code"]).startswith("InvalidParameterValue")


def test_an_id_of_5000_digits_in_a_body_names_its_field(client: TestClient, admin: Key) -> None:
    body = '{"input": {"bucket": "media", "key": "in/a.mp4"}, "workflow_id": ' + "9" * 5000 + "}"
    response = client.post(
        "/v1/tasks", content=body, headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert fields_of(response) == ["workflow_id"], response.text


def test_a_body_nested_30000_deep_is_a_400(client: TestClient, admin: Key) -> None:
    body = b'{"input": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    response = client.post(
        "/v1/tasks", content=body, headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error_of(response)


def task(transcode: dict[str, Any]) -> dict[str, Any]:
    return {
        "input": {"bucket": "media", "key": "in/a.mp4"},
        "media_process_task": {"transcode_task_set": [{"definition": 100010, **transcode}]},
    }


@pytest.mark.parametrize(
    ("offsets", "field"),
    [
        ({"start_time_offset": -5, "end_time_offset": 1e308}, "end_time_offset"),
        ({"start_time_offset": 10, "end_time_offset": 2}, "end_time_offset"),
        ({"start_time_offset": -1e308}, "start_time_offset"),
    ],
)
def test_time_offsets_are_refused_at_submission(
    client: TestClient, admin: Key, offsets: dict[str, float], field: str
) -> None:
    response = client.post("/v1/tasks", json=task(offsets), headers=admin.headers)
    assert response.status_code == 400, response.text
    assert str(error_of(response)["code"]).startswith("InvalidParameterValue")
    assert fields_of(response) == [f"media_process_task.transcode_task_set[0].{field}"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("in/a%ff%feb.mp4", "not valid Unicode"),
        ("in/%C3b.mp4", "not valid Unicode"),  # a lead byte without its continuation
        ("in/clip%E2%80%AEgpj.exe", "U+202E"),
        ("in/%E2%81%A6x.mp4", "U+2066"),
    ],
    ids=["ff-fe", "cut-utf8", "rlo", "lri"],
)
def test_keys_that_are_not_utf8_or_hold_bidi_controls_are_refused(
    client: TestClient, admin: Key, path: str, reason: str
) -> None:
    url = "/v1/buckets/media/objects/"
    for method in ("PUT", "GET", "HEAD", "DELETE"):
        response = client.request(method, url + path, content=b"data", headers=admin.headers)
        assert response.status_code == 400, (method, response.text)
        if method != "HEAD":
            error = error_of(response)
            assert error["code"] == "InvalidParameterValue.Key"
            assert reason in str(error["message"])
    listing = client.get(
        "/v1/buckets/media/objects", params={"prefix": "in/"}, headers=admin.headers
    )
    assert listing.json()["objects"] == []
