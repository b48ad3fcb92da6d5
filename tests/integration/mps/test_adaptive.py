"""Adaptive streaming through the official SDK, unmodified, against a real ``reelflow serve``
with real FFmpeg: ladder templates (create, describe with the presets, modify, delete, invalid
fields), ProcessMedia with an HLS template and the DASH preset, names by the naming rules
(defaults and ``OutputObjectPath``/``SubStreamObjectName``/``SegmentObjectName``), and a
workflow with an ``AdaptiveDynamicStreamingTaskSet`` run by an upload; manifests are read
back from the bucket with ``m3u8`` and ``mpegdash``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.integration.mps.conftest import REGION
from tests.integration.mps.sdk import as_dict, call, wait_finished
from tests.integration.server.media import head, upload
from tests.integration.server.process import ServerProcess, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # Python 3.12 deprecates the SDK's datetime.utcfromtimestamp; not ours to fix.
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

AUDIO = {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 2}
LADDER = {
    "Format": "HLS",
    "Name": "sdk-ladder",
    "Comment": "two small rungs",
    "StreamInfos": [
        {"Video": {"Codec": "libx264", "Fps": 25, "Bitrate": 200, "Height": 144}, "Audio": AUDIO},
        {"Video": {"Codec": "libx264", "Fps": 25, "Bitrate": 400, "Height": 240}, "Audio": AUDIO},
    ],
}


def cos(key: str) -> dict[str, Any]:
    return {"Type": "COS", "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": key}}


def fetch(server: ServerProcess, path: str) -> bytes:
    """An output by its ``Path`` in the bucket ``media``."""
    with server.client() as client:
        response = client.get(f"/v1/buckets/media/objects{path}")
    assert response.status_code == 200, (path, response.status_code)
    return response.content


def folder(path: str) -> str:
    return path[: path.rfind("/") + 1]


def adaptive_result(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``AdaptiveDynamicStreamingTask`` of each result, all of type AdaptiveDynamicStreaming."""
    results = detail["WorkflowTask"]["MediaProcessResultSet"]
    assert {r["Type"] for r in results} == {"AdaptiveDynamicStreaming"}
    return [r["AdaptiveDynamicStreamingTask"] for r in results]


@pytest.fixture(scope="module")
def ladder(mps: MpsClient) -> int:
    definition: int = call(mps, "CreateAdaptiveDynamicStreamingTemplate", LADDER).Definition
    return definition


def test_describe_lists_the_template_and_the_presets(mps: MpsClient, ladder: int) -> None:
    found = call(mps, "DescribeAdaptiveDynamicStreamingTemplates", {"Definitions": [ladder]})
    [detail] = found.AdaptiveDynamicStreamingTemplateSet
    assert (detail.Definition, detail.Type, detail.Name) == (ladder, "Custom", "sdk-ladder")
    assert (detail.Format, detail.SegmentType, detail.PureAudio) == ("HLS", "ts-segment", 0)
    assert [s.Video.Height for s in detail.StreamInfos] == [144, 240]
    assert [s.Audio.Bitrate for s in detail.StreamInfos] == [64, 64]
    assert detail.StreamInfos[0].Video.HlsTime == 6

    presets = call(mps, "DescribeAdaptiveDynamicStreamingTemplates", {"Type": "Preset"})
    by_id = {t.Definition: t for t in presets.AdaptiveDynamicStreamingTemplateSet}
    assert set(by_id) == {10, 20}
    assert (by_id[10].Format, by_id[20].Format) == ("HLS", "MPEG-DASH")
    assert {t.Type for t in by_id.values()} == {"Preset"}
    assert [s.Video.Height for s in by_id[10].StreamInfos] == [360, 540, 720, 1080]
    assert [s.Video.Bitrate for s in by_id[10].StreamInfos] == [400, 1000, 1800, 2500]

    everything = call(mps, "DescribeAdaptiveDynamicStreamingTemplates", {"Limit": 100})
    listed = [t.Definition for t in everything.AdaptiveDynamicStreamingTemplateSet]
    assert listed[:2] == [10, 20] and ladder in listed
    custom = call(mps, "DescribeAdaptiveDynamicStreamingTemplates", {"Type": "Custom"})
    assert 10 not in [t.Definition for t in custom.AdaptiveDynamicStreamingTemplateSet]


