"""What the fuzz test found, each pinned by a plain request: the REST API does what its
OpenAPI document says (405 with ``Allow``, bounds, strict integers, body-less uploads,
404 for missing resources, one request schema per template kind)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reelflow.config import Settings
from reelflow.wiring.http import create_app
from reelflow.wiring.server import build_server
from tests.unit.conftest import TestClient

pytestmark = pytest.mark.integration

TOO_BIG = 2**63  # one past the largest id


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with build_server(Settings(data_dir=tmp_path / "data")) as runtime:
        assert runtime.admin_key is not None
        with TestClient(create_app(runtime)) as test_client:
            test_client.headers["Authorization"] = f"Bearer {runtime.admin_key.secret_key}"
            yield test_client


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    result: dict[str, Any] = body["error"]
    return result


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/tasks", "GET, POST"),
        ("PUT", "/v1/workflows/1:enable", "POST"),
        ("GET", "/v1/tasks/rf-1:cancel", "POST"),
        ("PATCH", "/v1/workflows/1", "DELETE, GET, PUT"),
        ("POST", "/v1/templates/Transcode/1000000", "DELETE, GET, PUT"),
        ("DELETE", "/v1/buckets", "GET"),
    ],
)
def test_a_method_the_path_lacks_is_405_listing_those_it_has(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert error(response)["code"] == "UnsupportedOperation.Method"


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/workflows/{TOO_BIG}",
        f"/v1/deliveries/{TOO_BIG}",
        f"/v1/templates/Transcode/{TOO_BIG}",
        f"/v1/workflows?id={TOO_BIG}",
        f"/v1/tasks?workflow_id={TOO_BIG}",
    ],
)
def test_ids_past_int64_are_refused_naming_the_field(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400, response.text
    assert error(response)["fields"]


def test_unknown_query_parameters_are_refused(client: TestClient) -> None:
    response = client.get("/v1/workflows", params={"limt": 5})
    assert response.status_code == 400
    assert error(response)["code"] == "UnknownParameter"
    assert [f["field"] for f in error(response)["fields"]] == ["limt"]


@pytest.mark.parametrize("wait", [False, "1", 1.5])
def test_wait_seconds_must_be_an_integer(client: TestClient, wait: object) -> None:
    response = client.post("/v1/queues/q/messages:receive", json={"wait_seconds": wait})
    assert response.status_code == 400, response.text
    assert [f["field"] for f in error(response)["fields"]] == ["wait_seconds"]


def test_an_integral_float_is_an_integer(client: TestClient) -> None:
    response = client.post("/v1/queues/q/messages:receive", json={"max_messages": 2.0})
    assert response.status_code == 200, response.text


def test_a_template_number_must_be_a_number(client: TestClient) -> None:
    body = {"name": "s", "format": "jpg", "height": False}
    response = client.post("/v1/templates/SnapshotByTimeOffset", json=body)
    assert response.status_code == 400, response.text
    assert [f["field"] for f in error(response)["fields"]] == ["height"]


def test_an_upload_without_a_body_is_refused_and_stores_nothing(client: TestClient) -> None:
    url = "/v1/buckets/media/objects/empty.bin"
    # httpx sends "Content-Length: 0" for a body-less PUT, as requests does.
    response = client.put(url)
    assert response.status_code == 400, response.text
    assert error(response)["code"] == "InvalidParameterValue.Body"
    assert client.get(url).status_code == 404


def test_a_missing_resource_named_in_the_body_is_404(client: TestClient) -> None:
    task = {"input": {"bucket": "nope", "key": "a.mp4"}, "workflow_id": 1}
    response = client.post("/v1/tasks", json=task)
    assert response.status_code == 404, response.text
    assert error(response)["code"].startswith("ResourceNotFound.")


def test_each_template_kind_has_its_own_request_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/templates/Transcode"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/TranscodeTemplate")
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]
    conflict = schema["paths"]["/v1/buckets/{bucket}"]["put"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
