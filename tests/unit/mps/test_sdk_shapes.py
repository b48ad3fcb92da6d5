"""Every answer deserializes into the official SDK's response model without a warning.

The SDK warns (``UserWarning: X fileds are useless``) for any member a nested structure
does not define; the test suite turns warnings into errors, so an extra field fails here.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from tencentcloud.mps.v20190612 import models

from reelflow.compat.render import event_body
from reelflow.notify.body import render
from reelflow.specs.events import EventType
from reelflow.wiring.server import ServerServices
from tests.unit.mps.conftest import Call
from tests.unit.mps.test_templates import CREATE
from tests.unit.mps.test_workflows import workflow


def check(action: str, answer: dict[str, Any]) -> None:
    assert "Error" not in answer, answer
    model = getattr(models, f"{action}Response")()
    model._deserialize(answer)  # raises on any warning


@pytest.mark.parametrize("kind", list(CREATE))
def test_template_answers(call: Call, kind: str) -> None:
    created = call(f"Create{kind}Template", CREATE[kind])
    check(f"Create{kind}Template", created)
    check(f"Describe{kind}Templates", call(f"Describe{kind}Templates", {"Limit": 100}))
    change = {"Definition": created["Definition"], "Name": "n"}
    check(f"Modify{kind}Template", call(f"Modify{kind}Template", change))
    check(
        f"Delete{kind}Template",
        call(f"Delete{kind}Template", {"Definition": created["Definition"]}),
    )


def test_workflow_answers(call: Call) -> None:
    raw = {
        "Definition": 0,
        "ExtInfo": "x",
        "RawParameter": {
            "Container": "mp4",
            "VideoTemplate": {"Codec": "h264", "Fps": 0, "Bitrate": 0, "Height": 180},
            "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
        },
        "WatermarkSet": [
            {"Definition": call("CreateWatermarkTemplate", CREATE["Watermark"])["Definition"]}
        ],
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": "media", "Region": "r"}},
        "OutputObjectPath": "{inputName}_raw.{format}",
    }
    task = {
        "TranscodeTaskSet": [raw],
        "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}],
        "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
        "SampleSnapshotTaskSet": [{"Definition": 10}],
        "ImageSpriteTaskSet": [{"Definition": 10}],
    }
    created = call("CreateWorkflow", workflow(MediaProcessTask=task))
    check("CreateWorkflow", created)
    check("DescribeWorkflows", call("DescribeWorkflows", {}))
    for action in ("EnableWorkflow", "DisableWorkflow", "DeleteWorkflow"):
        check(action, call(action, {"WorkflowId": created["WorkflowId"]}))


def test_task_answers(call: Call, runtime: ServerServices) -> None:
    raw = {
        "Definition": 0,
        "RawParameter": {
            "Container": "mp4",
            "VideoTemplate": {"Codec": "h264", "Fps": 0, "Bitrate": 0, "Height": 180},
            "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
        },
    }
    params = {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": "media", "Region": "r", "Object": "/a.mp4"},
        },
        "MediaProcessTask": {
            "TranscodeTaskSet": [raw, {"Definition": 100010}],
            "AnimatedGraphicTaskSet": [
                {"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}
            ],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
            "SampleSnapshotTaskSet": [{"Definition": 10}],
            "ImageSpriteTaskSet": [{"Definition": 10}],
        },
        "TaskNotifyConfig": {"NotifyType": "TDMQ-CMQ", "QueueName": "q", "NotifyKey": "k"},
        "SessionContext": "ctx",
    }
    created = call("ProcessMedia", params)
    check("ProcessMedia", created)
    task_id = created["TaskId"]
    check("DescribeTaskDetail", call("DescribeTaskDetail", {"TaskId": task_id}))
    runtime.engine.cancel(task_id)
    check("DescribeTaskDetail", call("DescribeTaskDetail", {"TaskId": task_id}))
    check("DescribeTasks", call("DescribeTasks", {"Status": "FINISH"}))
    view = runtime.engine.task_view(task_id)
    body = render(event_body(view, "ev-1", 2, EventType.TASK_FINISHED), "k", time.time())
    check("ParseNotification", call("ParseNotification", {"Content": json.dumps(body)}))
