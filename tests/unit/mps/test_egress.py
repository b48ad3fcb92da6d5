"""Submission under the egress policy (compatible API): ``InvalidParameter.InvalidUrl`` for
a refused ``UrlInputInfo.Url``, ``InvalidParameterValue.NotifyUrl`` for a refused
``NotifyUrl``, naming the rule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.mps.conftest import Call, error_code

HOSTS = ["127.0.0.1", "0x7f000001", "2130706433", "[::1]", "[::ffff:127.0.0.1]",
         "169.254.169.254", "10.1.2.3"]  # fmt: skip
OUTPUT = {"Type": "COS", "CosOutputStorage": {"Bucket": "media", "Region": "ap-guangzhou"}}
TASKS = {"TranscodeTaskSet": [{"Definition": 100010}]}


def url_input(url: str) -> dict[str, Any]:
    return {"Type": "URL", "UrlInputInfo": {"Url": url}}


@pytest.mark.parametrize("host", HOSTS)
def test_a_refused_url_input(call: Call, host: str) -> None:
    params = {
        "InputInfo": url_input(f"http://{host}/a.mp4"),
        "OutputStorage": OUTPUT,
        "MediaProcessTask": TASKS,
    }
    answer = call("ProcessMedia", params)
    assert error_code(answer) == "InvalidParameter.InvalidUrl"
    message = answer["Error"]["Message"]
    assert message.startswith("InputInfo.UrlInputInfo.Url: ")
    assert "the egress policy refuses it (REELFLOW_EGRESS_ALLOW)" in message


@pytest.mark.parametrize("host", HOSTS)
def test_a_refused_notify_url(call: Call, host: str) -> None:
    params = {
        "InputInfo": url_input("https://media.example/a.mp4"),
        "OutputStorage": OUTPUT,
        "MediaProcessTask": TASKS,
        "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": f"http://{host}/hook"},
    }
    answer = call("ProcessMedia", params)
    assert error_code(answer) == "InvalidParameterValue.NotifyUrl"
    assert answer["Error"]["Message"].startswith("TaskNotifyConfig.NotifyUrl: ")


def test_a_workflow_with_a_refused_notify_url(call: Call) -> None:
    params = {
        "WorkflowName": "up",
        "Trigger": {
            "Type": "CosFileUpload",
            "CosFileUploadTrigger": {"Bucket": "media", "Region": "ap-guangzhou", "Dir": "/up/"},
        },
        "MediaProcessTask": TASKS,
        "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": "http://169.254.169.254/x"},
    }
    answer = call("CreateWorkflow", params)
    assert error_code(answer) == "InvalidParameterValue.NotifyUrl"
    assert "169.254.169.254 is a link-local address" in answer["Error"]["Message"]
