"""Template models: both JSON spellings, round trips, and errors that name the bad field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reelflow.errors import SpecError
from reelflow.specs.base import Spec, spec_error
from reelflow.specs.templates import (
    TRUSTED,
    AnimatedGraphicsTemplate,
    AudioTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
    SnapshotTemplate,
    TranscodeTemplate,
    VideoTemplate,
    WatermarkTemplate,
)
from reelflow.specs.units import AudioCodec, VideoCodec
from tests.clips import TINY_PNG_B64

# The Create fields of the official DescribeTranscodeTemplates example for preset 100010,
# with its vendor codec spellings. Describe-only fields (Definition, Type, CreateTime, ...) and
# the out-of-subset ``Mode`` are not part of the template model.
DESCRIBE_100010: dict[str, Any] = {
    "Container": "mp4",
    "Name": "MP4-LD",
    "Comment": "",
    "RemoveVideo": 0,
    "RemoveAudio": 0,
    "VideoTemplate": {
        "Codec": "libx264",
        "Fps": 25,
        "Bitrate": 400,
        "ResolutionAdaptive": "open",
        "Width": 0,
        "Height": 360,
        "Gop": 0,
        "FillType": "stretch",
    },
    "AudioTemplate": {
        "Codec": "libfdk_aac",
        "Bitrate": 64,
        "SampleRate": 44100,
        "AudioChannel": 2,
    },
}

H264 = {"codec": "h264", "bitrate": 1000, "height": 720}
AAC = {"codec": "aac", "bitrate": 128, "sample_rate": 44100}


def spec_error_of(model: type[Spec], data: dict[str, Any]) -> SpecError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return spec_error(caught.value, "template")


class TestParsing:
    def test_describe_example_in_pascal_case(self) -> None:
        template = TranscodeTemplate.model_validate(DESCRIBE_100010)

        assert template.container == "mp4"
        assert template.remove_video is False
        assert template.video_template is not None
        assert template.video_template.codec is VideoCodec.H264
        assert (template.video_template.width, template.video_template.height) == (0, 360)
        assert template.video_template.fill_type == "stretch"
        assert template.audio_template is not None
        assert template.audio_template.codec is AudioCodec.AAC
        assert template.audio_template.sample_rate == 44100

    def test_snake_case_gives_the_same_model(self) -> None:
        snake = TranscodeTemplate.model_validate(
            {
                "container": "mp4",
                "name": "MP4-LD",
                "video_template": {
                    "codec": "h264",
                    "fps": 25,
                    "bitrate": 400,
                    "height": 360,
                    "fill_type": "stretch",
                },
                "audio_template": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
            }
        )

        assert snake == TranscodeTemplate.model_validate(DESCRIBE_100010)

    @pytest.mark.parametrize(
        ("spelling", "expected"),
        [("libx265", VideoCodec.H265), ("HEVC", VideoCodec.H265), ("libsvtav1", VideoCodec.AV1)],
    )
    def test_vendor_video_codec_spellings(self, spelling: str, expected: VideoCodec) -> None:
        template = TranscodeTemplate.model_validate(
            {"container": "mkv", "video_template": {"codec": spelling}, "remove_audio": 1}
        )

        assert template.video_template is not None
        assert template.video_template.codec is expected

    def test_container_is_case_insensitive(self) -> None:
        template = TranscodeTemplate.model_validate({**DESCRIBE_100010, "Container": "MP4"})

        assert template.container == "mp4"

    def test_audio_only_container_drops_video(self) -> None:
        template = TranscodeTemplate.model_validate({"container": "m4a", "audio_template": AAC})

        assert template.remove_video is True
        assert template.needs_video is False
        assert template.format == "m4a"

    def test_hls_files_are_m3u8(self) -> None:
        template = TranscodeTemplate.model_validate(
            {"container": "hls", "video_template": H264, "audio_template": AAC}
        )

        assert template.format == "m3u8"

    def test_image_template_defaults(self) -> None:
        template = SnapshotTemplate.model_validate({})

        assert (template.width, template.height, template.format) == (0, 0, "jpg")
        assert (template.resolution_adaptive, template.fill_type) == ("open", "black")

    def test_to_mps_is_pascal_case(self) -> None:
        mps = TranscodeTemplate.model_validate(DESCRIBE_100010).to_mps()

        assert mps["VideoTemplate"]["Codec"] == "h264"
        assert mps["AudioTemplate"]["SampleRate"] == 44100
        assert "video_template" not in mps


ROUND_TRIP: list[Spec] = [
    TranscodeTemplate.model_validate(DESCRIBE_100010),
    TranscodeTemplate.model_validate({"container": "mp3", "audio_template": {"codec": "mp3"}}),
    WatermarkTemplate.model_validate(
        {
            "Type": "image",
            "XPos": "10%",
            "YPos": "8px",
            "CoordinateOrigin": "BottomRight",
            "ImageTemplate": {"ImageContent": TINY_PNG_B64, "Width": "64px"},
        }
    ),
    WatermarkTemplate.model_validate(
        {"type": "text", "text_template": {"font_color": "0x00FF00", "text_content": "hi"}}
    ),
    SnapshotTemplate.model_validate({"Width": 640, "Format": "png", "FillType": "gauss"}),
    SampleSnapshotTemplate.model_validate({"SampleType": "Time", "SampleInterval": 30}),
    ImageSpriteTemplate.model_validate(
        {
            "SampleType": "Percent",
            "SampleInterval": 5,
            "RowCount": 4,
            "ColumnCount": 5,
            "Width": 160,
            "Height": 128,
            "ResolutionAdaptive": "close",
        }
    ),
    AnimatedGraphicsTemplate.model_validate({"Fps": 10, "Format": "webp", "Quality": 50.5}),
]


@pytest.mark.parametrize("template", ROUND_TRIP, ids=lambda t: type(t).__name__)
def test_round_trip_through_mps_json(template: Spec) -> None:
    assert type(template).model_validate(template.to_mps()) == template


@pytest.mark.parametrize("template", ROUND_TRIP, ids=lambda t: type(t).__name__)
def test_round_trip_through_stored_json(template: Spec) -> None:
    assert type(template).model_validate(template.to_json()) == template


def transcode(video: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "container": "mp4",
        "video_template": {**H264, **(video or {})},
        "audio_template": AAC,
        **fields,
    }


def audio(**fields: Any) -> dict[str, Any]:
    return transcode(audio_template={**AAC, **fields})


def sprite(**fields: Any) -> dict[str, Any]:
    return {"sample_type": "Time", "sample_interval": 10, "row_count": 10, "column_count": 10} | (
        fields
    )


# model, data, the field the error names ("" = the whole template), words of its message
INVALID: list[tuple[str, type[Spec], dict[str, Any], str, str]] = [
    (
        "video codec not allowed in container",
        TranscodeTemplate,
        transcode(container="webm", audio_template={"codec": "opus"}),
        "",
        "video codec h264 cannot go in webm; use one of av1, vp9",
    ),
    (
        "audio codec not allowed in container",
        TranscodeTemplate,
        {"container": "mp3", "audio_template": AAC},
        "",
        "audio codec aac cannot go in mp3; use one of mp3",
    ),
    (
        "unknown video codec",
        TranscodeTemplate,
        transcode({"codec": "h266"}),
        "video_template.codec",
        "'h264'",
    ),
    (
        "video bitrate below range",
        TranscodeTemplate,
        transcode({"bitrate": 100}),
        "video_template.bitrate",
        "must be 0 or 128..100000, got 100",
    ),
    (
        "audio bitrate above range",
        TranscodeTemplate,
        audio(bitrate=320),
        "audio_template.bitrate",
        "must be 0 or 26..256, got 320",
    ),
    (
        "audio bitrate below range",
        TranscodeTemplate,
        audio(bitrate=24),
        "audio_template.bitrate",
        "must be 0 or 26..256, got 24",
    ),
    (
        "width 100",
        TranscodeTemplate,
        transcode({"width": 100}),
        "video_template.width",
        "width/height must be 0 or 128..4096, got 100",
    ),
    (
        "fps above 120",
        TranscodeTemplate,
        transcode({"fps": 121}),
        "video_template.fps",
        "less than or equal to 120",
    ),
    (
        "missing video_template",
        TranscodeTemplate,
        {"container": "mp4", "audio_template": AAC},
        "",
        "video_template is required unless remove_video is set",
    ),
    (
        "missing audio_template",
        TranscodeTemplate,
        {"container": "mp4", "video_template": H264},
        "",
        "audio_template is required unless remove_audio is set",
    ),
    (
        "remove both",
        TranscodeTemplate,
        transcode(remove_video=1, remove_audio=1),
        "",
        "remove_video and remove_audio cannot both be set",
    ),
    (
        "bad sample rate",
        TranscodeTemplate,
        audio(sample_rate=44000),
        "audio_template.sample_rate",
        "sample_rate must be one of 0, 8000",
    ),
    (
        "unknown container",
        TranscodeTemplate,
        transcode(container="avi"),
        "container",
        "'mp4'",
    ),
    (
        "name too long",
        TranscodeTemplate,
        transcode(name="n" * 65),
        "name",
        "at most 64 characters",
    ),
    (
        "unknown field is refused, not ignored",
        TranscodeTemplate,
        transcode({"no_scenecut": 1}),
        "video_template.no_scenecut",
        "Extra inputs are not permitted",
    ),
    (
        "sprite grid over 100 cells",
        ImageSpriteTemplate,
        sprite(row_count=11),
        "",
        "row_count x column_count must be at most 100 cells",
    ),
    (
        "sprite fill type",
        ImageSpriteTemplate,
        sprite(fill_type="gauss"),
        "fill_type",
        "'stretch' or 'black'",
    ),
    (
        "sample interval over 100 percent",
        SampleSnapshotTemplate,
        {"sample_type": "Percent", "sample_interval": 120},
        "",
        "sample_interval is a percentage: at most 100",
    ),
    (
        "snapshot height 64",
        SnapshotTemplate,
        {"height": 64},
        "height",
        "must be 0 or 128..4096, got 64",
    ),
    (
        "animated fps 0",
        AnimatedGraphicsTemplate,
        {"fps": 0},
        "fps",
        "greater than or equal to 1",
    ),
    (
        "animated fps 31",
        AnimatedGraphicsTemplate,
        {"fps": 31},
        "fps",
        "less than or equal to 30",
    ),
    (
        "animated quality 0",
        AnimatedGraphicsTemplate,
        {"fps": 2, "quality": 0},
        "quality",
        "greater than or equal to 1",
    ),
    (
        "image watermark without image_template",
        WatermarkTemplate,
        {"type": "image"},
        "",
        "image_template is required for an image watermark",
    ),
    (
        "text watermark without text_template",
        WatermarkTemplate,
        {"type": "text"},
        "",
        "text_template is required for a text watermark",
    ),
    (
        "bad font color",
        WatermarkTemplate,
        {"type": "text", "text_template": {"font_color": "#FF0000"}},
        "text_template.font_color",
        "should match pattern",
    ),
    (
        "watermark image too narrow",
        WatermarkTemplate,
        {"type": "image", "image_template": {"image_content": TINY_PNG_B64, "width": "4px"}},
        "image_template.width",
        "width in px must be 8..4096, got '4px'",
    ),
    (
        "watermark position not a size",
        WatermarkTemplate,
        {"type": "text", "text_template": {}, "x_pos": "left"},
        "x_pos",
        "x_pos must be N% or Npx, got 'left'",
    ),
]


@pytest.mark.parametrize(
    ("model", "data", "field", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_template_names_the_field(
    model: type[Spec], data: dict[str, Any], field: str, message: str
) -> None:
    error = spec_error_of(model, data)

    assert error.field == field
    assert error.code == "InvalidParameterValue"
    assert message in str(error)
    assert str(error).startswith(f"invalid template: {field or 'template'}: ")


def test_pascal_case_input_gets_errors_in_its_own_spelling() -> None:
    data = {**DESCRIBE_100010, "VideoTemplate": {"Codec": "libx264", "Width": 100}}

    error = spec_error_of(TranscodeTemplate, data)

    assert error.field == "VideoTemplate.Width"


def test_every_bad_field_is_reported() -> None:
    error = spec_error_of(
        TranscodeTemplate,
        transcode({"bitrate": 1, "width": 1}, audio_template={**AAC, "bitrate": 1}),
    )

    assert error.field == "video_template.bitrate"
    for field in ("video_template.bitrate", "video_template.width", "audio_template.bitrate"):
        assert f"{field}: " in str(error)


class TestTrustedContext:
    """Presets and stored templates may use the wider system ranges; user input may not."""

    def test_allows_preset_audio_bitrates(self) -> None:
        for kbps in (24, 320):
            template = AudioTemplate.model_validate(
                {"codec": "mp3", "bitrate": kbps}, context=TRUSTED
            )
            assert template.bitrate == kbps

    def test_allows_small_sprite_cells(self) -> None:
        template = ImageSpriteTemplate.model_validate(sprite(width=142, height=80), context=TRUSTED)

        assert (template.width, template.height) == (142, 80)

    def test_reaches_nested_templates(self) -> None:
        template = TranscodeTemplate.model_validate(audio(bitrate=320), context=TRUSTED)

        assert template.audio_template is not None
        assert template.audio_template.bitrate == 320

    def test_still_has_limits(self) -> None:
        with pytest.raises(ValidationError, match=r"must be 0 or 8\.\.320, got 512"):
            AudioTemplate.model_validate({"codec": "aac", "bitrate": 512}, context=TRUSTED)
        with pytest.raises(ValidationError, match=r"must be 0 or 16\.\.4096, got 8"):
            SnapshotTemplate.model_validate({"width": 8}, context=TRUSTED)

    def test_only_relaxes_ranges(self) -> None:
        with pytest.raises(ValidationError, match="at most 100 cells"):
            ImageSpriteTemplate.model_validate(sprite(row_count=20), context=TRUSTED)


def test_content_adapt_stream_asks_for_a_per_title_transcode() -> None:
    video = {"codec": "h264", "height": 360, "bitrate": 400}
    plain = VideoTemplate.model_validate(video)
    assert (plain.content_adapt_stream, plain.target_vmaf) == (False, None)
    adapt = VideoTemplate.model_validate({**video, "content_adapt_stream": 1})
    assert (adapt.content_adapt_stream, adapt.target_vmaf) == (True, None)
    aimed = VideoTemplate.model_validate(
        {**video, "ContentAdaptStream": 1, "TargetVmaf": 90}  # the compatible spelling
    )
    assert (aimed.content_adapt_stream, aimed.target_vmaf) == (True, 90.0)
    assert VideoTemplate.model_validate(aimed.to_json()) == aimed
    for bad, field, words in (
        ({"content_adapt_stream": 1, "target_vmaf": 29}, "target_vmaf", "greater than"),
        ({"content_adapt_stream": 1, "target_vmaf": 100.5}, "target_vmaf", "less than"),
        ({"target_vmaf": 90}, "", "target_vmaf needs content_adapt_stream"),
        ({"content_adapt_stream": 1, "codec": "vp9"}, "", "h264 and h265 only"),
    ):
        with pytest.raises(ValidationError) as err:
            VideoTemplate.model_validate({**video, **bad})
        [found] = err.value.errors(include_url=False)
        assert ".".join(str(p) for p in found["loc"]) == field
        assert words in found["msg"]