def test_process_media_makes_an_hls_ladder(
    server: ServerProcess, mps: MpsClient, ladder: int, clip: Path
) -> None:
    with server.client() as client:
        upload(client, "abr/in/clip.mp4", clip)
    custom = {
        "Definition": ladder,
        "OutputObjectPath": "named/{inputName}_master_{definition}.{format}",
        "SubStreamObjectName": "{inputName}_rung_{subStreamNumber}.{format}",
        "SegmentObjectName": "{inputName}_seg_{subStreamNumber}_{segmentNumber}.{format}",
    }
    params = {
        "InputInfo": cos("/abr/in/clip.mp4"),
        "OutputDir": "/abr/out/",
        "MediaProcessTask": {"AdaptiveDynamicStreamingTaskSet": [{"Definition": ladder}, custom]},
    }
    detail = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId, timeout=180)
    default, named = adaptive_result(detail)
    for task in (default, named):
        assert (task["Status"], task["ErrCode"], task["ErrCodeExt"]) == ("SUCCESS", 0, ""), task
        assert task["Output"]["Definition"] == ladder
        assert task["Output"]["Package"] == "HLS"
        assert task["Output"]["Storage"]["CosOutputStorage"]["Bucket"] == "media"
    assert default["Input"]["Definition"] == ladder
    assert default["Output"]["Path"] == f"/abr/out/clip_adaptiveDynamicStreaming_{ladder}.m3u8"
    assert named["Output"]["Path"] == f"/abr/out/named/clip_master_{ladder}.m3u8"
    assert named["Input"]["SubStreamObjectName"] == custom["SubStreamObjectName"]

    for task, rung, segment in (
        (
            default,
            f"clip_adaptiveDynamicStreaming_{ladder}_",
            f"clip_adaptiveDynamicStreaming_{ladder}_",
        ),
        (named, "clip_rung_", "clip_seg_"),
    ):
        path = task["Output"]["Path"]
        master = m3u8.loads(fetch(server, path).decode())
        assert master.is_variant
        assert len(master.playlists) == 2
        heights = sorted(v.stream_info.resolution[1] for v in master.playlists)
        assert heights == [144, 240]
        for variant in master.playlists:
            assert variant.stream_info.codecs, variant.uri
            assert variant.stream_info.codecs.startswith("avc1.")
            assert variant.stream_info.bandwidth > 0
            assert variant.uri.startswith(rung) and variant.uri.endswith(".m3u8"), variant.uri
            media = m3u8.loads(fetch(server, folder(path) + variant.uri).decode())
            assert media.segments, variant.uri
            for seg in media.segments:
                assert seg.uri.startswith(segment), seg.uri
            head_segment = media.segments[0].uri
            with server.client() as client:
                head(client, folder(path) + head_segment)


def test_process_media_with_the_dash_preset(
    server: ServerProcess, mps: MpsClient, clip: Path
) -> None:
    with server.client() as client:
        upload(client, "abr/in/dash.mp4", clip)
    params = {
        "InputInfo": cos("/abr/in/dash.mp4"),
        "OutputDir": "/abr/dash/",
        "MediaProcessTask": {"AdaptiveDynamicStreamingTaskSet": [{"Definition": 20}]},
    }
    detail = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId, timeout=180)
    [task] = adaptive_result(detail)
    assert task["Status"] == "SUCCESS", task
    output = task["Output"]
    assert (output["Package"], output["Definition"]) == ("MPEG-DASH", 20)
    assert output["Path"] == "/abr/dash/dash_adaptiveDynamicStreaming_20.mpd"
    mpd = MPEGDASHParser.parse(fetch(server, output["Path"]).decode())
    representations = [
        r for period in mpd.periods for a in period.adaptation_sets for r in a.representations
    ]
    # A 240p source never gets an upscaled rung: the 4-rung preset keeps one video rung.
    videos = [r for r in representations if r.height]
    assert [r.height for r in videos] == [240]
    assert all(r.codecs for r in representations)


