"""Task inputs and task requests: parsing, their rules, and output-location defaults."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reelflow.errors import SpecError
from reelflow.specs.base import Spec, spec_error
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.tasks import (
    AnimatedGraphicTaskInput,
    MediaProcessTask,
    NumberFormat,
    SnapshotByTimeOffsetTaskInput,
    TranscodeTaskInput,
    WatermarkInput,
    parse_time_offset,
)

# ``MediaProcessTaskInput`` as a ProcessMedia caller sends it.
MPS_TASK: dict[str, Any] = {
    "TranscodeTaskSet": [
        {
            "Definition": 100010,
            "StartTimeOffset": 1.5,
            "WatermarkSet": [{"Definition": 501, "StartTimeOffset": 0}],
            "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": "out"}},
            "OutputObjectPath": "hd/{inputName}.{format}",
            "ObjectNumberFormat": {"InitialValue": 1, "MinLength": 3},
        }
    ],
    "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 4}],
    "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s", "50%"]}],
    "SampleSnapshotTaskSet": [{"Definition": 10}],
    "ImageSpriteTaskSet": [{"Definition": 10, "WebVttObjectName": "index.{format}"}],
}

ONE_TRANSCODE = {"transcode_task_set": [{"definition": 100010}]}


def spec_error_of(model: type[Spec], data: dict[str, Any]) -> SpecError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return spec_error(caught.value, "task")


class TestMediaProcessTask:
    def test_parses_pascal_case(self) -> None:
        task = MediaProcessTask.model_validate(MPS_TASK)

        assert task.count() == 5
        transcode = task.transcode_task_set[0]
        assert transcode.definition == 100010
        assert transcode.output_storage is not None
        assert transcode.output_storage.bucket == "out"
        assert transcode.object_number_format == NumberFormat(initial_value=1, min_length=3)
        assert transcode.watermark_set[0].definition == 501
        assert task.image_sprite_task_set[0].web_vtt_object_name == "index.{format}"

    def test_round_trip_through_mps_json(self) -> None:
        task = MediaProcessTask.model_validate(MPS_TASK)

        assert MediaProcessTask.model_validate(task.to_mps()) == task
        assert MediaProcessTask.model_validate(task.to_json()) == task

    def test_needs_a_sub_task(self) -> None:
        error = spec_error_of(MediaProcessTask, {"TranscodeTaskSet": []})

        assert "needs at least one sub-task" in str(error)

    def test_at_most_100_sub_tasks(self) -> None:
        error = spec_error_of(MediaProcessTask, {"transcode_task_set": [{"definition": 10}] * 101})

        assert "at most 100 sub-tasks" in str(error)


class TestTranscodeTaskInput:
    def test_raw_parameter_with_definition_0(self) -> None:
        task = TranscodeTaskInput.model_validate(
            {
                "Definition": 0,
                "RawParameter": {
                    "Container": "mp4",
                    "VideoTemplate": {"Codec": "libx264", "Height": 480},
                    "AudioTemplate": {"Codec": "libfdk_aac"},
                },
            }
        )

        assert task.raw_parameter is not None
        assert task.raw_parameter.container == "mp4"

    def test_definition_0_needs_raw_parameter(self) -> None:
        error = spec_error_of(TranscodeTaskInput, {"definition": 0})

        assert "raw_parameter is required when definition is 0" in str(error)

    def test_raw_parameter_errors_name_the_nested_field(self) -> None:
        error = spec_error_of(
            TranscodeTaskInput,
            {
                "definition": 0,
                "raw_parameter": {
                    "container": "mp4",
                    "video_template": {"codec": "h264", "width": 100},
                    "audio_template": {"codec": "aac"},
                },
            },
        )

        assert error.field == "raw_parameter.video_template.width"

    def test_at_most_10_watermarks(self) -> None:
        error = spec_error_of(
            TranscodeTaskInput, {"definition": 10, "watermark_set": [{"definition": 1}] * 11}
        )

        assert error.field == "watermark_set"
        assert "at most 10 items" in str(error)

    def test_raw_watermark_needs_raw_parameter(self) -> None:
        error = spec_error_of(WatermarkInput, {"definition": 0})

        assert "raw_parameter is required when definition is 0" in str(error)


class TestAnimatedGraphicTaskInput:
    @pytest.mark.parametrize(("start", "end"), [(5.0, 3.0), (4.0, 4.0)])
    def test_end_before_start(self, start: float, end: float) -> None:
        error = spec_error_of(
            AnimatedGraphicTaskInput,
            {"definition": 20000, "start_time_offset": start, "end_time_offset": end},
        )

        assert error.field == ""
        assert "end_time_offset must be after start_time_offset" in str(error)

    def test_end_0_means_to_the_end(self) -> None:
        task = AnimatedGraphicTaskInput.model_validate(
            {"Definition": 20000, "StartTimeOffset": 3, "EndTimeOffset": 0}
        )

        assert (task.start_time_offset, task.end_time_offset) == (3.0, 0.0)

    def test_negative_start(self) -> None:
        error = spec_error_of(
            AnimatedGraphicTaskInput, {"definition": 20000, "start_time_offset": -1}
        )

        assert error.field == "start_time_offset"


class TestTimeOffsets:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [("3.5s", (3.5, False)), ("10%", (10.0, True)), ("7", (7.0, False)), (" 0s ", (0, False))],
    )
    def test_parse(self, text: str, expected: tuple[float, bool]) -> None:
        assert parse_time_offset(text) == expected

    def test_offsets_legacy_seconds_first(self) -> None:
        task = SnapshotByTimeOffsetTaskInput.model_validate(
            {"Definition": 10, "ExtTimeOffsetSet": ["10%", "2s"], "TimeOffsetSet": [1.5]}
        )

        assert task.offsets() == [(1.5, False), (10.0, True), (2.0, False)]

    @pytest.mark.parametrize(
        ("offset", "message"),
        [
            ("abc", "time offset must look like '3.5s' or '10%', got 'abc'"),
            ("-1s", "time offset must look like '3.5s' or '10%', got '-1s'"),
            ("3m", "time offset must look like '3.5s' or '10%', got '3m'"),
            ("120%", "a percent time offset must be at most 100%, got '120%'"),
        ],
    )
    def test_bad_offset(self, offset: str, message: str) -> None:
        error = spec_error_of(
            SnapshotByTimeOffsetTaskInput,
            {"definition": 10, "ext_time_offset_set": ["1s", offset]},
        )

        assert error.field == "ext_time_offset_set"
        assert message in str(error)

    def test_needs_a_time_offset(self) -> None:
        error = spec_error_of(SnapshotByTimeOffsetTaskInput, {"definition": 10})

        assert "give at least one time offset" in str(error)

    def test_negative_legacy_offset(self) -> None:
        error = spec_error_of(
            SnapshotByTimeOffsetTaskInput, {"definition": 10, "time_offset_set": [-2]}
        )

        assert error.field == "time_offset_set.0"


class TestNumberFormat:
    def test_defaults(self) -> None:
        number = NumberFormat()

        assert [number.format(i) for i in range(3)] == ["0", "1", "2"]

    def test_start_step_and_padding(self) -> None:
        number = NumberFormat.model_validate(
            {"InitialValue": 1, "Increment": 2, "MinLength": 3, "PlaceHolder": "x"}
        )

        assert [number.format(i) for i in range(3)] == ["xx1", "xx3", "xx5"]

    def test_longer_numbers_are_not_cut(self) -> None:
        assert NumberFormat(initial_value=12345, min_length=3).format(0) == "12345"

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"increment": 0}, "increment"),
            ({"min_length": 0}, "min_length"),
            ({"place_holder": "00"}, "place_holder"),
            ({"initial_value": -1}, "initial_value"),
        ],
    )
    def test_invalid(self, data: dict[str, Any], field: str) -> None:
        assert spec_error_of(NumberFormat, data).field == field


def request(source: dict[str, Any], **fields: Any) -> TaskRequest:
    return TaskRequest.model_validate(
        {"source": source, "media_process_task": ONE_TRANSCODE, **fields}
    )


BUCKET_SOURCE = {"type": "bucket", "bucket": "in", "key": "up/2024/a.mov"}
URL_SOURCE = {"type": "url", "url": "https://cdn.example.com/v/clip.mp4?sig=1"}


class TestTaskRequest:
    def test_url_source_needs_output_bucket(self) -> None:
        error = spec_error_of(
            TaskRequest, {"source": URL_SOURCE, "media_process_task": ONE_TRANSCODE}
        )

        assert "output_bucket is required when the source is not a bucket object" in str(error)

    def test_file_source_needs_output_bucket(self) -> None:
        error = spec_error_of(
            TaskRequest,
            {"source": {"type": "file", "path": "/tmp/a.mp4"}, "media_process_task": ONE_TRANSCODE},
        )

        assert "output_bucket is required" in str(error)

    def test_url_source_with_output_bucket(self) -> None:
        req = request(URL_SOURCE, output_bucket="out")

        assert req.resolved_output_bucket() == "out"
        assert req.resolved_output_dir() == ""
        assert req.source.name == "clip.mp4"

    def test_output_dir_gets_trailing_slash(self) -> None:
        assert request(BUCKET_SOURCE, output_dir="/out/hd").output_dir == "/out/hd/"
        assert request(BUCKET_SOURCE, output_dir="/out/").output_dir == "/out/"

    def test_defaults_to_the_source_location(self) -> None:
        req = request(BUCKET_SOURCE)

        assert req.resolved_output_bucket() == "in"
        assert req.resolved_output_dir() == "up/2024/"

    def test_source_at_bucket_root(self) -> None:
        req = request({"type": "bucket", "bucket": "in", "key": "/a.mov"})

        assert req.resolved_output_dir() == ""
        assert req.source.name == "a.mov"

    def test_explicit_output_wins(self) -> None:
        req = request(BUCKET_SOURCE, output_bucket="out", output_dir="/results/")

        assert req.resolved_output_bucket() == "out"
        assert req.resolved_output_dir() == "results/"

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"priority": 11}, "priority"),
            ({"priority": -11}, "priority"),
            ({"session_id": "s" * 51}, "session_id"),
            ({"session_context": "c" * 1001}, "session_context"),
        ],
    )
    def test_limits(self, fields: dict[str, Any], field: str) -> None:
        data = {"source": BUCKET_SOURCE, "media_process_task": ONE_TRANSCODE, **fields}

        assert spec_error_of(TaskRequest, data).field == field

    def test_bad_task_names_its_path(self) -> None:
        data = {
            "source": BUCKET_SOURCE,
            "media_process_task": {"transcode_task_set": [{"definition": -1}]},
        }

        assert spec_error_of(TaskRequest, data).field == (
            "media_process_task.transcode_task_set.0.definition"
        )


class TestTaskSource:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"type": "bucket", "bucket": "in"}, "a bucket source needs bucket and key"),
            ({"type": "url", "url": "ftp://host/a.mp4"}, "needs an http:// or https:// url"),
            ({"type": "file"}, "a file source needs a path"),
        ],
    )
    def test_invalid(self, data: dict[str, Any], message: str) -> None:
        assert message in str(spec_error_of(TaskSource, data))
