"""``EditMedia`` (clip and join) through the official SDK against a real server: inputs from
a bucket and a URL, of different sizes, frame rates and sample rates, one without audio;
the joined file read back with PyAV; ``DescribeTaskDetail`` as ``EditMediaTask`` and the
``EditMediaTaskEvent`` through ``ParseNotification``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import m3u8
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.clips import ClipCache
from tests.integration.media.http_server import serve
from tests.integration.mps.conftest import REGION
from tests.integration.mps.sdk import as_dict, call
from tests.integration.server.media import download, upload
from tests.integration.server.process import ServerProcess, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

FRAME = 1 / 25


def cos(key: str) -> dict[str, Any]:
    return {"Type": "COS", "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": key}}


def finished(mps: MpsClient, task_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        detail = as_dict(call(mps, "DescribeTaskDetail", {"TaskId": task_id}))
        return detail if detail["Status"] == "FINISH" else None

    return wait_for(done, 90, f"task {task_id} to finish")


def measure(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        times = [f.time for f in container.decode(video) if f.time is not None]
        container.seek(0)
        end = 0.0
        for frame in container.decode(audio):
            if frame.time is not None:
                end = max(end, frame.time + frame.samples / frame.sample_rate)
        return {
            "video": max(times) + 1 / float(video.average_rate or 25),
            "audio": end,
            "size": (video.codec_context.width, video.codec_context.height),
            "fps": float(video.average_rate or 0),
            "rate": audio.codec_context.sample_rate,
            "codecs": (video.codec_context.name, audio.codec_context.name),
        }


def test_clip_and_join_inputs_of_different_shapes(
    server: ServerProcess, mps: MpsClient, clips: ClipCache, tmp_path: Path
) -> None:
    first = clips(duration=2.0, width=320, height=240, fps=25, sample_rate=48000)
    wide = clips(duration=3.0, width=640, height=360, fps=30, sample_rate=44100, channels=1)
    silent = clips(duration=1.5, width=160, height=120, fps=25, audio=False)
    with server.client() as client:
        upload(client, "edit/first.mp4", first)
        upload(client, "edit/silent.mp4", silent)
    with serve(wide.parent) as base:
        params = {
            "FileInfos": [
                {"InputInfo": cos("/edit/first.mp4"), "StartTimeOffset": 0.5, "EndTimeOffset": 1.5},
                {"InputInfo": {"Type": "URL", "UrlInputInfo": {"Url": base + wide.name}}},
                {"InputInfo": cos("/edit/silent.mp4"), "EndTimeOffset": 1.0, "Id": "tail"},
            ],
            "OutputStorage": {
                "Type": "COS",
                "CosOutputStorage": {"Bucket": "media", "Region": REGION},
            },
            "OutputObjectPath": "/edit-out/joined.mp4",
            "OutputConfig": {"Container": "mp4"},
            "TaskNotifyConfig": {"NotifyType": "TDMQ-CMQ", "QueueName": "edit-events"},
            "SessionContext": "ctx",
        }  # fmt: skip
        task_id = call(mps, "EditMedia", params).TaskId
        detail = finished(mps, task_id)

    assert detail["TaskType"] == "EditMediaTask"
    assert detail["WorkflowTask"] is None
    task = detail["EditMediaTask"]
    assert (task["TaskId"], task["Status"], task["ErrCode"]) == (task_id, "FINISH", 0), task
    infos = task["Input"]["FileInfoSet"]
    assert [i["StartTimeOffset"] for i in infos] == [0.5, 0.0, 0.0]
    assert [i["EndTimeOffset"] for i in infos] == [1.5, 0.0, 1.0]
    assert infos[1]["InputInfo"]["UrlInputInfo"]["Url"] == base + wide.name
    assert infos[2]["Id"] == "tail"
    output = task["Output"]
    assert output["Path"] == "/edit-out/joined.mp4"
    assert output["OutputStorage"]["CosOutputStorage"]["Bucket"] == "media"
    meta = output["MetaData"]
    assert (meta["Width"], meta["Height"]) == (320, 240)
    assert abs(meta["Duration"] - 5.0) <= 2 * FRAME, meta

    with server.client() as client:
        local = download(client, output["Path"], tmp_path)
    got = measure(local)
    assert abs(got["video"] - (1.0 + 3.0 + 1.0)) <= FRAME, got
    assert abs(got["audio"] - got["video"]) <= FRAME, got
    assert (got["size"], got["fps"], got["rate"]) == ((320, 240), 25.0, 48000)
    assert got["codecs"] == ("h264", "aac")

    event = wait_for(lambda: _event(server, task_id), 60, "the edit event")
    parsed = as_dict(call(mps, "ParseNotification", {"Content": json.dumps(event)}))
    assert parsed["EventType"] == "EditMediaTask"
    assert parsed["WorkflowTaskEvent"] is None
    assert parsed["EditMediaTaskEvent"]["Output"]["Path"] == "/edit-out/joined.mp4"
    assert parsed["SessionContext"] == "ctx"


def _event(server: ServerProcess, task_id: str) -> dict[str, Any] | None:
    """The edit task's finish event from the embedded queue."""
    with server.client() as client:
        response = client.post(
            "/v1/queues/edit-events/messages:receive", json={"wait_seconds": 2, "max_messages": 10}
        )
        assert response.status_code == 200, response.text
        for message in response.json()["messages"]:
            body = message["body"]
            client.delete(f"/v1/queues/edit-events/messages/{message['receipt']}")
            edit = body.get("EditMediaTaskEvent") or {}
            if edit.get("TaskId") == task_id and edit.get("Status") == "FINISH":
                return dict(body)
    return None