def test_modify_and_delete(mps: MpsClient) -> None:
    definition = call(mps, "CreateAdaptiveDynamicStreamingTemplate", LADDER).Definition
    call(
        mps,
        "ModifyAdaptiveDynamicStreamingTemplate",
        {"Definition": definition, "Name": "renamed", "Format": "MPEG-DASH"},
    )
    [detail] = call(
        mps, "DescribeAdaptiveDynamicStreamingTemplates", {"Definitions": [definition]}
    ).AdaptiveDynamicStreamingTemplateSet
    assert (detail.Name, detail.Format, detail.SegmentType) == (
        "renamed",
        "MPEG-DASH",
        "mp4-segment",
    )
    assert len(detail.StreamInfos) == 2  # untouched

    one = {"Definition": definition, "StreamInfos": LADDER["StreamInfos"][:1]}
    call(mps, "ModifyAdaptiveDynamicStreamingTemplate", one)
    [detail] = call(
        mps, "DescribeAdaptiveDynamicStreamingTemplates", {"Definitions": [definition]}
    ).AdaptiveDynamicStreamingTemplateSet
    assert [s.Video.Height for s in detail.StreamInfos] == [144]

    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "ModifyAdaptiveDynamicStreamingTemplate", {"Definition": 10, "Name": "mine"})
    assert caught.value.get_code() == "InvalidParameterValue.ModifyDefaultTemplate"
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DeleteAdaptiveDynamicStreamingTemplate", {"Definition": 20})
    assert caught.value.get_code() == "InvalidParameterValue.DeleteDefaultTemplate"

    call(mps, "DeleteAdaptiveDynamicStreamingTemplate", {"Definition": definition})
    found = call(mps, "DescribeAdaptiveDynamicStreamingTemplates", {"Definitions": [definition]})
    assert found.TotalCount == 0
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "DeleteAdaptiveDynamicStreamingTemplate", {"Definition": definition})
    assert caught.value.get_code() == "ResourceNotFound.TemplateNotExist"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"Format": "RTMP"}, "InvalidParameterValue.Format", "Format"),
        ({"SegmentType": "flv-segment"}, "InvalidParameterValue.SegmentType", "SegmentType"),
        (
            {
                "StreamInfos": [
                    {"Video": {"Codec": "h264", "Fps": 25, "Bitrate": 5}, "Audio": AUDIO}
                ]
            },
            "InvalidParameterValue.Bitrate",
            "StreamInfos.0.Video.Bitrate",
        ),
        (
            {
                "StreamInfos": [
                    {"Video": {"Codec": "vp9", "Fps": 25, "Bitrate": 300}, "Audio": AUDIO}
                ]
            },
            "InvalidParameterValue.Codec",
            "StreamInfos.0.Video.Codec",
        ),
        (
            {"StreamInfos": [{"Video": {"Codec": "h264", "Fps": 25, "Bitrate": 300}}]},
            "MissingParameter",
            "StreamInfos.0.Audio",
        ),
        ({"StreamInfos": []}, "InvalidParameterValue.StreamInfos", "StreamInfos"),
    ],
)
def test_invalid_template_fields_are_named(
    mps: MpsClient, change: dict[str, Any], code: str, field: str
) -> None:
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "CreateAdaptiveDynamicStreamingTemplate", {**LADDER, **change})
    assert caught.value.get_code() == code
    assert field in caught.value.get_message()


