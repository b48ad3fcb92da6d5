"""ManageTask Abort, and the regions and notification config a task keeps, over a runtime
whose scheduler is not running (tasks stay WAITING until aborted)."""

from __future__ import annotations

import json
import time

from reelflow.compat.render import event_body
from reelflow.notify.body import render
from reelflow.specs.events import EventType
from reelflow.wiring.server import ServerServices
from tests.unit.mps.conftest import Call, error_code
from tests.unit.mps.test_tasks import submit


def test_abort_a_waiting_task(call: Call, runtime: ServerServices) -> None:
    task_id = submit(call)
    assert call("DescribeTaskDetail", {"TaskId": task_id})["Status"] == "WAITING"

    answer = call("ManageTask", {"OperationType": "Abort", "TaskId": task_id})

    assert set(answer) == {"RequestId"}
    detail = call("DescribeTaskDetail", {"TaskId": task_id})
    assert detail["Status"] == "FINISH"
    results = detail["WorkflowTask"]["MediaProcessResultSet"]
    members = [r["TranscodeTask"] or r["SampleSnapshotTask"] for r in results]
    assert [(m["Status"], m["ErrCodeExt"], m["ErrCode"]) for m in members] == [
        ("FAIL", "Cancelled", 30010)
    ] * 2
    # Again: nothing to do, no error.
    assert "Error" not in call("ManageTask", {"OperationType": "Abort", "TaskId": task_id})


def test_manage_task_errors(call: Call) -> None:
    task_id = submit(call)
    cases = [
        ({"TaskId": task_id}, "MissingParameter"),
        ({"OperationType": "Abort"}, "MissingParameter"),
        ({"OperationType": "Restart", "TaskId": task_id}, "InvalidParameterValue.OperationType"),
        ({"OperationType": "Abort", "TaskId": "rf-" + "0" * 32}, "ResourceNotFound.TaskNotFound"),
        ({"OperationType": "Abort", "TaskId": task_id, "Force": 1}, "UnsupportedOperation"),
    ]
    for params, code in cases:
        assert error_code(call("ManageTask", params)) == code, params


def test_regions_and_notify_config_are_kept_as_sent(call: Call, runtime: ServerServices) -> None:
    notify = {"NotifyType": "CMQ", "CmqModel": "Queue", "CmqRegion": "gz", "QueueName": "q1"}
    task_id = submit(call, TaskNotifyConfig=notify)  # CosInputInfo.Region ap-guangzhou

    # Asked from another region, the task still says what its request said.
    detail = call("DescribeTaskDetail", {"TaskId": task_id}, region="ap-beijing")

    assert {k: detail["TaskNotifyConfig"][k] for k in notify} == notify
    cos = detail["WorkflowTask"]["InputInfo"]["CosInputInfo"]
    assert cos["Region"] == "ap-guangzhou"
    runtime.engine.cancel(task_id)
    view = runtime.engine.task_view(task_id)
    body = render(event_body(view, "ev-1", 1, EventType.TASK_FINISHED), "", time.time())
    parsed = call("ParseNotification", {"Content": json.dumps(body)})
    assert (
        parsed["WorkflowTaskEvent"]["InputInfo"]
        == call("DescribeTaskDetail", {"TaskId": task_id})["WorkflowTask"]["InputInfo"]
    )


def test_a_schedule_keeps_its_regions(call: Call) -> None:
    trigger = {"Bucket": "media", "Region": "ap-chengdu", "Dir": "/s/"}
    created = call(
        "CreateSchedule",
        {
            "ScheduleName": "regions",
            "Trigger": {"Type": "CosFileUpload", "CosFileUploadTrigger": trigger},
            "Activities": [
                {"ActivityType": "input", "ReardriveIndex": [1]},
                {
                    "ActivityType": "action-trans",
                    "ActivityPara": {"TranscodeTask": {"Definition": 10}},
                },
            ],
        },
    )
    schedule_id = created["ScheduleId"]
    call("ModifySchedule", {"ScheduleId": schedule_id, "ScheduleName": "renamed"})

    [info] = call("DescribeSchedules", {"ScheduleIds": [schedule_id]}, region="ap-beijing")[
        "ScheduleInfoSet"
    ]
    assert info["Trigger"]["CosFileUploadTrigger"]["Region"] == "ap-chengdu"
    assert info["OutputStorage"]["CosOutputStorage"]["Region"] == "ap-chengdu"
    # A ProcessMedia run of it: the request's own regions win over the schedule's.
    source = {"Bucket": "media", "Region": "ap-nanjing", "Object": "/in/a.mp4"}
    task_id = call(
        "ProcessMedia",
        {"InputInfo": {"Type": "COS", "CosInputInfo": source}, "ScheduleId": schedule_id},
    )["TaskId"]
    detail = call("DescribeTaskDetail", {"TaskId": task_id}, region="ap-beijing")
    assert detail["ScheduleTask"]["InputInfo"]["CosInputInfo"]["Region"] == "ap-nanjing"
