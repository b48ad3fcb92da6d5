"""Answers trimmed to what the official SDK's structures define (it warns about the rest)."""

from __future__ import annotations

from tencentcloud.mps.v20190612 import models

from reelflow.compat import trim


def test_an_adaptive_result_keeps_only_the_vendor_members() -> None:
    storage = {"Type": "COS", "CosOutputStorage": {"Bucket": "media", "Region": ""}}
    result = {
        "Type": "AdaptiveDynamicStreaming",
        "TranscodeTask": None,
        "AdaptiveDynamicStreamingTask": {
            "Status": "SUCCESS",
            "ErrCodeExt": "",
            "ErrCode": 0,
            "Message": "SUCCESS",
            "Input": {
                "Definition": 10,
                "OutputObjectPath": "a.{format}",
                "ObjectNumberFormat": None,
                "ExtInfo": None,
                "SubStreamObjectName": "s_{subStreamNumber}.{format}",
            },
            "Output": {
                "Definition": 10,
                "Package": "HLS",
                "Path": "/out/a.m3u8",
                "Storage": storage,
                "Renditions": [{"Kind": "video"}],
                "StreamCheck": {"Passed": True},
            },
            "BeginProcessTime": "2026-01-01T00:00:00Z",
            "FinishTime": "2026-01-01T00:00:01Z",
        },
    }
    trimmed = trim.workflow_task({"TaskId": "t", "MediaProcessResultSet": [result]})
    [item] = trimmed["MediaProcessResultSet"]
    task = item["AdaptiveDynamicStreamingTask"]
    assert set(task["Output"]) == {"Definition", "Package", "Path", "Storage"}
    assert "ExtInfo" not in task["Input"] and "ObjectNumberFormat" not in task["Input"]
    model = models.MediaProcessTaskResult()
    model._deserialize(item)  # the suite turns the SDK's unknown-member warning into an error
    assert model.AdaptiveDynamicStreamingTask.Output.Path == "/out/a.m3u8"
    assert model.AdaptiveDynamicStreamingTask.Input.SubStreamObjectName.startswith("s_")
    # The native document is left whole.
    assert "Renditions" in result["AdaptiveDynamicStreamingTask"]["Output"]  # type: ignore[index]
