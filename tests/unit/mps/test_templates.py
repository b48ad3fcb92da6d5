"""Template actions: create, modify (partial), delete, describe with presets; the preset and
not-found codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tencentcloud.mps.v20190612 import models

from reelflow.specs.templates import TemplateKind, TranscodeTemplate, VideoTemplate
from reelflow.wiring.server import ServerServices
from tests.clips import TINY_PNG_B64
from tests.unit.mps.conftest import Call, error_code

PNG = TINY_PNG_B64  # 1x1 transparent

TRANSCODE: dict[str, Any] = {
    "Container": "mp4",
    "Name": "small",
    "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "Height": 180},
    "AudioTemplate": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100},
}
LADDER: dict[str, Any] = {
    "Format": "HLS",
    "StreamInfos": [
        {
            "Video": {"Codec": "h264", "Fps": 25, "Bitrate": 300, "Height": 180},
            "Audio": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
        }
    ],
}
CREATE: dict[str, dict[str, Any]] = {
    "Transcode": TRANSCODE,
    "Watermark": {"Type": "image", "XPos": "10px", "ImageTemplate": {"ImageContent": PNG}},
    "SnapshotByTimeOffset": {"Width": 320, "Format": "png"},
    "SampleSnapshot": {"SampleType": "Percent", "SampleInterval": 25},
    "ImageSprite": {"SampleType": "Time", "SampleInterval": 2, "RowCount": 3, "ColumnCount": 3},
    "AnimatedGraphics": {"Fps": 5, "Format": "webp"},
    "AdaptiveDynamicStreaming": LADDER,
}
PRESETS = {
    "Transcode": 100010,
    "SnapshotByTimeOffset": 10,
    "SampleSnapshot": 10,
    "ImageSprite": 10,
    "AnimatedGraphics": 20000,
    "AdaptiveDynamicStreaming": 10,
}


def describe_one(call: Call, kind: str, definition: int) -> dict[str, Any]:
    answer = call(f"Describe{kind}Templates", {"Definitions": [definition]})
    assert answer["TotalCount"] == 1, answer
    found: dict[str, Any] = answer[f"{kind}TemplateSet"][0]
    return found


@pytest.mark.parametrize("kind", list(CREATE))
def test_create_describe_modify_delete(call: Call, kind: str) -> None:
    created = call(f"Create{kind}Template", CREATE[kind])
    definition = created["Definition"]
    assert isinstance(definition, int)
    detail = describe_one(call, kind, definition)
    assert detail["CreateTime"].endswith("Z")
    if kind != "Watermark":
        assert detail["Type"] == "Custom"
    assert "Error" not in call(f"Modify{kind}Template", {"Definition": definition, "Name": "new"})
    assert describe_one(call, kind, definition)["Name"] == "new"
    assert "Error" not in call(f"Delete{kind}Template", {"Definition": definition})
    assert call(f"Describe{kind}Templates", {"Definitions": [definition]})["TotalCount"] == 0
    missing = call(f"Modify{kind}Template", {"Definition": definition, "Name": "x"})
    assert error_code(missing) == "ResourceNotFound.TemplateNotExist"
    missing = call(f"Delete{kind}Template", {"Definition": definition})
    assert error_code(missing) == "ResourceNotFound.TemplateNotExist"


def test_transcode_detail_shape(call: Call) -> None:
    definition = call("CreateTranscodeTemplate", TRANSCODE)["Definition"]
    detail = describe_one(call, "Transcode", definition)
    assert detail["Definition"] == str(definition)  # a String in this one structure
    assert detail["ContainerType"] == "Video"
    assert (detail["RemoveVideo"], detail["RemoveAudio"]) == (0, 0)
    assert detail["VideoTemplate"]["Codec"] == "h264"  # both spellings accepted
    assert detail["AudioTemplate"]["SampleRate"] == 44100


def test_modify_is_partial_and_nested(call: Call) -> None:
    definition = call("CreateTranscodeTemplate", TRANSCODE)["Definition"]
    change = {"Definition": definition, "VideoTemplate": {"Bitrate": "500"}, "Comment": "c"}
    assert "Error" not in call("ModifyTranscodeTemplate", change)
    detail = describe_one(call, "Transcode", definition)
    assert detail["VideoTemplate"]["Bitrate"] == 500
    assert detail["VideoTemplate"]["Height"] == 180  # kept
    assert (detail["Name"], detail["Comment"]) == ("small", "c")
    bad = call("ModifyTranscodeTemplate", {"Definition": definition, "Container": "webm"})
    assert error_code(bad).startswith("InvalidParameterValue")


def test_modify_audio_only_to_video(call: Call) -> None:
    audio = {
        "Container": "mp3",
        "AudioTemplate": {"Codec": "mp3", "Bitrate": 128, "SampleRate": 44100},
    }
    definition = call("CreateTranscodeTemplate", audio)["Definition"]
    assert describe_one(call, "Transcode", definition)["ContainerType"] == "PureAudio"
    change = {
        "Definition": definition,
        "Container": "mp4",
        "VideoTemplate": TRANSCODE["VideoTemplate"],
        "AudioTemplate": {"Codec": "aac"},
    }
    assert "Error" not in call("ModifyTranscodeTemplate", change)
    assert describe_one(call, "Transcode", definition)["ContainerType"] == "Video"


@pytest.mark.parametrize(("kind", "definition"), list(PRESETS.items()))
def test_presets_are_described_and_read_only(call: Call, kind: str, definition: int) -> None:
    detail = describe_one(call, kind, definition)
    assert detail["Type"] == "Preset"
    modify = call(f"Modify{kind}Template", {"Definition": definition, "Name": "x"})
    assert error_code(modify) == "InvalidParameterValue.ModifyDefaultTemplate"
    delete = call(f"Delete{kind}Template", {"Definition": definition})
    assert error_code(delete) == "InvalidParameterValue.DeleteDefaultTemplate"


def test_describe_filters_and_paging(call: Call) -> None:
    custom = call("CreateTranscodeTemplate", TRANSCODE)["Definition"]
    everything = call("DescribeTranscodeTemplates", {"Limit": 100})
    total = everything["TotalCount"]
    assert total == len(everything["TranscodeTemplateSet"]) > 10
    assert str(custom) in [t["Definition"] for t in everything["TranscodeTemplateSet"]]
    assert len(call("DescribeTranscodeTemplates", {})["TranscodeTemplateSet"]) == 10  # default
    customs = call("DescribeTranscodeTemplates", {"Type": "Custom"})
    assert [t["Definition"] for t in customs["TranscodeTemplateSet"]] == [str(custom)]
    presets = call("DescribeTranscodeTemplates", {"Type": "Preset", "Limit": 100})
    assert presets["TotalCount"] == total - 1
    audio = call("DescribeTranscodeTemplates", {"ContainerType": "PureAudio", "Limit": "100"})
    assert audio["TotalCount"] >= 7
    assert {t["ContainerType"] for t in audio["TranscodeTemplateSet"]} == {"PureAudio"}
    video = call("DescribeTranscodeTemplates", {"ContainerType": "Video", "Offset": 1, "Limit": 2})
    assert video["TotalCount"] == total - audio["TotalCount"]
    assert len(video["TranscodeTemplateSet"]) == 2
    tehd = call("DescribeTranscodeTemplates", {"TranscodeType": "TEHD"})
    assert tehd["TotalCount"] == 0
    named = call("DescribeTranscodeTemplates", {"Name": "small"})
    assert named["TotalCount"] == 1
    assert error_code(call("DescribeTranscodeTemplates", {"Type": "Mine"})) == (
        "InvalidParameterValue.Type"
    )
    assert error_code(call("DescribeTranscodeTemplates", {"Limit": 101})) == (
        "InvalidParameterValue.Limit"
    )


def test_watermark_describe_by_type(call: Call) -> None:
    image = call("CreateWatermarkTemplate", CREATE["Watermark"])
    assert image["ImageUrl"] == ""
    text = {
        "Type": "text",
        "TextTemplate": {
            "FontType": "arial.ttf",
            "FontSize": "20px",
            "FontColor": "0xFF0000",
            "FontAlpha": 0.5,
        },
    }
    call("CreateWatermarkTemplate", text)
    both = call("DescribeWatermarkTemplates", {})
    assert both["TotalCount"] == 2
    images = call("DescribeWatermarkTemplates", {"Type": "image"})["WatermarkTemplateSet"]
    assert [w["Type"] for w in images] == ["image"]
    assert set(images[0]["ImageTemplate"]) == {"ImageUrl", "Width", "Height", "RepeatType"}
    assert images[0]["XPos"] == "10px"


@pytest.mark.parametrize(
    ("kind", "params", "code", "field"),
    [
        ("Transcode", {}, "MissingParameter", "Container"),
        ("Transcode", {"Container": "mp4"}, "MissingParameter", "VideoTemplate"),
        (
            "Transcode",
            {**TRANSCODE, "VideoTemplate": {"Codec": "h264", "Fps": 25}},
            "MissingParameter",
            "VideoTemplate.Bitrate",
        ),
        ("Transcode", {**TRANSCODE, "Container": "avi"}, "InvalidParameterValue.Container", ""),
        (
            "Transcode",
            {**TRANSCODE, "TEHDConfig": {"Type": "TEHD-100"}},
            "UnsupportedOperation",
            "TEHDConfig",
        ),
        ("Transcode", {**TRANSCODE, "TEHDConfig": {"Type": ""}, "StdExtInfo": ""}, "", ""),
        ("Watermark", {}, "MissingParameter", "Type"),
        ("Watermark", {"Type": "image"}, "MissingParameter", "ImageTemplate"),
        (
            "Watermark",
            {"Type": "svg", "SvgTemplate": {"Width": "10W%"}},
            "UnsupportedOperation",
            "",
        ),
        (
            "Watermark",
            {"Type": "text", "TextTemplate": {"FontType": "arial.ttf"}},
            "MissingParameter",
            "TextTemplate.FontSize",
        ),
        ("SampleSnapshot", {"SampleType": "Percent"}, "MissingParameter", "SampleInterval"),
        (
            "SampleSnapshot",
            {"SampleType": "Frames", "SampleInterval": 2},
            "InvalidParameterValue.SampleType",
            "",
        ),
        (
            "ImageSprite",
            {"SampleType": "Time", "SampleInterval": 2, "RowCount": 3},
            "MissingParameter",
            "ColumnCount",
        ),
        ("AnimatedGraphics", {}, "MissingParameter", "Fps"),
        ("AnimatedGraphics", {"Fps": 60}, "InvalidParameterValue.Fps", ""),
        ("SnapshotByTimeOffset", {"Width": 50}, "InvalidParameterValue.Width", ""),
        ("AdaptiveDynamicStreaming", {"Format": "HLS"}, "MissingParameter", "StreamInfos"),
        (
            "AdaptiveDynamicStreaming",
            {**LADDER, "Format": "MPEG-DASH", "SegmentType": "ts-byterange"},
            "InvalidParameterValue.SegmentType",
            "SegmentType",
        ),
        (
            "AdaptiveDynamicStreaming",
            {"Format": "HLS", "StreamInfos": [{"Video": {"Codec": "h264"}}]},
            "MissingParameter",
            "StreamInfos.0.Video.Fps",
        ),
    ],
)
def test_create_errors(
    call: Call, kind: str, params: dict[str, Any], code: str, field: str
) -> None:
    answer = call(f"Create{kind}Template", params)
    if not code:
        assert "Definition" in answer, answer
        return
    assert error_code(answer) == code
    if code == "MissingParameter":
        assert answer["Error"]["Message"] == f"{field} is required"
    elif field:
        assert answer["Error"]["Message"].startswith(field)


def test_quota(call: Call) -> None:
    for _ in range(16):
        assert "Definition" in call("CreateAnimatedGraphicsTemplate", {"Fps": 10})
    answer = call("CreateAnimatedGraphicsTemplate", {"Fps": 10})
    assert error_code(answer) == "LimitExceeded.TooMuchTemplate"


def test_template_in_use_cannot_be_deleted(call: Call) -> None:
    definition = call("CreateTranscodeTemplate", TRANSCODE)["Definition"]
    workflow = {
        "WorkflowName": "uses",
        "Trigger": {
            "Type": "CosFileUpload",
            "CosFileUploadTrigger": {"Bucket": "media", "Region": "r"},
        },
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": definition}]},
    }
    assert "WorkflowId" in call("CreateWorkflow", workflow)
    answer = call("DeleteTranscodeTemplate", {"Definition": definition})
    assert error_code(answer) == "FailedOperation.TemplateInUse"


def test_ladder_modify_describe_and_filter(call: Call) -> None:
    definition = call("CreateAdaptiveDynamicStreamingTemplate", LADDER)["Definition"]
    detail = describe_one(call, "AdaptiveDynamicStreaming", definition)
    assert (detail["Format"], detail["SegmentType"], detail["PureAudio"]) == (
        "HLS",
        "ts-segment",
        0,
    )
    assert detail["StreamInfos"][0]["Video"]["Height"] == 180
    change = {"Definition": definition, "Format": "MPEG-DASH", "Comment": "dash"}
    assert "Error" not in call("ModifyAdaptiveDynamicStreamingTemplate", change)
    detail = describe_one(call, "AdaptiveDynamicStreaming", definition)
    # The new format's default segment type, since the old one had its format's default.
    assert (detail["Format"], detail["SegmentType"]) == ("MPEG-DASH", "mp4-segment")
    assert detail["Comment"] == "dash"
    bad = {"Definition": definition, "SegmentType": "ts-segment"}
    answer = call("ModifyAdaptiveDynamicStreamingTemplate", bad)
    assert error_code(answer) == "InvalidParameterValue.SegmentType"

    audio = {
        "Format": "HLS",
        "PureAudio": 1,
        "StreamInfos": [LADDER["StreamInfos"][0] | {"Video": None}],
    }
    pure = call("CreateAdaptiveDynamicStreamingTemplate", audio)["Definition"]
    found = call("DescribeAdaptiveDynamicStreamingTemplates", {"PureAudio": 1})
    assert [t["Definition"] for t in found["AdaptiveDynamicStreamingTemplateSet"]] == [pure]
    found = call("DescribeAdaptiveDynamicStreamingTemplates", {"PureAudio": 0, "Type": "Custom"})
    assert [t["Definition"] for t in found["AdaptiveDynamicStreamingTemplateSet"]] == [definition]
    presets = call("DescribeAdaptiveDynamicStreamingTemplates", {"Type": "Preset"})
    assert [t["Definition"] for t in presets["AdaptiveDynamicStreamingTemplateSet"]] == [10, 20]


def test_transcode_content_adapt_stream(call: Call, runtime: ServerServices) -> None:
    """``ContentAdaptStream`` 1 (issue 18): created through Create, turned on by Modify as
    the SDK's ``VideoTemplateInfoForUpdate`` sends it; a Describe answer leaves it out (the
    SDK's ``VideoTemplateInfo`` has no such member) and the stored template keeps it."""

    def stored(definition: int) -> VideoTemplate:
        record = runtime.templates.get(runtime.admin_account.id, TemplateKind.TRANSCODE, definition)
        assert isinstance(record.template, TranscodeTemplate)
        video = record.template.video_template
        assert video is not None
        return video

    adapt = {**TRANSCODE["VideoTemplate"], "ContentAdaptStream": 1, "TargetVmaf": 90}
    created = call("CreateTranscodeTemplate", {**TRANSCODE, "VideoTemplate": adapt})
    assert (stored(created["Definition"]).content_adapt_stream,
            stored(created["Definition"]).target_vmaf) == (True, 90.0)  # fmt: skip
    plain = call("CreateTranscodeTemplate", TRANSCODE)["Definition"]
    assert not stored(plain).content_adapt_stream
    update = models.ModifyTranscodeTemplateRequest()
    update.from_json_string(
        json.dumps({"Definition": plain, "VideoTemplate": {"ContentAdaptStream": 1}})
    )
    assert "Error" not in call("ModifyTranscodeTemplate", json.loads(update.to_json_string()))
    assert stored(plain).content_adapt_stream and stored(plain).target_vmaf is None
    detail = describe_one(call, "Transcode", plain)
    assert "ContentAdaptStream" not in detail["VideoTemplate"]
    assert "TargetVmaf" not in detail["VideoTemplate"]
    # Modify keeps it across an unrelated change.
    call("ModifyTranscodeTemplate", {"Definition": plain, "VideoTemplate": {"Bitrate": 500}})
    assert stored(plain).content_adapt_stream


@pytest.mark.parametrize(
    ("video", "code", "field"),
    [
        ({"ContentAdaptStream": 1, "TargetVmaf": 20}, "InvalidParameterValue.TargetVmaf",
         "VideoTemplate.TargetVmaf"),
        ({"ContentAdaptStream": 1, "TargetVmaf": 101}, "InvalidParameterValue.TargetVmaf",
         "VideoTemplate.TargetVmaf"),
        ({"TargetVmaf": 90}, "InvalidParameterValue.VideoTemplate", "VideoTemplate"),
        ({"ContentAdaptStream": 1, "Codec": "vp9"}, "InvalidParameterValue.VideoTemplate",
         "VideoTemplate"),
    ],
)  # fmt: skip
def test_transcode_content_adapt_stream_errors(
    call: Call, video: dict[str, Any], code: str, field: str
) -> None:
    params = {**TRANSCODE, "Container": "mkv",
              "VideoTemplate": {**TRANSCODE["VideoTemplate"], **video}}  # fmt: skip
    answer = call("CreateTranscodeTemplate", params)
    assert error_code(answer) == code, answer
    assert answer["Error"]["Message"].startswith(field), answer
