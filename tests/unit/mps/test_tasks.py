"""ProcessMedia, DescribeTaskDetail and DescribeTasks over a runtime whose scheduler is not
running: tasks stay WAITING unless a test finishes them (cancel = FINISH with failed
sub-tasks)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reelflow.wiring.server import ServerServices
from tests.unit.mps.conftest import S3_BUCKET, S3_REGION, Call, Credentials, error_code


def process(**extra: Any) -> dict[str, Any]:
    return {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": "media", "Region": "ap-guangzhou", "Object": "/in/a.mp4"},
        },
        "MediaProcessTask": {
            "TranscodeTaskSet": [{"Definition": 100010}],
            "SampleSnapshotTaskSet": [{"Definition": 10}],
        },
        **extra,
    }


def submit(call: Call, **extra: Any) -> str:
    answer = call("ProcessMedia", process(**extra))
    assert "TaskId" in answer, answer
    task_id: str = answer["TaskId"]
    return task_id


def test_process_media_and_detail(call: Call, runtime: ServerServices) -> None:
    notify = {"NotifyType": "URL", "NotifyUrl": "http://hooks.example:9/hook", "NotifyKey": "k"}
    task_id = submit(
        call,
        OutputDir="/out/",
        TasksPriority="4",
        SessionContext="ctx",
        TaskNotifyConfig=notify,
        TaskType="Offline",
        SkipMateData=1,
    )
    detail = call("DescribeTaskDetail", {"TaskId": task_id})
    assert detail["TaskType"] == "WorkflowTask"
    assert detail["Status"] == "WAITING"
    assert detail["BeginProcessTime"] == "0000-00-00T00:00:00Z"
    assert (detail["TasksPriority"], detail["SessionContext"]) == (4, "ctx")
    assert detail["TaskNotifyConfig"]["NotifyType"] == "URL"
    assert detail["TaskNotifyConfig"]["NotifyUrl"] == "http://hooks.example:9/hook"
    task = detail["WorkflowTask"]
    assert task["TaskId"] == task_id
    assert task["InputInfo"] == {
        "Type": "COS",
        "CosInputInfo": {"Bucket": "media", "Region": "ap-guangzhou", "Object": "/in/a.mp4"},
    }
    results = task["MediaProcessResultSet"]
    assert [r["Type"] for r in results] == ["Transcode", "SampleSnapshot"]
    assert results[0]["TranscodeTask"]["Status"] == "PROCESSING"
    view = runtime.engine.task_view(task_id)
    assert {sub.spec.output_dir for sub in view.subtasks} == {"out/"}
    assert view.request.notify is not None and view.request.notify.notify_key == "k"


def test_outputs_default_to_the_input_folder(call: Call, runtime: ServerServices) -> None:
    task_id = submit(call)
    assert {sub.spec.output_dir for sub in runtime.engine.task_view(task_id).subtasks} == {"in/"}
    task_id = submit(call, OutputDir="/")
    assert {sub.spec.output_dir for sub in runtime.engine.task_view(task_id).subtasks} == {""}


def test_output_storage_and_s3_input(call: Call, runtime: ServerServices) -> None:
    s3_in = {
        "Type": "AWS-S3",
        "S3InputInfo": {"S3Bucket": S3_BUCKET, "S3Region": S3_REGION, "S3Object": "/a.mp4"},
    }
    out = {"Type": "COS", "CosOutputStorage": {"Bucket": "media", "Region": "x"}}
    task_id = submit(call, InputInfo=s3_in, OutputStorage=out)
    view = runtime.engine.task_view(task_id)
    assert (view.source.bucket, view.source.key) == (S3_BUCKET, "a.mp4")
    assert {sub.spec.output_bucket for sub in view.subtasks} == {"media"}
    detail = call("DescribeTaskDetail", {"TaskId": task_id})
    assert detail["WorkflowTask"]["InputInfo"]["CosInputInfo"]["Region"] == S3_REGION


def test_url_input_needs_output_storage(call: Call) -> None:
    url = {"Type": "URL", "UrlInputInfo": {"Url": "http://media.example:9/a.mp4"}}
    answer = call("ProcessMedia", process(InputInfo=url))
    assert error_code(answer) == "MissingParameter"
    assert answer["Error"]["Message"] == "OutputStorage is required"
    out = {"Type": "COS", "CosOutputStorage": {"Bucket": "media", "Region": "ap-guangzhou"}}
    assert "TaskId" in call("ProcessMedia", process(InputInfo=url, OutputStorage=out))


def test_session_id_dedupe(call: Call, runtime: ServerServices) -> None:
    first = submit(call, SessionId="s-1", SessionContext="first")
    again = call("ProcessMedia", process(SessionId="s-1", SessionContext="second"))
    assert error_code(again) == "InvalidParameterValue.SessionId"
    assert first in again["Error"]["Message"]
    assert runtime.engine.count_tasks() == 1
    # Another account has its own sessions.
    key = runtime.accounts.create_key("bob")
    bob = Credentials(key.secret_id, key.secret_key)
    runtime.buckets.ensure("media", key.account.id)  # media stays the admin's
    answer = call("ProcessMedia", process(SessionId="s-1"), credentials=bob)
    assert error_code(answer) == "ResourceNotFound.CosBucketNotExist"


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"SessionId": "s" * 51}, "InvalidParameterValue.SessionIdTooLong"),
        ({"SessionContext": "c" * 1001}, "InvalidParameterValue.SessionContextTooLong"),
        ({"TaskType": "Later"}, "InvalidParameterValue.TaskType"),
        ({"TasksPriority": -11}, "InvalidParameterValue.TasksPriority"),
        ({"AiAnalysisTask": {"Definition": 10}}, "UnsupportedOperation"),
        ({"ResourceId": "r-1"}, "UnsupportedOperation"),
        ({"ScheduleId": 3}, "InvalidParameterValue.MediaProcessTask"),  # not both
        ({"MediaProcessTask": None, "ScheduleId": 999}, "ResourceNotFound"),
        ({"InputInfo": None}, "MissingParameter"),
        ({"MediaProcessTask": None}, "MissingParameter"),
        (
            {"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 42}]}},
            "ResourceNotFound.TemplateNotExist",
        ),
        (
            {"OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": "nope"}}},
            "ResourceNotFound.CosBucketNotExist",
        ),
    ],
)
def test_process_media_errors(call: Call, extra: dict[str, Any], code: str) -> None:
    params = {k: v for k, v in process(**extra).items() if v is not None}
    assert error_code(call("ProcessMedia", params)) == code


def test_empty_out_of_subset_fields_are_fine(call: Call) -> None:
    assert submit(call, AiAnalysisTask=None, AiRecognitionTask={}, ScheduleId=None, ResourceId="")


def test_detail_of_unknown_or_foreign_task(call: Call, runtime: ServerServices) -> None:
    assert error_code(call("DescribeTaskDetail", {"TaskId": "rf-nope"})) == (
        "ResourceNotFound.TaskNotFound"
    )
    assert error_code(call("DescribeTaskDetail", {})) == "MissingParameter"
    task_id = submit(call)
    key = runtime.accounts.create_key("bob")
    bob = Credentials(key.secret_id, key.secret_key)
    answer = call("DescribeTaskDetail", {"TaskId": task_id}, credentials=bob)
    assert error_code(answer) == "ResourceNotFound.TaskNotFound"


def test_describe_tasks(call: Call, runtime: ServerServices) -> None:
    ids = [submit(call) for _ in range(3)]
    runtime.engine.cancel(ids[0])  # FINISH, its sub-tasks FAIL
    waiting = call("DescribeTasks", {"Status": "WAITING"})
    assert waiting["TotalCount"] == 2
    assert [t["TaskId"] for t in waiting["TaskSet"]] == [ids[2], ids[1]]  # newest first
    assert waiting["ScrollToken"] == ""
    simple = waiting["TaskSet"][0]
    assert simple["TaskType"] == "WorkflowTask"
    assert simple["SubTaskTypes"] == ["Transcode", "SampleSnapshot"]
    assert simple["FinishTime"] == "0000-00-00T00:00:00Z"

    finished = call("DescribeTasks", {"Status": "FINISH"})
    assert [t["TaskId"] for t in finished["TaskSet"]] == [ids[0]]
    failed = call("DescribeTasks", {"Status": "FINISH", "SubTaskHasFailed": True})
    assert failed["TotalCount"] == 1
    clean = call("DescribeTasks", {"Status": "FINISH", "SubTaskHasFailed": "false"})
    assert (clean["TotalCount"], clean["TaskSet"]) == (0, [])
    assert call("DescribeTasks", {"Status": "PROCESSING"})["TotalCount"] == 0


def test_describe_tasks_scroll(call: Call) -> None:
    ids = [submit(call) for _ in range(3)]
    seen: list[str] = []
    token = ""
    for _ in range(5):
        params: dict[str, Any] = {"Status": "WAITING", "Limit": "1"}
        if token:
            params["ScrollToken"] = token
        page = call("DescribeTasks", params)
        assert page["TotalCount"] == 3
        seen += [t["TaskId"] for t in page["TaskSet"]]
        token = page["ScrollToken"]
        if not token:
            break
    assert seen == ids[::-1]
    bad = call("DescribeTasks", {"Status": "WAITING", "ScrollToken": "garbage!"})
    assert error_code(bad) == "InvalidParameterValue.ScrollToken"


def test_describe_tasks_time_window(call: Call) -> None:
    submit(call)
    now = datetime.now(UTC)
    later = (now + timedelta(minutes=5)).isoformat()
    assert call("DescribeTasks", {"Status": "WAITING", "StartTime": later})["TotalCount"] == 0
    earlier = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert call("DescribeTasks", {"Status": "WAITING", "StartTime": earlier})["TotalCount"] == 1
    assert call("DescribeTasks", {"Status": "WAITING", "EndTime": earlier})["TotalCount"] == 0
    long_ago = (now - timedelta(days=30)).isoformat()
    assert call("DescribeTasks", {"Status": "WAITING", "StartTime": long_ago})["TotalCount"] == 1
    answer = call("DescribeTasks", {"Status": "WAITING", "StartTime": "yesterday"})
    assert error_code(answer) == "InvalidParameterValue.StartTime"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "MissingParameter"),
        ({"Status": "DONE"}, "InvalidParameterValue.Status"),
        ({"Status": "FINISH", "Limit": 0}, "InvalidParameterValue.Limit"),
        (
            {"Status": "FINISH", "SubTaskHasFailed": "maybe"},
            "InvalidParameterValue.SubTaskHasFailed",
        ),
    ],
)
def test_describe_tasks_errors(call: Call, params: dict[str, Any], code: str) -> None:
    assert error_code(call("DescribeTasks", params)) == code


def test_a_session_id_racing_its_twin_is_refused(
    call: Call, runtime: ServerServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twin commits after this request began; the engine, not a read before it, tells
    the action that the session already has a task."""
    engine = runtime.engine
    real = engine.submit_task
    twins: list[str] = []

    def racing(request: Any, **options: Any) -> Any:
        twins.append(real(request, **options).task_id)  # the twin's own submission
        return real(request, **options)

    monkeypatch.setattr(engine, "submit_task", racing)
    answer = call("ProcessMedia", process(SessionId="race"))
    assert error_code(answer) == "InvalidParameterValue.SessionId"
    assert twins[0] in answer["Error"]["Message"]
    assert runtime.engine.count_tasks() == 1


