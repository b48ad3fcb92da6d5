"""``POST /``: the envelope, the order of checks and their codes, over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from reelflow.api.mps.actions import ACTIONS
from reelflow.wiring.server import ServerServices
from tests.unit.mps.conftest import Call, Credentials, TestClient, error_code
from tests.unit.mps.tc3 import signed_headers


def post(client: TestClient, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    response = client.post("/", content=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"  # exactly: no charset
    answer: dict[str, Any] = response.json()["Response"]
    return answer


def test_success_envelope(client: TestClient, admin: Credentials) -> None:
    body = b'{"Status": "WAITING"}'
    headers = signed_headers("DescribeTasks", body, admin.secret_id, admin.secret_key)
    response = client.post("/", content=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert list(answer) == ["Response"]
    assert set(answer["Response"]) == {"TaskSet", "ScrollToken", "TotalCount", "RequestId"}


def test_error_envelope(call: Call) -> None:
    answer = call("DescribeTasks", {})
    assert set(answer) == {"Error", "RequestId"}
    assert answer["Error"] == {"Code": "MissingParameter", "Message": "Status is required"}


def test_request_ids_differ(call: Call) -> None:
    assert call("DescribeTasks", {})["RequestId"] != call("DescribeTasks", {})["RequestId"]


def test_wrong_secret_key(call: Call, admin: Credentials) -> None:
    wrong = Credentials(admin.secret_id, admin.secret_key + "x")
    answer = call("DescribeTasks", {"Status": "FINISH"}, credentials=wrong)
    assert error_code(answer) == "AuthFailure.SignatureFailure"


def test_unknown_and_revoked_secret_id(call: Call, runtime: ServerServices) -> None:
    unknown = Credentials("AKIDnobody", "whatever")
    assert error_code(call("DescribeTasks", {}, credentials=unknown)) == (
        "AuthFailure.SecretIdNotFound"
    )
    key = runtime.accounts.create_key("carol")
    carol = Credentials(key.secret_id, key.secret_key)
    assert "Error" not in call("DescribeTasks", {"Status": "FINISH"}, credentials=carol)
    runtime.accounts.revoke(key.secret_id)
    assert error_code(call("DescribeTasks", {}, credentials=carol)) == (
        "AuthFailure.SecretIdNotFound"
    )


def test_expired_timestamp(call: Call) -> None:
    answer = call("DescribeTasks", {"Status": "FINISH"}, timestamp=int(time.time()) - 600)
    assert error_code(answer) == "AuthFailure.SignatureExpire"


def test_signed_for_another_host(client: TestClient, admin: Credentials) -> None:
    body = b'{"Status": "FINISH"}'
    headers = signed_headers(
        "DescribeTasks", body, admin.secret_id, admin.secret_key, host="127.0.0.1:8080"
    )
    assert "Error" not in post(client, headers, body)  # the Host header as sent is signed
    headers["Host"] = "127.0.0.1:9090"  # as a proxy rewriting Host would
    assert error_code(post(client, headers, body)) == "AuthFailure.SignatureFailure"


def test_missing_authorization(client: TestClient, admin: Credentials) -> None:
    headers = signed_headers("DescribeTasks", b"{}", admin.secret_id, admin.secret_key)
    del headers["Authorization"]
    assert error_code(post(client, headers, b"{}")) == "AuthFailure.InvalidAuthorization"


def test_body_changed_after_signing(client: TestClient, admin: Credentials) -> None:
    headers = signed_headers(
        "DescribeTasks", b'{"Status":"FINISH"}', admin.secret_id, admin.secret_key
    )
    answer = post(client, headers, b'{"Status": "FINISH"}')
    assert error_code(answer) == "AuthFailure.SignatureFailure"


def test_auth_is_checked_before_the_action(call: Call) -> None:
    wrong = Credentials("AKIDnobody", "x")
    assert error_code(call("NoSuchAction", {}, credentials=wrong)) == (
        "AuthFailure.SecretIdNotFound"
    )


def test_unknown_action(call: Call) -> None:
    answer = call("DescribeAIAnalysisTemplates", {})
    assert error_code(answer) == "InvalidAction"
    assert error_code(call("NoSuchAction", {})) == "InvalidAction"


def test_missing_action(client: TestClient, admin: Credentials) -> None:
    headers = signed_headers("", b"{}", admin.secret_id, admin.secret_key)
    assert error_code(post(client, headers, b"{}")) == "MissingParameter"


@pytest.mark.parametrize(
    ("version", "code"), [("2017-03-12", "InvalidParameterValue"), ("", "MissingParameter")]
)
def test_version(call: Call, version: str, code: str) -> None:
    assert error_code(call("DescribeTasks", {"Status": "FINISH"}, version=version)) == code


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_body(client: TestClient, admin: Credentials, body: bytes) -> None:
    headers = signed_headers("DescribeTasks", body, admin.secret_id, admin.secret_key)
    assert error_code(post(client, headers, body)) == "InvalidParameter"


def test_empty_body_is_no_parameters(client: TestClient, admin: Credentials) -> None:
    headers = signed_headers("DescribeTasks", b"", admin.secret_id, admin.secret_key)
    assert error_code(post(client, headers, b"")) == "MissingParameter"


def test_region_header_may_be_absent(call: Call) -> None:
    assert "Error" not in call("DescribeTasks", {"Status": "FINISH"}, region="")


def test_numbers_as_strings(call: Call) -> None:
    answer = call("DescribeTranscodeTemplates", {"Limit": "5", "Offset": "1"})
    assert answer["TotalCount"] > 6
    assert len(answer["TranscodeTemplateSet"]) == 5


def test_internal_error_is_an_envelope(call: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setitem(ACTIONS, "DescribeTasks", broken)
    answer = call("DescribeTasks", {"Status": "FINISH"})
    assert error_code(answer) == "InternalError"
    assert "boom" not in answer["Error"]["Message"]
    assert answer["RequestId"] in answer["Error"]["Message"]


def test_native_api_is_untouched(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    response = client.get("/v1/tasks")
    assert response.status_code == 401
    assert "error" in response.json()


def test_every_documented_action_is_offered() -> None:
    kinds = (
        "Transcode",
        "Watermark",
        "SnapshotByTimeOffset",
        "SampleSnapshot",
        "ImageSprite",
        "AnimatedGraphics",
        "AdaptiveDynamicStreaming",
    )
    expected = {
        "CreateWorkflow",
        "ResetWorkflow",
        "DescribeWorkflows",
        "EnableWorkflow",
        "DisableWorkflow",
        "DeleteWorkflow",
        "ProcessMedia",
        "EditMedia",
        "DescribeTaskDetail",
        "DescribeTasks",
        "ParseNotification",
        "CreateSchedule",
        "ModifySchedule",
        "DescribeSchedules",
        "EnableSchedule",
        "DisableSchedule",
        "DeleteSchedule",
        "DescribeMediaMetaData",
        "ManageTask",
    }
    for kind in kinds:
        expected |= {
            f"Create{kind}Template",
            f"Modify{kind}Template",
            f"Delete{kind}Template",
            f"Describe{kind}Templates",
        }
    assert set(ACTIONS) == expected
    assert json.dumps(sorted(ACTIONS))  # names are plain strings