def test_fast_joins_same_parameter_inputs_by_stream_copy(
    server: ServerProcess, mps: MpsClient, clips: ClipCache, tmp_path: Path
) -> None:
    a = clips(duration=2.0, width=320, height=240)
    b = clips(duration=1.0, width=320, height=240)
    with server.client() as client:
        upload(client, "edit/a.mp4", a)
        upload(client, "edit/b.mp4", b)
    params = {
        "FileInfos": [{"InputInfo": cos("/edit/a.mp4")}, {"InputInfo": cos("/edit/b.mp4")}],
        "OutputConfig": {"Container": "mp4", "Type": "fast"},
    }
    task_id = call(mps, "EditMedia", params).TaskId
    detail = finished(mps, task_id)
    output = detail["EditMediaTask"]["Output"]
    with server.client() as client:  # the native API and the console read it too
        native = client.get(f"/v1/tasks/{task_id}")
        assert native.status_code == 200, native.text
        assert native.json()["subtasks"][0]["kind"] == "EditMedia", native.json()
    assert output["Path"] == "/edit/a_editMedia.mp4"  # beside the first input by default
    with server.client() as client:
        got = measure(download(client, output["Path"], tmp_path))
    assert abs(got["video"] - 3.0) <= FRAME, got
    assert abs(got["audio"] - got["video"]) <= 2 * FRAME, got


def test_a_cut_past_the_end_fails_the_task(
    mps: MpsClient, server: ServerProcess, clip: Path
) -> None:
    with server.client() as client:
        upload(client, "edit/short.mp4", clip)
    params = {
        "FileInfos": [
            {"InputInfo": cos("/edit/short.mp4")},
            {"InputInfo": cos("/edit/short.mp4"), "StartTimeOffset": 30},
        ]
    }
    task = finished(mps, call(mps, "EditMedia", params).TaskId)["EditMediaTask"]
    assert task["ErrCode"] != 0
    assert task["Message"].startswith("InvalidParameterValue.StartTimeOffset"), task
    assert task["Output"] is None


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"FileInfos": []}, "InvalidParameterValue.FileInfos"),
        ({}, "MissingParameter"),
        (
            {"FileInfos": [{"InputInfo": cos("/x.mp4")}], "OutputConfig": {"Container": "avi"}},
            "UnsupportedOperation",
        ),
        (
            {"FileInfos": [{"InputInfo": cos("/x.mp4")}], "OutputConfig": {"Container": "wmv"}},
            "InvalidParameterValue.Container",
        ),
        (
            {"FileInfos": [{"InputInfo": cos("/x.mp4"), "StartTimeOffset": 2, "EndTimeOffset": 1}]},
            "InvalidParameterValue.EndTimeOffset",
        ),
    ],
)
def test_invalid_requests_name_the_field(mps: MpsClient, params: dict[str, Any], code: str) -> None:
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "EditMedia", params)
    assert caught.value.get_code() == code


