"""Schedules (the compatible API's orchestration) through the official SDK, unmodified,
against a real ``reelflow serve`` with real FFmpeg: a transcode whose rendition feeds a
snapshot activity, run by ProcessMedia (``ScheduleId`` and inline ``Activities``) and by an
upload; ``ScheduleTask`` results, the finish event through ParseNotification, the life
cycle, and graphs refused with their codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.integration.mps.conftest import REGION
from tests.integration.mps.sdk import as_dict, call, wait_finished
from tests.integration.server.media import download, head, upload
from tests.integration.server.process import ServerProcess, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # Python 3.12 deprecates the SDK's datetime.utcfromtimestamp; not ours to fix.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

RENDITION = {
    "Container": "mp4",
    "Name": "sched-180p",
    "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "Height": 180},
    "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
}
AUDIO_ONLY = {
    "Container": "m4a",
    "Name": "sched-audio",
    "RemoveVideo": 1,
    "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
}


def cos(key: str) -> dict[str, Any]:
    return {"Type": "COS", "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": key}}


def trigger(folder: str) -> dict[str, Any]:
    return {
        "Type": "CosFileUpload",
        "CosFileUploadTrigger": {"Bucket": "media", "Region": REGION, "Dir": folder},
    }


def chain(rendition: int, snapshot: int) -> list[dict[str, Any]]:
    """input -> transcode -> snapshots of the rendition at 50% -> output."""
    return [
        {"ActivityType": "input", "ReardriveIndex": [1]},
        {
            "ActivityType": "action-trans",
            "ReardriveIndex": [2],
            "ActivityPara": {"TranscodeTask": {"Definition": rendition}},
        },
        {
            "ActivityType": "action-snapshotByTimeOffset",
            "ReardriveIndex": [3],
            "ActivityPara": {
                "SnapshotByTimeOffsetTask": {"Definition": snapshot, "ExtTimeOffsetSet": ["50%"]}
            },
        },
        {"ActivityType": "output"},
    ]


@pytest.fixture(scope="module")
def rendition(mps: MpsClient) -> int:
    definition: int = call(mps, "CreateTranscodeTemplate", RENDITION).Definition
    return definition


@pytest.fixture(scope="module")
def snapshot(mps: MpsClient) -> int:
    # No size: the pictures have the size of what the activity reads.
    params = {"Name": "sched-snap", "Format": "jpg"}
    definition: int = call(mps, "CreateSnapshotByTimeOffsetTemplate", params).Definition
    return definition


def sdk_error(excinfo: pytest.ExceptionInfo[TencentCloudSDKException]) -> tuple[str, str]:
    error = excinfo.value
    assert error.get_request_id(), "errors carry the RequestId"
    return str(error.get_code()), str(error.get_message())


def picture_size(server: ServerProcess, path: str, into: Path) -> tuple[int, int]:
    with server.client() as client:
        local = download(client, path, into)
    with av.open(str(local)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def check_chain_results(
    server: ServerProcess, detail: dict[str, Any], rendition: int, into: Path
) -> None:
    """The finished ScheduleTask of ``chain``: the snapshot is a picture of the rendition."""
    assert detail["TaskType"] == "ScheduleTask"
    assert detail["WorkflowTask"] is None
    task = detail["ScheduleTask"]
    assert (task["Status"], task["ErrCode"]) == ("FINISH", 0)
    assert task["MetaData"]["Width"] == 320
    results = task["ActivityResultSet"]
    assert [r["ActivityType"] for r in results] == ["Transcode", "SnapshotByTimeOffset"]
    transcode = results[0]["ActivityResItem"]["TranscodeTask"]
    assert transcode["Status"] == "SUCCESS", transcode
    assert transcode["Input"]["Definition"] == rendition
    output = transcode["Output"]
    assert (output["Width"], output["Height"]) == (240, 180)
    snapshots = results[1]["ActivityResItem"]["SnapshotByTimeOffsetTask"]
    assert snapshots["Status"] == "SUCCESS", snapshots
    [picture] = snapshots["Output"]["PicInfoSet"]
    with server.client() as client:
        head(client, output["Path"])
        head(client, picture["Path"])
    # Taken from the rendition, not from the 320x240 source.
    assert picture_size(server, picture["Path"], into) == (output["Width"], output["Height"])


def receive_schedule_event(server: ServerProcess, queue: str, task_id: str) -> dict[str, Any]:
    """The finish event of ``task_id`` from the embedded queue (native long-poll API)."""
    with server.client() as client:

        def finished() -> dict[str, Any] | None:
            response = client.post(
                f"/v1/queues/{queue}/messages:receive", json={"wait_seconds": 2, "max_messages": 10}
            )
            assert response.status_code == 200, response.text
            for message in response.json()["messages"]:
                body = message["body"]
                client.delete(f"/v1/queues/{queue}/messages/{message['receipt']}")
                event = body.get("ScheduleTaskEvent") or {}
                if event.get("TaskId") == task_id and event.get("Status") == "FINISH":
                    return dict(body)
            return None

        return wait_for(finished, 60, f"the finish event of {task_id} on queue {queue}")


def test_process_media_with_a_schedule_id(
    server: ServerProcess,
    mps: MpsClient,
    rendition: int,
    snapshot: int,
    clip: Path,
    tmp_path: Path,
) -> None:
    activities = chain(rendition, snapshot)
    created = call(
        mps,
        "CreateSchedule",
        {
            "ScheduleName": "sdk-chain",
            "Trigger": trigger("/sched-never/"),
            "Activities": activities,
            "OutputDir": "/sched-default/",
        },
    )
    schedule_id = created.ScheduleId
    [info] = call(mps, "DescribeSchedules", {"ScheduleIds": [schedule_id]}).ScheduleInfoSet
    assert (info.ScheduleName, info.Status, info.Type) == ("sdk-chain", "Disabled", "Custom")
    assert info.Trigger.CosFileUploadTrigger.Dir == "/sched-never/"
    assert [a.ActivityType for a in info.Activities] == [a["ActivityType"] for a in activities]
    assert [a.ReardriveIndex for a in info.Activities] == [[1], [2], [3], []]
    assert [a.PredriveIndex for a in info.Activities] == [[], [0], [1], [2]]
    assert info.Activities[1].ActivityPara.TranscodeTask.Definition == rendition
    assert info.Activities[2].ActivityPara.SnapshotByTimeOffsetTask.ExtTimeOffsetSet == ["50%"]

    # A disabled schedule does not fire on upload, but a client may still run it by id; the
    # request's output folder and notification target win over the schedule's.
    with server.client() as client:
        upload(client, "in/sched.mp4", clip)
    params = {
        "InputInfo": cos("/in/sched.mp4"),
        "ScheduleId": schedule_id,
        "OutputDir": "/sched-out/",
        "TaskNotifyConfig": {"NotifyType": "TDMQ-CMQ", "QueueName": "sched-events"},
        "SessionContext": "sched-context",
    }
    task_id = call(mps, "ProcessMedia", params).TaskId
    detail = wait_finished(mps, task_id)
    check_chain_results(server, detail, rendition, tmp_path)
    transcode = detail["ScheduleTask"]["ActivityResultSet"][0]["ActivityResItem"]["TranscodeTask"]
    assert transcode["Output"]["Path"] == f"/sched-out/sched_transcode_{rendition}.mp4"

    listed = call(mps, "DescribeTasks", {"Status": "FINISH", "Limit": 100})
    [simple] = [t for t in listed.TaskSet if t.TaskId == task_id]
    assert simple.TaskType == "ScheduleTask"

    event = receive_schedule_event(server, "sched-events", task_id)
    parsed = as_dict(call(mps, "ParseNotification", {"Content": json.dumps(event)}))
    assert parsed["EventType"] == "ScheduleTask"
    assert parsed["WorkflowTaskEvent"] is None
    assert parsed["SessionContext"] == "sched-context"
    results = parsed["ScheduleTaskEvent"]["ActivityResultSet"]
    assert [r["ActivityType"] for r in results] == ["Transcode", "SnapshotByTimeOffset"]
    assert all(
        r["ActivityResItem"][member]["Status"] == "SUCCESS"
        for r, member in zip(results, ("TranscodeTask", "SnapshotByTimeOffsetTask"), strict=True)
    )

    call(mps, "DeleteSchedule", {"ScheduleId": schedule_id})
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "ProcessMedia", params)
    assert sdk_error(caught)[0] == "ResourceNotFound"


def test_schedule_life_cycle(mps: MpsClient, rendition: int, snapshot: int) -> None:
    definition = {
        "ScheduleName": "sdk-life",
        "Trigger": trigger("/sched-life/"),
        "Activities": chain(rendition, snapshot),
        "OutputDir": "/sched-default/",
    }
    schedule_id = call(mps, "CreateSchedule", definition).ScheduleId
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "CreateSchedule", definition)
    assert sdk_error(caught)[0] == "InvalidParameterValue.ScheduleName"
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DeleteTranscodeTemplate", {"Definition": rendition})
    assert sdk_error(caught)[0] == "FailedOperation.TemplateInUse"

    # Life cycle: enabled schedules cannot be deleted; Modify changes only what it is given.
    call(mps, "EnableSchedule", {"ScheduleId": schedule_id})
    call(mps, "EnableSchedule", {"ScheduleId": schedule_id})  # idempotent
    [info] = call(mps, "DescribeSchedules", {"ScheduleIds": [schedule_id]}).ScheduleInfoSet
    assert info.Status == "Enabled"
    enabled = call(mps, "DescribeSchedules", {"Status": "Enabled"}).ScheduleInfoSet
    assert schedule_id in [i.ScheduleId for i in enabled]
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DeleteSchedule", {"ScheduleId": schedule_id})
    assert sdk_error(caught)[0] == "FailedOperation"
    call(mps, "DisableSchedule", {"ScheduleId": schedule_id})
    call(mps, "ModifySchedule", {"ScheduleId": schedule_id, "ScheduleName": "sdk-renamed"})
    [info] = call(mps, "DescribeSchedules", {"ScheduleIds": [schedule_id]}).ScheduleInfoSet
    assert (info.ScheduleName, info.Status, info.OutputDir) == (
        "sdk-renamed",
        "Disabled",
        "/sched-default/",
    )
    assert len(info.Activities) == 4
    only_transcode = [
        {"ActivityType": "input", "ReardriveIndex": [1]},
        {"ActivityType": "action-trans", "ActivityPara": {"TranscodeTask": {"Definition": 100010}}},
    ]
    call(
        mps,
        "ModifySchedule",
        {"ScheduleId": schedule_id, "Activities": only_transcode, "OutputDir": ""},
    )
    [info] = call(mps, "DescribeSchedules", {"ScheduleIds": [schedule_id]}).ScheduleInfoSet
    assert [a.ActivityType for a in info.Activities] == ["input", "action-trans"]
    assert (info.ScheduleName, info.OutputDir) == ("sdk-renamed", "")
    call(mps, "DeleteSchedule", {"ScheduleId": schedule_id})
    assert call(mps, "DescribeSchedules", {"ScheduleIds": [schedule_id]}).TotalCount == 0
    for action in ("EnableSchedule", "DeleteSchedule"):
        with pytest.raises(TencentCloudSDKException) as caught:
            call(mps, action, {"ScheduleId": schedule_id})
        assert sdk_error(caught)[0] == "ResourceNotFound"


def test_process_media_with_inline_activities(
    server: ServerProcess,
    mps: MpsClient,
    rendition: int,
    snapshot: int,
    clip: Path,
    tmp_path: Path,
) -> None:
    with server.client() as client:
        upload(client, "in/inline.mp4", clip)
    params = {
        "InputInfo": cos("/in/inline.mp4"),
        "OutputDir": "/inline-out/",
        "Activities": chain(rendition, snapshot),
    }
    detail = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId)
    check_chain_results(server, detail, rendition, tmp_path)


def find_schedule_task(mps: MpsClient, object_key: str) -> str:
    """The id of the schedule task whose input is ``object_key`` in the bucket ``media``."""

    def search() -> str | None:
        for status in ("WAITING", "PROCESSING", "FINISH"):
            for task in call(mps, "DescribeTasks", {"Status": status, "Limit": 100}).TaskSet:
                if task.TaskType != "ScheduleTask":
                    continue
                detail = call(mps, "DescribeTaskDetail", {"TaskId": task.TaskId})
                if detail.ScheduleTask.InputInfo.CosInputInfo.Object == object_key:
                    return str(task.TaskId)
        return None

    return wait_for(search, 30, f"a schedule task for {object_key}", interval=0.3)


def test_upload_starts_an_enabled_schedule(
    server: ServerProcess,
    mps: MpsClient,
    rendition: int,
    snapshot: int,
    clip: Path,
    tmp_path: Path,
) -> None:
    definition = {
        "ScheduleName": "sdk-upload",
        "Trigger": trigger("/sched-up/"),
        "Activities": chain(rendition, snapshot),
        "OutputDir": "/sched-up-out/",
    }
    schedule_id = call(mps, "CreateSchedule", definition).ScheduleId
    call(mps, "EnableSchedule", {"ScheduleId": schedule_id})
    try:
        with server.client() as client:
            upload(client, "sched-up/clip.mp4", clip)
        task_id = find_schedule_task(mps, "/sched-up/clip.mp4")
        detail = wait_finished(mps, task_id)
        check_chain_results(server, detail, rendition, tmp_path)
        results = detail["ScheduleTask"]["ActivityResultSet"]
        path = results[0]["ActivityResItem"]["TranscodeTask"]["Output"]["Path"]
        assert path == f"/sched-up-out/clip_transcode_{rendition}.mp4"
    finally:
        call(mps, "DisableSchedule", {"ScheduleId": schedule_id})
        call(mps, "DeleteSchedule", {"ScheduleId": schedule_id})


TRANS = {
    "ActivityType": "action-trans",
    "ActivityPara": {"TranscodeTask": {"Definition": 100010}},
}
SNAP = {
    "ActivityType": "action-snapshotByTimeOffset",
    "ActivityPara": {"SnapshotByTimeOffsetTask": {"Definition": 10, "ExtTimeOffsetSet": ["1s"]}},
}


def _with(activity: dict[str, Any], *after: int) -> dict[str, Any]:
    return {**activity, "ReardriveIndex": list(after)}


@pytest.mark.parametrize(
    ("activities", "code", "named"),
    [
        ([_with(TRANS), {"ActivityType": "output"}], "InvalidParameterValue.Activities", ""),
        (
            [{"ActivityType": "input", "ReardriveIndex": [7]}, _with(TRANS)],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.0.ReardriveIndex.0",
        ),
        (  # a snapshot reads only a transcode's output
            [{"ActivityType": "input", "ReardriveIndex": [1]}, _with(SNAP, 2), _with(SNAP)],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.1",
        ),
        (  # an action reads one output
            [
                {"ActivityType": "input", "ReardriveIndex": [1, 2]},
                _with(TRANS, 3),
                _with(TRANS, 3),
                _with(SNAP),
            ],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.3",
        ),
        (  # 1 and 2 follow each other
            [
                {"ActivityType": "input", "ReardriveIndex": [3]},
                _with(TRANS, 2),
                _with(TRANS, 1),
                _with(TRANS),
            ],
            "InvalidParameterValue.ReardriveIndex",
            "cycle",
        ),
        (  # an action nobody leads to
            [{"ActivityType": "input"}, _with(TRANS)],
            "InvalidParameterValue.ReardriveIndex",
            "Activities.1",
        ),
        (
            [
                {"ActivityType": "input", "ReardriveIndex": [1]},
                {"ActivityType": "action-AIAnalysis", "ActivityPara": {}},
            ],
            "UnsupportedOperation",
            "Activities.1.ActivityType",
        ),
        (
            [{"ActivityType": "input", "ReardriveIndex": [1]}, _with({"ActivityType": "nope"})],
            "InvalidParameterValue.ActivityType",
            "Activities.1.ActivityType",
        ),
        (
            [
                {"ActivityType": "input", "ReardriveIndex": [1]},
                {"ActivityType": "action-trans", "ActivityPara": {}},
            ],
            "MissingParameter",
            "Activities.1.ActivityPara.TranscodeTask",
        ),
        (
            [
                {"ActivityType": "input", "ReardriveIndex": [1]},
                {
                    "ActivityType": "action-trans",
                    "ActivityPara": {"TranscodeTask": {"Definition": 999999}},
                },
            ],
            "ResourceNotFound.TemplateNotExist",
            "Activities.1.ActivityPara.TranscodeTask.Definition",
        ),
    ],
)
def test_invalid_activity_graphs_are_refused(
    mps: MpsClient, activities: list[dict[str, Any]], code: str, named: str
) -> None:
    with pytest.raises(TencentCloudSDKException) as caught:
        call(
            mps,
            "CreateSchedule",
            {"ScheduleName": "bad", "Trigger": trigger("/bad/"), "Activities": activities},
        )
    found, message = sdk_error(caught)
    assert found == code, message
    assert named in message


def test_an_audio_only_rendition_cannot_feed_a_snapshot(mps: MpsClient) -> None:
    audio = call(mps, "CreateTranscodeTemplate", AUDIO_ONLY).Definition
    activities = [
        {"ActivityType": "input", "ReardriveIndex": [1]},
        {
            "ActivityType": "action-trans",
            "ReardriveIndex": [2],
            "ActivityPara": {"TranscodeTask": {"Definition": audio}},
        },
        _with(SNAP),
    ]
    with pytest.raises(TencentCloudSDKException) as caught:
        call(
            mps,
            "ProcessMedia",
            {"InputInfo": cos("/in/any.mp4"), "Activities": activities},
        )
    found, message = sdk_error(caught)
    assert found == "InvalidParameterValue.ReardriveIndex", message
    assert "Activities.2" in message and "Activities.1" in message
    assert "audio-only" in message


def test_every_action_type_reads_a_watermarked_rendition(
    server: ServerProcess, mps: MpsClient, rendition: int, snapshot: int, clip: Path
) -> None:
    """input -> watermarked transcode -> sampled snapshots, sprite, GIF; and a snapshot of
    the source beside them: every action kind, each result in the order of Activities."""
    made = {
        "Watermark": {
            "Type": "text",
            "TextTemplate": {
                "FontType": "arial.ttf",
                "FontSize": "16px",
                "FontColor": "0xFFFFFF",
                "FontAlpha": 1,
            },
        },
        "SampleSnapshot": {"SampleType": "Percent", "SampleInterval": 50},
        "ImageSprite": {
            "SampleType": "Time",
            "SampleInterval": 1,
            "RowCount": 2,
            "ColumnCount": 2,
            "Width": 128,
            "Height": 128,
        },
        "AnimatedGraphics": {"Fps": 5, "Format": "gif"},
    }
    ids = {kind: call(mps, f"Create{kind}Template", p).Definition for kind, p in made.items()}
    activities = [
        {"ActivityType": "input", "ReardriveIndex": [1, 5]},
        {
            "ActivityType": "action-trans",
            "ReardriveIndex": [2, 3, 4],
            "ActivityPara": {
                "TranscodeTask": {
                    "Definition": rendition,
                    "WatermarkSet": [{"Definition": ids["Watermark"], "TextContent": "rf"}],
                }
            },
        },
        {
            "ActivityType": "action-samplesnapshot",
            "ReardriveIndex": [6],
            "ActivityPara": {"SampleSnapshotTask": {"Definition": ids["SampleSnapshot"]}},
        },
        {
            "ActivityType": "action-image-sprite",
            "ReardriveIndex": [6],
            "ActivityPara": {"ImageSpriteTask": {"Definition": ids["ImageSprite"]}},
        },
        {
            "ActivityType": "action-animated-graphics",
            "ReardriveIndex": [6],
            "ActivityPara": {
                "AnimatedGraphicTask": {
                    "Definition": ids["AnimatedGraphics"],
                    "StartTimeOffset": 0,
                    "EndTimeOffset": 1,
                }
            },
        },
        {
            "ActivityType": "action-snapshotByTimeOffset",
            "ReardriveIndex": [6],
            "ActivityPara": {
                "SnapshotByTimeOffsetTask": {"Definition": snapshot, "ExtTimeOffsetSet": ["1s"]}
            },
        },
        {"ActivityType": "output"},
    ]
    with server.client() as client:
        upload(client, "in/every.mp4", clip)
    params = {"InputInfo": cos("/in/every.mp4"), "OutputDir": "/every/", "Activities": activities}
    detail = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId)
    results = detail["ScheduleTask"]["ActivityResultSet"]
    assert [r["ActivityType"] for r in results] == [
        "Transcode",
        "SampleSnapshot",
        "ImageSprites",
        "AnimatedGraphics",
        "SnapshotByTimeOffset",
    ]
    members = [
        "TranscodeTask",
        "SampleSnapshotTask",
        "ImageSpriteTask",
        "AnimatedGraphicTask",
        "SnapshotByTimeOffsetTask",
    ]
    outputs = []
    for result, member in zip(results, members, strict=True):
        item = result["ActivityResItem"]
        assert [m for m, v in item.items() if v is not None] == [member]
        assert item[member]["Status"] == "SUCCESS", item[member]
        outputs.append(item[member]["Output"])
    transcode, samples, sprite, gif, pictures = outputs
    paths = [
        transcode["Path"],
        *samples["ImagePathSet"],
        *sprite["ImagePathSet"],
        sprite["WebVttPath"],
        gif["Path"],
        pictures["PicInfoSet"][0]["Path"],
    ]
    with server.client() as client:
        for path in paths:
            head(client, path)
    assert (gif["Width"], gif["Height"]) == (240, 180)  # the rendition's size
    for kind, definition in ids.items():
        call(mps, f"Delete{kind}Template", {"Definition": definition})
