"""The rest of issue 20's list through the official SDK against real servers: one naming
rule for custom names, a template's explicit size honoured above the source (one side
stays a maximum), ManageTask Abort of a task still waiting for a worker, and
DescribeMediaMetaData of an S3 object (moto's S3 server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.clips import ClipCache
from tests.integration.mps.conftest import REGION, admin_credential, sdk_client
from tests.integration.mps.sdk import as_dict, call, wait_finished
from tests.integration.server.media import download, upload
from tests.integration.server.process import ServerProcess, Servers, wait_for
from tests.s3server import ACCESS_KEY, SECRET_KEY, MotoServer
from tests.s3server import REGION as S3_REGION

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

AUDIO = {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100}


def cos(key: str) -> dict[str, Any]:
    return {"Type": "COS", "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": key}}


@pytest.fixture(scope="module")
def small(server: ServerProcess, clips: ClipCache) -> str:
    """A 2 s 640x360 clip in the bucket."""
    key = f"rules/{uuid.uuid4().hex[:8]}/small.mp4"
    with server.client() as client:
        upload(client, key, clips(duration=2.0, width=640, height=360))
    return key


def hls_template(mps: MpsClient) -> int:
    template = {
        "Container": "hls",
        "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "HlsTime": 1},
        "AudioTemplate": AUDIO,
    }
    return int(call(mps, "CreateTranscodeTemplate", template).Definition)


@pytest.mark.parametrize(
    ("task_set", "field"),
    [
        ({"TranscodeTaskSet": [{"SegmentObjectName": "part_{number}"}]}, "SegmentObjectName"),
        ({"TranscodeTaskSet": [{"OutputObjectPath": "out/rendition"}]}, "OutputObjectPath"),
        (
            {"ImageSpriteTaskSet": [{"Definition": 10, "WebVttObjectName": "index"}]},
            "WebVttObjectName",
        ),
    ],
)
def test_a_custom_name_without_its_extension_is_refused(
    mps: MpsClient, small: str, task_set: dict[str, Any], field: str
) -> None:
    for items in task_set.values():
        for item in items:
            item.setdefault("Definition", hls_template(mps))
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "ProcessMedia", {"InputInfo": cos(small), "MediaProcessTask": task_set})
    assert caught.value.get_code() == f"InvalidParameterValue.{field}", caught.value
    assert field in caught.value.get_message()


def test_custom_segment_and_webvtt_names_with_their_extension(
    mps: MpsClient, server: ServerProcess, small: str, tmp_path: Path
) -> None:
    folder = f"/rules-out/{uuid.uuid4().hex[:6]}/"
    task_set = {
        "TranscodeTaskSet": [
            {
                "Definition": hls_template(mps),
                "OutputObjectPath": "play.{format}",
                "SegmentObjectName": "part_{number}.{format}",
            }
        ],
        "ImageSpriteTaskSet": [{"Definition": 10, "WebVttObjectName": "index.{format}"}],
    }
    params = {"InputInfo": cos(small), "OutputDir": folder, "MediaProcessTask": task_set}
    results = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId)["WorkflowTask"][
        "MediaProcessResultSet"
    ]
    transcode = results[0]["TranscodeTask"]
    sprite = results[1]["ImageSpriteTask"]
    assert transcode["Status"] == "SUCCESS" and sprite["Status"] == "SUCCESS", results
    assert transcode["Output"]["Path"] == f"{folder}play.m3u8"
    assert sprite["Output"]["WebVttPath"] == f"{folder}index.vtt"
    with server.client() as client:
        playlist = download(client, transcode["Output"]["Path"], tmp_path).read_text()
        names = [line for line in playlist.splitlines() if line and not line.startswith("#")]
        assert names == ["part_0.ts", "part_1.ts"], playlist
        for name in names:
            download(client, folder + name, tmp_path)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ({"Width": 854, "Height": 480}, (854, 480)),  # both sides: an explicit size
        ({"Height": 480}, (640, 360)),  # one side: a maximum, never above the source
        ({"Width": 1280}, (640, 360)),
    ],
)
def test_a_template_size_above_the_source(
    mps: MpsClient,
    server: ServerProcess,
    small: str,
    tmp_path: Path,
    size: dict[str, int],
    expected: tuple[int, int],
) -> None:
    template = {
        "Container": "mp4",
        "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 400, **size},
        "AudioTemplate": AUDIO,
    }
    definition = call(mps, "CreateTranscodeTemplate", template).Definition
    params = {
        "InputInfo": cos(small),
        "OutputDir": f"/rules-size/{uuid.uuid4().hex[:6]}/",
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": definition}]},
    }
    [result] = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId)["WorkflowTask"][
        "MediaProcessResultSet"
    ]
    output = result["TranscodeTask"]["Output"]
    assert (output["Width"], output["Height"]) == expected
    with server.client() as client:
        local = download(client, output["Path"], tmp_path)
    with av.open(str(local)) as media:
        context = media.streams.video[0].codec_context
        assert (context.width, context.height) == expected


# -- a server of its own: one worker, an S3 bucket on moto ------------------------------


@pytest.fixture(scope="module")
def lone(tmp_path_factory: pytest.TempPathFactory, moto: MotoServer) -> Iterator[ServerProcess]:
    """A server running one job at a time, with the S3 bucket ``archive`` (moto)."""
    s3_bucket = moto.create_bucket("arc")
    data_dir = tmp_path_factory.mktemp("lone") / "data"
    data_dir.mkdir()
    (data_dir / "reelflow.toml").write_text(
        "\n".join(
            [
                "workers = 1",
                "[buckets.archive]",
                'backend = "s3"',
                f'endpoint = "{moto.endpoint}"',
                f'region = "{S3_REGION}"',
                f'bucket = "{s3_bucket}"',
                f'access_key = "{ACCESS_KEY}"',
                f'secret_key = "{SECRET_KEY}"',
                "",
            ]
        )
    )
    started = Servers()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_PROXY", "127.0.0.1")
        patch.setenv("no_proxy", "127.0.0.1")
        try:
            yield started.start(data_dir)
        finally:
            started.close()


def test_describe_media_metadata_of_an_s3_object(lone: ServerProcess, clips: ClipCache) -> None:
    mps = sdk_client(lone, admin_credential(lone))
    with lone.client() as client:
        answer = client.put(
            "/v1/buckets/archive/objects/in/s3clip.mp4",
            content=clips(duration=1.0, width=320, height=240).read_bytes(),
        )
        assert answer.status_code in (200, 201), answer.text
    s3 = {
        "Type": "AWS-S3",
        "S3InputInfo": {"S3Bucket": "archive", "S3Region": S3_REGION, "S3Object": "in/s3clip.mp4"},
    }
    meta = as_dict(call(mps, "DescribeMediaMetaData", {"InputInfo": s3}))["MetaData"]
    assert (meta["Width"], meta["Height"]) == (320, 240)
    assert abs(meta["Duration"] - 1.0) < 0.1
    # The same MetaData a task stores for the same S3 source.
    task_id = call(
        mps,
        "ProcessMedia",
        {
            "InputInfo": s3,
            "MediaProcessTask": {
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0s"]}]
            },
        },
    ).TaskId
    assert wait_finished(mps, task_id)["WorkflowTask"]["MetaData"] == meta
    wrong = {**s3, "S3InputInfo": {**s3["S3InputInfo"], "S3Region": "eu-west-9"}}
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DescribeMediaMetaData", {"InputInfo": wrong})
    assert caught.value.get_code() == "ResourceNotFound.CosBucketNotExist"


def test_manage_task_abort_of_a_waiting_task(lone: ServerProcess, clips: ClipCache) -> None:
    """With one worker busy, a second task waits; aborted, it finishes at once: its
    sub-task FAIL with Cancelled, its finish event sent, nothing written; the running task
    is untouched."""
    mps = sdk_client(lone, admin_credential(lone))
    key = f"wait/{uuid.uuid4().hex[:8]}/long.mp4"
    with lone.client() as client:
        upload(client, key, clips(duration=20.0, width=640, height=360))
    slow = call(
        mps,
        "CreateTranscodeTemplate",
        {
            "Container": "mp4",
            "VideoTemplate": {
                "Codec": "libx265", "Fps": 25, "Bitrate": 4000, "Width": 1920, "Height": 1080,
            },
            "RemoveAudio": 1,
        },
    ).Definition  # fmt: skip
    queue = f"wait-{uuid.uuid4().hex[:8]}"

    def submit(folder: str) -> str:
        params = {
            "InputInfo": cos(key),
            "OutputDir": folder,
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": slow}]},
            "TaskNotifyConfig": {"NotifyType": "CMQ", "QueueName": queue},
        }
        return str(call(mps, "ProcessMedia", params).TaskId)

    first = submit("/wait-a/")

    def running() -> bool | None:
        detail = as_dict(call(mps, "DescribeTaskDetail", {"TaskId": first}))
        [result] = detail["WorkflowTask"]["MediaProcessResultSet"]
        return (
            detail["Status"] == "PROCESSING" and result["TranscodeTask"]["Progress"] > 0
        ) or None

    wait_for(running, 60, "the first transcode to be running")
    second = submit("/wait-b/")
    detail = as_dict(call(mps, "DescribeTaskDetail", {"TaskId": second}))
    assert detail["Status"] == "WAITING", detail
    call(mps, "ManageTask", {"OperationType": "Abort", "TaskId": second})

    detail = wait_finished(mps, second, timeout=10)
    [result] = detail["WorkflowTask"]["MediaProcessResultSet"]
    assert (result["TranscodeTask"]["Status"], result["TranscodeTask"]["ErrCodeExt"]) == (
        "FAIL",
        "Cancelled",
    )
    event = wait_for(lambda: _finish_event(lone, queue, second), 30, "the finish event")
    assert event["WorkflowTaskEvent"]["Status"] == "FINISH"
    assert as_dict(call(mps, "DescribeTaskDetail", {"TaskId": first}))["Status"] == "PROCESSING"
    call(mps, "ManageTask", {"OperationType": "Abort", "TaskId": first})  # done with it
    with lone.client() as client:
        listed = client.get("/v1/buckets/media/objects", params={"prefix": "wait-b/"}).json()
    assert listed.get("objects", []) == []


def _finish_event(server: ServerProcess, queue: str, task_id: str) -> dict[str, Any] | None:
    with server.client() as client:
        response = client.post(
            f"/v1/queues/{queue}/messages:receive", json={"wait_seconds": 1, "max_messages": 10}
        )
        assert response.status_code == 200, response.text
        for message in response.json()["messages"]:
            client.delete(f"/v1/queues/{queue}/messages/{message['receipt']}")
            body: dict[str, Any] = message["body"]
            if (
                body["EventKind"] == "task.finished"
                and body["WorkflowTaskEvent"]["TaskId"] == task_id
            ):
                return body
    return None
