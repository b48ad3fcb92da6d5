"""What real client code calls, through the official SDK against a real ``reelflow
serve`` (issue 20): the vendor's sample legacy preset ids, echoes that keep what was sent,
DescribeMediaMetaData, ManageTask Abort, and the SDK's async client."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import av
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models
from tencentcloud.mps.v20190612.mps_client import MpsClient
from tencentcloud.mps.v20190612.mps_client_async import MpsClient as AsyncMpsClient

from tests.clips import ClipCache
from tests.integration.media.http_server import serve
from tests.integration.mps.conftest import REGION, admin_credential
from tests.integration.mps.sdk import as_dict, call, wait_finished
from tests.integration.server.media import upload
from tests.integration.server.process import ServerProcess, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]


def cos(key: str) -> dict[str, Any]:
    return {"Type": "COS", "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": key}}


def stored(server: ServerProcess, path: str, dest: Path) -> Path:
    """The object at ``path`` of the bucket ``media``, copied to ``dest``."""
    with server.client() as client:
        response = client.get(f"/v1/buckets/media/objects{path}")
    assert response.status_code == 200, response.text
    dest.write_bytes(response.content)
    return dest


@pytest.fixture(scope="module")
def hd_key(server: ServerProcess, clips: ClipCache) -> str:
    """A 2 s 1280x720 clip in the bucket."""
    key = f"c20/{uuid.uuid4().hex[:8]}/hd.mp4"
    with server.client() as client:
        upload(client, key, clips(duration=2.0, width=1280, height=720))
    return key


def test_legacy_presets_are_listed_with_their_names(mps: MpsClient) -> None:
    found = call(mps, "DescribeTranscodeTemplates", {"Definitions": [10, 20, 30, 40, 220, 620]})

    names = {t.Definition: (t.Name, t.Type, t.Container) for t in found.TranscodeTemplateSet}
    assert names == {
        "10": ("MP4-H264-LD-legacy", "Preset", "mp4"),
        "20": ("MP4-H264-SD-legacy", "Preset", "mp4"),
        "30": ("MP4-H264-HD-legacy", "Preset", "mp4"),
        "40": ("MP4-H264-FHD-legacy", "Preset", "mp4"),
        "220": ("HLS-H264-SD-legacy", "Preset", "hls"),
        "620": ("HLS-H265-SD-legacy", "Preset", "hls"),
    }


def test_the_vendors_sample_task_set_runs(
    mps: MpsClient, server: ServerProcess, hd_key: str, tmp_path: Path
) -> None:
    # The vendor's own example, verbatim, on a 720p source.
    task_set = {"TranscodeTaskSet": [{"Definition": 20}, {"Definition": 30}, {"Definition": 40}]}
    task_id = call(
        mps, "ProcessMedia", {"InputInfo": cos(hd_key), "MediaProcessTask": task_set}
    ).TaskId

    detail = wait_finished(mps, task_id, timeout=180)

    results = [r["TranscodeTask"] for r in detail["WorkflowTask"]["MediaProcessResultSet"]]
    assert [r["Status"] for r in results] == ["SUCCESS"] * 3, results
    sizes = {}
    for result in results:
        definition = result["Input"]["Definition"]
        path = result["Output"]["Path"]
        assert path.endswith(f"hd_transcode_{definition}.mp4")
        with av.open(str(stored(server, path, tmp_path / f"{definition}.mp4"))) as media:
            video = media.streams.video[0]
            sizes[definition] = (video.codec_context.name, video.width, video.height)
            assert media.streams.audio[0].codec_context.name == "aac"
    # 20: 640 wide; 30: 1280 wide; 40: 1920 wide, but a 720p source is never upscaled.
    assert sizes == {20: ("h264", 640, 360), 30: ("h264", 1280, 720), 40: ("h264", 1280, 720)}


def test_an_h265_legacy_preset(
    mps: MpsClient, server: ServerProcess, hd_key: str, tmp_path: Path
) -> None:
    task_id = call(
        mps,
        "ProcessMedia",
        {"InputInfo": cos(hd_key), "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 510}]}},
    ).TaskId

    [result] = wait_finished(mps, task_id, timeout=180)["WorkflowTask"]["MediaProcessResultSet"]

    output = result["TranscodeTask"]["Output"]
    with av.open(str(stored(server, output["Path"], tmp_path / "510.mp4"))) as media:
        video = media.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("hevc", 320, 180)


def test_echoes_keep_what_the_client_sent(
    mps: MpsClient, server: ServerProcess, hd_key: str
) -> None:
    queue = f"c20-{uuid.uuid4().hex[:8]}"
    notify = {"NotifyType": "CMQ", "CmqModel": "Queue", "CmqRegion": "gz", "QueueName": queue}
    task_id = call(
        mps,
        "ProcessMedia",
        {
            "InputInfo": cos(hd_key),
            "OutputStorage": {
                "Type": "COS",
                "CosOutputStorage": {"Bucket": "media", "Region": REGION},
            },
            "MediaProcessTask": {
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0s"]}]
            },
            "TaskNotifyConfig": notify,
        },
    ).TaskId
    detail = wait_finished(mps, task_id)

    echoed = detail["TaskNotifyConfig"]
    assert {k: echoed[k] for k in notify} == notify
    event = receive(server, queue, task_id)
    parsed = as_dict(call(mps, "ParseNotification", {"Content": json.dumps(event)}))
    in_event = parsed["WorkflowTaskEvent"]
    in_detail = detail["WorkflowTask"]
    assert in_event["InputInfo"] == in_detail["InputInfo"]
    assert in_event["InputInfo"]["CosInputInfo"]["Region"] == REGION
    storages = [
        r["SnapshotByTimeOffsetTask"]["Output"]["Storage"]
        for r in (in_event["MediaProcessResultSet"][0], in_detail["MediaProcessResultSet"][0])
    ]
    assert storages[0] == storages[1]
    assert storages[0]["CosOutputStorage"] == {"Bucket": "media", "Region": REGION}


def receive(server: ServerProcess, queue: str, task_id: str) -> dict[str, Any]:
    """The finish event of ``task_id`` (any task's when empty) from the embedded queue
    (the native long-poll API)."""
    with server.client() as client:

        def finished() -> dict[str, Any] | None:
            response = client.post(
                f"/v1/queues/{queue}/messages:receive", json={"wait_seconds": 2, "max_messages": 10}
            )
            assert response.status_code == 200, response.text
            for message in response.json()["messages"]:
                client.delete(f"/v1/queues/{queue}/messages/{message['receipt']}")
                body = message["body"]
                about = body["WorkflowTaskEvent"]["TaskId"]
                if body["EventKind"] == "task.finished" and about == (task_id or about):
                    return dict(body)
            return None

        return wait_for(finished, 60, f"the finish event of {task_id} on queue {queue}")


def test_describe_media_metadata(mps: MpsClient, hd_key: str, clips: ClipCache) -> None:
    meta = as_dict(call(mps, "DescribeMediaMetaData", {"InputInfo": cos(hd_key)}))["MetaData"]

    assert (meta["Width"], meta["Height"], meta["Container"]) == (1280, 720, meta["Container"])
    assert abs(meta["Duration"] - 2.0) < 0.1
    assert [v["Codec"] for v in meta["VideoStreamSet"]] == ["h264"]
    assert [a["Codec"] for a in meta["AudioStreamSet"]] == ["aac"]

    # The same MetaData a task stores for the same source.
    task_id = call(
        mps,
        "ProcessMedia",
        {
            "InputInfo": cos(hd_key),
            "MediaProcessTask": {
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0s"]}]
            },
        },
    ).TaskId
    assert wait_finished(mps, task_id)["WorkflowTask"]["MetaData"] == meta

    clip = clips(duration=1.0, width=320, height=240)
    with serve(clip.parent) as base:
        url = {"Type": "URL", "UrlInputInfo": {"Url": base + clip.name}}
        by_url = as_dict(call(mps, "DescribeMediaMetaData", {"InputInfo": url, "Mode": "slow"}))
    assert (by_url["MetaData"]["Width"], by_url["MetaData"]["Height"]) == (320, 240)

    refused = {"Type": "URL", "UrlInputInfo": {"Url": "http://10.1.2.3/a.mp4"}}
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DescribeMediaMetaData", {"InputInfo": refused})
    assert caught.value.get_code() == "InvalidParameter.InvalidUrl"
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DescribeMediaMetaData", {"InputInfo": cos("c20/none.mp4")})
    assert caught.value.get_code() == "ResourceNotFound.ObjectNotFound"


def test_manage_task_abort_stops_a_running_task(
    mps: MpsClient, server: ServerProcess, clips: ClipCache
) -> None:
    key = f"c20/{uuid.uuid4().hex[:8]}/long.mp4"
    with server.client() as client:
        upload(client, key, clips(duration=30.0, width=640, height=360))
    # Slow on purpose: H.265 at 4K (an explicit size is honoured), so the abort finds it
    # running.
    slow = call(
        mps,
        "CreateTranscodeTemplate",
        {
            "Container": "mp4",
            "VideoTemplate": {
                "Codec": "libx265",
                "Fps": 25,
                "Bitrate": 8000,
                "Width": 3840,
                "Height": 2160,
            },
            "RemoveAudio": 1,
        },
    ).Definition
    queue = f"c20-abort-{uuid.uuid4().hex[:8]}"
    task_id = call(
        mps,
        "ProcessMedia",
        {
            "InputInfo": cos(key),
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": slow}]},
            "TaskNotifyConfig": {"NotifyType": "CMQ", "QueueName": queue},
        },
    ).TaskId

    def running() -> bool | None:
        detail = as_dict(call(mps, "DescribeTaskDetail", {"TaskId": task_id}))
        [result] = detail["WorkflowTask"]["MediaProcessResultSet"]
        return (
            detail["Status"] == "PROCESSING" and result["TranscodeTask"]["Progress"] > 0
        ) or None

    wait_for(running, 60, "the transcode to be running")
    assert readers_of(key), "an FFmpeg reads the source while it runs"
    started = time.monotonic()
    call(mps, "ManageTask", {"OperationType": "Abort", "TaskId": task_id})

    detail = wait_finished(mps, task_id, timeout=30)
    assert time.monotonic() - started < 30  # far sooner than the encode would take
    [result] = detail["WorkflowTask"]["MediaProcessResultSet"]
    transcode = result["TranscodeTask"]
    assert (transcode["Status"], transcode["ErrCodeExt"]) == ("FAIL", "Cancelled")
    assert transcode["ErrCode"] != 0
    event = receive(server, queue, task_id)
    assert event["WorkflowTaskEvent"]["Status"] == "FINISH"
    # Its FFmpeg is gone: no process reads the source any more.
    wait_for(lambda: not readers_of(key) or None, 15, f"no process reading {key}")
    with server.client() as client:
        listed = client.get("/v1/buckets/media/objects", params={"prefix": key.rsplit("/", 1)[0]})
    assert [o for o in listed.json().get("objects", []) if "transcode" in o["key"]] == []

    call(mps, "ManageTask", {"OperationType": "Abort", "TaskId": task_id})  # again: nothing
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "ManageTask", {"OperationType": "Pause", "TaskId": task_id})
    assert caught.value.get_code() == "InvalidParameterValue.OperationType"
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "ManageTask", {"OperationType": "Abort", "TaskId": "rf-" + "0" * 32})
    assert caught.value.get_code() == "ResourceNotFound.TaskNotFound"


def readers_of(key: str) -> list[int]:
    """Processes whose command line names ``key`` (an FFmpeg reading it)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and key in (entry / "cmdline").read_bytes().decode(
                errors="replace"
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_the_async_client(server: ServerProcess, hd_key: str) -> None:
    endpoint = f"127.0.0.1:{server.port}"
    profile = ClientProfile(
        httpProfile=HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=30)
    )

    async def run() -> tuple[Any, Any, Any, str]:
        async with AsyncMpsClient(admin_credential(server), REGION, profile) as client:
            templates = models.DescribeTranscodeTemplatesRequest()
            templates.from_json_string(json.dumps({"Definitions": [20]}))
            listed = await client.DescribeTranscodeTemplates(templates)
            process = models.ProcessMediaRequest()
            process.from_json_string(
                json.dumps(
                    {
                        "InputInfo": cos(hd_key),
                        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 10}]},
                    }
                )
            )
            task_id = (await client.ProcessMedia(process)).TaskId
            ask = models.DescribeTaskDetailRequest()
            ask.from_json_string(json.dumps({"TaskId": task_id}))
            detail = await client.DescribeTaskDetail(ask)
            for _ in range(900):
                if detail.Status == "FINISH":
                    break
                await asyncio.sleep(0.2)
                detail = await client.DescribeTaskDetail(ask)
            missing = models.DescribeTaskDetailRequest()
            missing.from_json_string(json.dumps({"TaskId": "rf-" + "0" * 32}))
            try:
                await client.DescribeTaskDetail(missing)
            except TencentCloudSDKException as exc:
                code = exc.get_code()
            return listed, task_id, detail, code

    listed, _, detail, code = asyncio.run(run())

    assert [t.Name for t in listed.TranscodeTemplateSet] == ["MP4-H264-SD-legacy"]
    assert detail.Status == "FINISH"
    [result] = detail.WorkflowTask.MediaProcessResultSet
    assert (result.TranscodeTask.Status, result.TranscodeTask.Output.Width) == ("SUCCESS", 320)
    assert code == "ResourceNotFound.TaskNotFound"