def test_concurrent_requests_of_one_session_id_start_one_task(
    call: Call, runtime: ServerServices
) -> None:
    answers: list[dict[str, Any]] = []
    start = threading.Barrier(6)

    def send() -> None:
        start.wait()
        answers.append(call("ProcessMedia", process(SessionId="burst")))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 6
    started = [a["TaskId"] for a in answers if "TaskId" in a]
    refused = [a for a in answers if "TaskId" not in a]
    assert len(started) == 1
    assert {error_code(a) for a in refused} == {"InvalidParameterValue.SessionId"}
    assert all(started[0] in a["Error"]["Message"] for a in refused)
    assert runtime.engine.count_tasks() == 1


def test_process_media_with_adaptive_streaming(call: Call, runtime: ServerServices) -> None:
    ladder = {
        "Definition": 10,
        "DefinitionType": "Common",
        "OutputObjectPath": "abr/{inputName}.{format}",
        "SubStreamObjectName": "{inputName}_{subStreamNumber}.{format}",
        "SegmentObjectName": "{inputName}_{subStreamNumber}_{segmentNumber}.{format}",
    }
    task_id = submit(call, MediaProcessTask={"AdaptiveDynamicStreamingTaskSet": [ladder]})
    detail = call("DescribeTaskDetail", {"TaskId": task_id})
    [result] = detail["WorkflowTask"]["MediaProcessResultSet"]
    assert result["Type"] == "AdaptiveDynamicStreaming"
    task = result["AdaptiveDynamicStreamingTask"]
    assert (task["Status"], task["Output"]) == ("PROCESSING", None)
    assert task["Input"] == {k: v for k, v in ladder.items() if k != "DefinitionType"} | {
        "OutputStorage": None
    }
    view = runtime.engine.task_view(task_id)
    assert view.subtasks[0].spec.template["format"] == "HLS"  # preset 10, resolved

    for bad, code in (
        ({"Definition": 999}, "ResourceNotFound.TemplateNotExist"),
        ({"Definition": 10, "DefinitionType": "Audio"}, "InvalidParameterValue.DefinitionType"),
        ({"Definition": 10, "WatermarkSet": [{"Definition": 1}]}, "UnsupportedOperation"),
        (
            {"Definition": 10, "SubStreamObjectName": "x.{format}"},
            "InvalidParameterValue.SubStreamObjectName",
        ),
        (
            {"Definition": 10, "SegmentObjectName": "a/{subStreamNumber}_{segmentNumber}.{format}"},
            "InvalidParameterValue.SegmentObjectName",
        ),
        (
            {"Definition": 10, "OutputObjectPath": "m.m3u8"},
            "InvalidParameterValue.OutputObjectPath",
        ),
    ):
        answer = call(
            "ProcessMedia", process(MediaProcessTask={"AdaptiveDynamicStreamingTaskSet": [bad]})
        )
        assert error_code(answer) == code, answer


