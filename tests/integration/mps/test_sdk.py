"""The official ``tencentcloud-sdk-python-mps`` client, unmodified, against a real
``reelflow serve``: templates, a workflow's life cycle and an upload it processes,
ProcessMedia on a bucket object and on a URL, SessionId dedupe, the finish event through
the embedded queue and ParseNotification, and the documented error codes."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from tencentcloud.common import abstract_client
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.integration.media.http_server import serve
from tests.integration.mps.conftest import REGION, admin_credential, sdk_client
from tests.integration.mps.sdk import as_dict, call, wait_finished
from tests.integration.server.media import upload
from tests.integration.server.process import ServerProcess, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # Python 3.12 deprecates the SDK's datetime.utcfromtimestamp; not ours to fix.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

RENDITION = {
    "Container": "mp4",
    "Name": "sdk-180p",
    "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "Height": 180},
    "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
}


def cos(key: str) -> dict[str, Any]:
    return {"Type": "COS", "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": key}}


def sdk_error(excinfo: pytest.ExceptionInfo[TencentCloudSDKException]) -> str:
    error = excinfo.value
    assert error.get_request_id(), "errors carry the RequestId"
    code: str = error.get_code()
    return code


def receive(server: ServerProcess, queue: str, task_id: str) -> dict[str, Any]:
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
                if body["WorkflowTaskEvent"]["TaskId"] == task_id:
                    return dict(body)
            return None

        return wait_for(finished, 60, f"the finish event of {task_id} on queue {queue}")


@pytest.fixture(scope="module")
def template(mps: MpsClient) -> int:
    definition: int = call(mps, "CreateTranscodeTemplate", RENDITION).Definition
    return definition


def test_custom_templates(mps: MpsClient, template: int) -> None:
    found = call(mps, "DescribeTranscodeTemplates", {"Definitions": [template, 100010]})
    assert found.TotalCount == 2
    by_id = {t.Definition: t for t in found.TranscodeTemplateSet}
    assert set(by_id) == {str(template), "100010"}  # Definition is a String here
    assert (by_id[str(template)].Type, by_id["100010"].Type) == ("Custom", "Preset")
    assert by_id[str(template)].VideoTemplate.Height == 180

    created = {
        "SnapshotByTimeOffset": {"Width": 160, "Format": "jpg"},
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
        "Watermark": {
            "Type": "text",
            "TextTemplate": {
                "FontType": "arial.ttf",
                "FontSize": "16px",
                "FontColor": "0xFFFFFF",
                "FontAlpha": 1,
            },
        },
    }
    for kind, params in created.items():
        definition = call(mps, f"Create{kind}Template", params).Definition
        call(mps, f"Modify{kind}Template", {"Definition": definition, "Name": f"sdk-{kind}"})
        listed = call(mps, f"Describe{kind}Templates", {"Definitions": [definition]})
        [detail] = getattr(listed, f"{kind}TemplateSet")
        assert (detail.Definition, detail.Name) == (definition, f"sdk-{kind}")
        call(mps, f"Delete{kind}Template", {"Definition": definition})
        assert call(mps, f"Describe{kind}Templates", {"Definitions": [definition]}).TotalCount == 0

    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "ModifyTranscodeTemplate", {"Definition": 100010, "Name": "mine"})
    assert sdk_error(caught) == "InvalidParameterValue.ModifyDefaultTemplate"


def find_task(mps: MpsClient, object_key: str) -> str:
    """The id of the task whose input is ``object_key`` in the bucket ``media``."""

    def search() -> str | None:
        for status in ("WAITING", "PROCESSING", "FINISH"):
            for task in call(mps, "DescribeTasks", {"Status": status, "Limit": 100}).TaskSet:
                detail = call(mps, "DescribeTaskDetail", {"TaskId": task.TaskId})
                if detail.WorkflowTask.InputInfo.CosInputInfo.Object == object_key:
                    return str(task.TaskId)
        return None

    return wait_for(search, 30, f"a task for {object_key}", interval=0.3)


def test_workflow_life_cycle_and_upload(
    server: ServerProcess, mps: MpsClient, template: int, clip: Path
) -> None:
    definition = {
        "WorkflowName": "sdk-upload",
        "Trigger": {
            "Type": "CosFileUpload",
            "CosFileUploadTrigger": {"Bucket": "media", "Region": REGION, "Dir": "/up/"},
        },
        "OutputDir": "/wf-out/",
        "MediaProcessTask": {
            "TranscodeTaskSet": [{"Definition": template}],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
        },
        "TaskNotifyConfig": {"NotifyType": "TDMQ-CMQ", "QueueName": "wf-events"},
    }
    workflow_id = call(mps, "CreateWorkflow", definition).WorkflowId
    [info] = call(mps, "DescribeWorkflows", {"WorkflowIds": [workflow_id]}).WorkflowInfoSet
    assert (info.WorkflowName, info.Status) == ("sdk-upload", "Disabled")
    assert info.Trigger.CosFileUploadTrigger.Dir == "/up/"

    call(mps, "EnableWorkflow", {"WorkflowId": workflow_id})
    [info] = call(mps, "DescribeWorkflows", {"WorkflowIds": [workflow_id]}).WorkflowInfoSet
    assert info.Status == "Enabled"
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DeleteWorkflow", {"WorkflowId": workflow_id})
    assert sdk_error(caught) == "FailedOperation"

    with server.client() as client:
        upload(client, "up/clip.mp4", clip)  # the native object API, with the bearer key
    task_id = find_task(mps, "/up/clip.mp4")
    detail = wait_finished(mps, task_id)
    results = detail["WorkflowTask"]["MediaProcessResultSet"]
    assert [r["Type"] for r in results] == ["Transcode", "SnapshotByTimeOffset"]
    transcode = results[0]["TranscodeTask"]
    assert transcode["Status"] == "SUCCESS", transcode
    assert transcode["Output"]["Path"] == f"/wf-out/clip_transcode_{template}.mp4"
    snapshot = results[1]["SnapshotByTimeOffsetTask"]
    assert snapshot["Status"] == "SUCCESS", snapshot
    assert snapshot["Output"]["PicInfoSet"][0]["Path"].startswith(
        "/wf-out/clip_snapshotByTimeOffset_10_"
    )

    listed = call(mps, "DescribeTasks", {"Status": "FINISH", "Limit": 100})
    [simple] = [t for t in listed.TaskSet if t.TaskId == task_id]
    assert simple.SubTaskTypes == ["Transcode", "SnapshotByTimeOffset"]

    event = receive(server, "wf-events", task_id)
    parsed = call(mps, "ParseNotification", {"Content": json.dumps(event)})
    assert parsed.EventType == "WorkflowTask"
    assert parsed.WorkflowTaskEvent.TaskId == task_id
    assert parsed.WorkflowTaskEvent.Status == "FINISH"

    call(mps, "DisableWorkflow", {"WorkflowId": workflow_id})
    call(mps, "ResetWorkflow", {"WorkflowId": workflow_id, **definition, "WorkflowName": "reset"})
    [info] = call(mps, "DescribeWorkflows", {"WorkflowIds": [workflow_id]}).WorkflowInfoSet
    assert (info.WorkflowName, info.Status) == ("reset", "Disabled")
    call(mps, "DeleteWorkflow", {"WorkflowId": workflow_id})
    assert call(mps, "DescribeWorkflows", {"WorkflowIds": [workflow_id]}).TotalCount == 0


def test_process_media_on_a_bucket_object(
    server: ServerProcess, mps: MpsClient, template: int, clip: Path
) -> None:
    with server.client() as client:
        upload(client, "in/pm.mp4", clip)
    session = f"sdk-{uuid.uuid4().hex[:12]}"
    params = {
        "InputInfo": cos("/in/pm.mp4"),
        "OutputDir": "/pm-out/",
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": template}]},
        "TaskNotifyConfig": {"NotifyType": "TDMQ-CMQ", "QueueName": "pm-events", "NotifyKey": "nk"},
        "SessionId": session,
        "SessionContext": "my-context",
    }
    task_id = call(mps, "ProcessMedia", params).TaskId
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "ProcessMedia", params)
    assert sdk_error(caught) == "InvalidParameterValue.SessionId"

    detail = wait_finished(mps, task_id)
    assert (detail["SessionId"], detail["SessionContext"]) == (session, "my-context")
    task = detail["WorkflowTask"]
    assert task["ErrCode"] == 0
    assert task["MetaData"]["Width"] == 320
    [result] = task["MediaProcessResultSet"]
    transcode = result["TranscodeTask"]
    assert (transcode["Status"], transcode["ErrCode"], transcode["Progress"]) == ("SUCCESS", 0, 100)
    output = transcode["Output"]
    assert output["Path"] == f"/pm-out/pm_transcode_{template}.mp4"
    assert output["OutputStorage"]["CosOutputStorage"]["Bucket"] == "media"
    assert output["Size"] > 0
    assert len(output["Md5"]) == 32
    assert 1.5 < output["Duration"] < 2.5
    assert output["Height"] == 180
    assert output["VideoStreamSet"][0]["Codec"] == "h264"
    assert output["AudioStreamSet"][0]["Codec"] == "aac"
    with server.client() as client:
        stored = client.get(f"/v1/buckets/media/objects{output['Path']}")
    assert stored.status_code == 200
    assert hashlib.md5(stored.content).hexdigest() == output["Md5"]

    event = receive(server, "pm-events", task_id)
    parsed = as_dict(call(mps, "ParseNotification", {"Content": json.dumps(event)}))
    assert (parsed["SessionId"], parsed["SessionContext"]) == (session, "my-context")
    assert parsed["WorkflowTaskEvent"]["MediaProcessResultSet"][0]["TranscodeTask"]["Status"] == (
        "SUCCESS"
    )
    assert parsed["Timestamp"] > time.time()  # an expiry
    assert parsed["Sign"] == hashlib.md5(f"{parsed['Timestamp']}nk".encode()).hexdigest()


def test_process_media_on_a_url(mps: MpsClient, template: int, clip: Path) -> None:
    with serve(clip.parent) as base:
        params = {
            "InputInfo": {"Type": "URL", "UrlInputInfo": {"Url": base + clip.name}},
            "OutputStorage": {
                "Type": "COS",
                "CosOutputStorage": {"Bucket": "media", "Region": REGION},
            },
            "OutputDir": "/url-out/",
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": template}]},
        }
        task_id = call(mps, "ProcessMedia", params).TaskId
        detail = wait_finished(mps, task_id)
    task = detail["WorkflowTask"]
    assert task["InputInfo"]["UrlInputInfo"]["Url"] == base + clip.name
    [result] = task["MediaProcessResultSet"]
    assert result["TranscodeTask"]["Status"] == "SUCCESS", result
    assert result["TranscodeTask"]["Output"]["Path"].startswith("/url-out/")


def test_a_failed_sub_task_still_finishes_the_task(mps: MpsClient) -> None:
    params = {
        "InputInfo": cos("/in/missing.mp4"),
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
    }
    detail = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId)
    assert detail["Status"] == "FINISH"
    task = detail["WorkflowTask"]
    assert task["ErrCode"] != 0  # the source itself failed
    [result] = task["MediaProcessResultSet"]
    assert result["TranscodeTask"]["Status"] == "FAIL"
    assert result["TranscodeTask"]["ErrCodeExt"] == "ResourceNotFound.ObjectNotFound"


def test_wrong_secret_key(server: ServerProcess) -> None:
    good = admin_credential(server)
    client = sdk_client(server, Credential(good.secret_id, good.secret_key + "x"))
    with pytest.raises(TencentCloudSDKException) as caught:
        call(client, "DescribeTasks", {"Status": "FINISH"})
    assert sdk_error(caught) == "AuthFailure.SignatureFailure"


def test_unknown_secret_id(server: ServerProcess) -> None:
    client = sdk_client(server, Credential("AKIDnobody", "secret"))
    with pytest.raises(TencentCloudSDKException) as caught:
        call(client, "DescribeTasks", {"Status": "FINISH"})
    assert sdk_error(caught) == "AuthFailure.SecretIdNotFound"


class _LateClock:
    """The SDK's ``time`` module, ten minutes behind."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def time() -> float:
        return time.time() - 600


def test_expired_timestamp(mps: MpsClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(abstract_client, "time", _LateClock())
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DescribeTasks", {"Status": "FINISH"})
    assert sdk_error(caught) == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [
        (
            "ProcessMedia",
            {"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]}},
            "InputInfo",
        ),
        ("EnableWorkflow", {}, "WorkflowId"),
        ("DescribeTasks", {}, "Status"),
        ("CreateTranscodeTemplate", {"Container": "mp4", "RemoveVideo": 1}, "AudioTemplate"),
    ],
)
def test_missing_required_field(
    mps: MpsClient, action: str, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, action, params)
    assert sdk_error(caught) == "MissingParameter"
    assert caught.value.get_message() == f"{field} is required"


def test_out_of_subset_field(mps: MpsClient) -> None:
    params = {
        "InputInfo": cos("/in/pm.mp4"),
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
        "AiAnalysisTask": {"Definition": 10},
    }
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "ProcessMedia", params)
    assert sdk_error(caught) == "UnsupportedOperation"
    assert "AiAnalysisTask" in caught.value.get_message()


def test_replies_are_exactly_json(server: ServerProcess) -> None:
    response = httpx.post(f"{server.url}/", content=b"{}", headers={"X-TC-Action": "DescribeTasks"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