def test_hls_size_and_md5_describe_the_playlist(
    mps: MpsClient, server: ServerProcess, hd_key: str, tmp_path: Path
) -> None:
    queue = f"c20-hls-{uuid.uuid4().hex[:8]}"
    task_id = call(
        mps,
        "ProcessMedia",
        {
            "InputInfo": cos(hd_key),
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 210}]},
            "TaskNotifyConfig": {"NotifyType": "CMQ", "QueueName": queue},
        },
    ).TaskId
    [result] = wait_finished(mps, task_id, timeout=120)["WorkflowTask"]["MediaProcessResultSet"]

    output = result["TranscodeTask"]["Output"]
    assert output["Path"].endswith("hd_transcode_210.m3u8")
    playlist = stored(server, output["Path"], tmp_path / "p.m3u8").read_bytes()
    assert output["Size"] == len(playlist)
    assert output["Md5"] == hashlib.md5(playlist).hexdigest()
    folder = output["Path"].rsplit("/", 1)[0]
    segments = [line for line in playlist.decode().splitlines() if line.endswith(".ts")]
    assert segments
    total = len(playlist) + sum(
        stored(server, f"{folder}/{name}", tmp_path / name).stat().st_size for name in segments
    )
    # The total is reelflow's own member of the event body's item (the SDK's lacks it).
    event = receive(server, queue, task_id)
    [in_event] = event["WorkflowTaskEvent"]["MediaProcessResultSet"]
    assert in_event["TranscodeTask"]["Output"]["TotalSize"] == total
    assert "TotalSize" not in output