def test_a_schedule_with_an_adaptive_activity(call: Call) -> None:
    activities = [
        {"ActivityType": "input", "ReardriveIndex": [1]},
        {
            "ActivityType": "action-adaptive-substream",
            "ReardriveIndex": [2],
            "ActivityPara": {"AdaptiveDynamicStreamingTask": {"Definition": 20}},
        },
        {"ActivityType": "output"},
    ]
    schedule = {
        "ScheduleName": "abr",
        "Trigger": {
            "Type": "CosFileUpload",
            "CosFileUploadTrigger": {"Bucket": "media", "Region": "ap-guangzhou", "Dir": "/s/"},
        },
        "Activities": activities,
    }
    created = call("CreateSchedule", schedule)
    assert "ScheduleId" in created, created
    [info] = call("DescribeSchedules", {"ScheduleIds": [created["ScheduleId"]]})["ScheduleInfoSet"]
    para = info["Activities"][1]["ActivityPara"]
    assert info["Activities"][1]["ActivityType"] == "action-adaptive-substream"
    assert para["AdaptiveDynamicStreamingTask"]["Definition"] == 20
    task_id = call(
        "ProcessMedia", {**process(), "MediaProcessTask": None, "ScheduleId": created["ScheduleId"]}
    )
    assert "TaskId" in task_id, task_id
    detail = call("DescribeTaskDetail", {"TaskId": task_id["TaskId"]})
    [result] = detail["ScheduleTask"]["ActivityResultSet"]
    assert result["ActivityType"] == "AdaptiveDynamicStreaming"
    assert result["ActivityResItem"]["AdaptiveDynamicStreamingTask"]["Input"]["Definition"] == 20


def test_describe_tasks_total_count_stops_at_the_cap(
    call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TotalCount counts no further than the cap (a page's cost does not grow with the
    account's tasks); the scroll still reaches every task."""
    from reelflow.api.mps.actions import tasks as actions

    monkeypatch.setattr(actions, "TOTAL_COUNT_CAP", 2)
    ids = [submit(call) for _ in range(3)]
    first = call("DescribeTasks", {"Status": "WAITING", "Limit": "2"})
    assert first["TotalCount"] == 2
    rest = call("DescribeTasks", {"Status": "WAITING", "ScrollToken": first["ScrollToken"]})
    assert (rest["TotalCount"], rest["ScrollToken"]) == (2, "")
    seen = [t["TaskId"] for t in first["TaskSet"] + rest["TaskSet"]]
    assert seen == ids[::-1]
    monkeypatch.setattr(actions, "TOTAL_COUNT_CAP", 3)
    assert call("DescribeTasks", {"Status": "WAITING"})["TotalCount"] == 3