def measure_stream(path: Path) -> dict[str, float]:
    """Seconds of video and of audio in a playlist (TS timestamps start at 1.4 s: each
    stream measured from its first frame), and the gap between their starts."""
    times: list[float] = []
    starts: list[float] = []
    ends: list[float] = []
    with av.open(str(path)) as container:  # one pass: an HLS input cannot seek back
        video, audio = container.streams.video[0], container.streams.audio[0]
        for frame in container.decode(video, audio):
            if frame.time is None:
                continue
            if isinstance(frame, av.AudioFrame):
                starts.append(frame.time)
                ends.append(frame.time + frame.samples / frame.sample_rate)
            else:
                times.append(frame.time)
    step = 1 / float(video.average_rate or 25)
    return {
        "video": max(times) - min(times) + step,
        "audio": max(ends) - min(starts),
        "start_gap": abs(min(times) - min(starts)),
    }


@pytest.mark.parametrize("kind", ["normal", "fast"])
def test_join_into_hls(
    server: ServerProcess, mps: MpsClient, clips: ClipCache, tmp_path: Path, kind: str
) -> None:
    """OutputConfig.Container hls: a VOD playlist at OutputObjectPath, its TS segments
    beside it (<playlist name>_N.ts); the whole lasts the sum of the pieces within a frame,
    audio in step with video. ``fast`` with inputs of one shape is a stream copy."""
    first = clips(duration=3.0, width=320, height=240, fps=25, sample_rate=44100)
    second = clips(duration=12.0, width=320, height=240, fps=25, sample_rate=44100)
    with server.client() as client:
        upload(client, "edit/h1.mp4", first)
        upload(client, "edit/h2.mp4", second)
    params = {
        "FileInfos": [
            {"InputInfo": cos("/edit/h1.mp4")},
            {"InputInfo": cos("/edit/h2.mp4")},
        ],
        "OutputObjectPath": f"/edit-hls-{kind}/joined.{{format}}",
        "OutputConfig": {"Container": "hls", "Type": kind},
    }
    detail = finished(mps, call(mps, "EditMedia", params).TaskId)
    task = detail["EditMediaTask"]
    assert task["ErrCode"] == 0, task
    output = task["Output"]
    assert output["Path"] == f"/edit-hls-{kind}/joined.m3u8"
    assert abs(output["MetaData"]["Duration"] - 15.0) <= 2 * FRAME, output["MetaData"]
    with server.client() as client:
        local = download(client, output["Path"], tmp_path)
        playlist = m3u8.loads(local.read_text())
        assert playlist.is_endlist and playlist.playlist_type == "vod"
        names = [segment.uri for segment in playlist.segments]
        assert names == [f"joined_{i}.ts" for i in range(len(names))], names
        assert len(names) >= 2  # 15 s in segments of at most 10 s
        for name in names:
            download(client, f"/edit-hls-{kind}/{name}", tmp_path)
    listed = sum(segment.duration for segment in playlist.segments)
    got = measure_stream(local)
    assert abs(got["video"] - 15.0) <= FRAME, got
    assert abs(listed - 15.0) <= FRAME, listed
    assert abs(got["audio"] - got["video"]) <= 2 * FRAME, got
    assert got["start_gap"] <= FRAME, got