def test_a_workflows_tasks_keep_its_regions(
    mps: MpsClient, server: ServerProcess, clips: ClipCache
) -> None:
    folder = f"c20wf{uuid.uuid4().hex[:8]}"
    queue = f"c20-wf-{uuid.uuid4().hex[:8]}"
    workflow_id = call(
        mps,
        "CreateWorkflow",
        {
            "WorkflowName": folder,
            "Trigger": {
                "Type": "CosFileUpload",
                "CosFileUploadTrigger": {
                    "Bucket": "media",
                    "Region": "ap-chengdu",
                    "Dir": f"/{folder}/",
                },
            },
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 10}]},
            "TaskNotifyConfig": {"NotifyType": "CMQ", "CmqRegion": "cd", "QueueName": queue},
        },
    ).WorkflowId
    [info] = as_dict(call(mps, "DescribeWorkflows", {"WorkflowIds": [workflow_id]}))[
        "WorkflowInfoSet"
    ]
    assert info["Trigger"]["CosFileUploadTrigger"]["Region"] == "ap-chengdu"
    assert (info["TaskNotifyConfig"]["NotifyType"], info["TaskNotifyConfig"]["CmqRegion"]) == (
        "CMQ",
        "cd",
    )
    call(mps, "EnableWorkflow", {"WorkflowId": workflow_id})
    try:
        with server.client() as client:
            upload(client, f"{folder}/clip.mp4", clips(duration=1.0, width=320, height=240))
        event = receive(server, queue, "")
    finally:
        call(mps, "DisableWorkflow", {"WorkflowId": workflow_id})

    in_event = event["WorkflowTaskEvent"]
    detail = wait_finished(mps, in_event["TaskId"])["WorkflowTask"]
    assert in_event["InputInfo"]["CosInputInfo"]["Region"] == "ap-chengdu"
    assert detail["InputInfo"]["CosInputInfo"] == in_event["InputInfo"]["CosInputInfo"]
    [result] = detail["MediaProcessResultSet"]
    assert (
        result["TranscodeTask"]["Output"]["OutputStorage"]["CosOutputStorage"]["Region"]
        == "ap-chengdu"
    )