def test_a_workflow_runs_a_ladder_on_upload(
    server: ServerProcess, mps: MpsClient, ladder: int, clip: Path
) -> None:
    definition = {
        "WorkflowName": "sdk-abr",
        "Trigger": {
            "Type": "CosFileUpload",
            "CosFileUploadTrigger": {"Bucket": "media", "Region": REGION, "Dir": "/abr-up/"},
        },
        "OutputDir": "/abr-wf/",
        "MediaProcessTask": {"AdaptiveDynamicStreamingTaskSet": [{"Definition": ladder}]},
        "TaskNotifyConfig": {"NotifyType": "TDMQ-CMQ", "QueueName": "abr-events"},
    }
    workflow_id = call(mps, "CreateWorkflow", definition).WorkflowId
    [info] = call(mps, "DescribeWorkflows", {"WorkflowIds": [workflow_id]}).WorkflowInfoSet
    [task_input] = info.MediaProcessTask.AdaptiveDynamicStreamingTaskSet
    assert task_input.Definition == ladder
    call(mps, "EnableWorkflow", {"WorkflowId": workflow_id})
    try:
        with server.client() as client:
            started = upload(client, "abr-up/wf.mp4", clip)
        [task_id] = [t["task_id"] for t in started["tasks"] if t["workflow_id"] == workflow_id]
        detail = wait_finished(mps, task_id, timeout=180)
    finally:
        call(mps, "DisableWorkflow", {"WorkflowId": workflow_id})
    [task] = adaptive_result(detail)
    assert task["Status"] == "SUCCESS", task
    path = task["Output"]["Path"]
    assert path == f"/abr-wf/wf_adaptiveDynamicStreaming_{ladder}.m3u8"
    master = m3u8.loads(fetch(server, path).decode())
    assert len(master.playlists) == 2

    event = _finish_event(server, "abr-events", task_id)
    # The event carries reelflow's own members too: the checker's verdict on the package.
    [raw] = event["WorkflowTaskEvent"]["MediaProcessResultSet"]
    assert raw["AdaptiveDynamicStreamingTask"]["Output"]["StreamCheck"]["Passed"] is True
    parsed = as_dict(call(mps, "ParseNotification", {"Content": json.dumps(event)}))
    [result] = parsed["WorkflowTaskEvent"]["MediaProcessResultSet"]
    assert result["Type"] == "AdaptiveDynamicStreaming"
    assert result["AdaptiveDynamicStreamingTask"]["Output"]["Path"] == path


def _finish_event(server: ServerProcess, queue: str, task_id: str) -> dict[str, Any]:
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


def test_a_schedule_makes_a_ladder_of_a_rendition(
    server: ServerProcess, mps: MpsClient, clip: Path
) -> None:
    rendition = {
        "Container": "mp4",
        "Name": "abr-source",
        "VideoTemplate": {"Codec": "h264", "Fps": 25, "Bitrate": 300, "Height": 180},
        "AudioTemplate": AUDIO,
    }
    transcode = call(mps, "CreateTranscodeTemplate", rendition).Definition
    cmaf = call(mps, "CreateAdaptiveDynamicStreamingTemplate", {**LADDER, "Format": "CMAF"})
    activities = [
        {"ActivityType": "input", "ReardriveIndex": [1]},
        {
            "ActivityType": "action-trans",
            "ReardriveIndex": [2],
            "ActivityPara": {"TranscodeTask": {"Definition": transcode}},
        },
        {
            "ActivityType": "action-adaptive-substream",
            "ReardriveIndex": [3],
            "ActivityPara": {"AdaptiveDynamicStreamingTask": {"Definition": cmaf.Definition}},
        },
        {"ActivityType": "output"},
    ]
    with server.client() as client:
        upload(client, "abr/in/sched.mp4", clip)
    params = {
        "InputInfo": cos("/abr/in/sched.mp4"),
        "OutputDir": "/abr/sched/",
        "Activities": activities,
    }
    detail = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId, timeout=180)
    assert detail["TaskType"] == "ScheduleTask"
    trans, ladder = detail["ScheduleTask"]["ActivityResultSet"]
    assert (trans["ActivityType"], ladder["ActivityType"]) == (
        "Transcode",
        "AdaptiveDynamicStreaming",
    )
    task = ladder["ActivityResItem"]["AdaptiveDynamicStreamingTask"]
    assert task["Status"] == "SUCCESS", task
    assert task["Output"]["Package"] == "CMAF"
    master = m3u8.loads(fetch(server, task["Output"]["Path"]).decode())
    # The rendition is 180p: the 240p rung is capped to it and dropped as a duplicate.
    assert [v.stream_info.resolution[1] for v in master.playlists] == [144, 180]
