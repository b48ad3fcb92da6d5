"""Output object names: placeholders, defaults (mps-api.md §8), custom paths, output_dir."""

from __future__ import annotations

from typing import Any

import pytest

from reelflow.errors import SpecError
from reelflow.planner.naming import (
    DEFAULT_PATHS,
    check_custom_path,
    key_folder,
    object_key,
    render,
    split_name,
)
from reelflow.planner.plan import build_plan
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import PresetLookup
from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo
from reelflow.specs.requests import TaskRequest
from reelflow.specs.tasks import NumberFormat
from reelflow.specs.works import (
    AnimatedWork,
    ImageSpriteWork,
    SampleSnapshotWork,
    SnapshotWork,
    TranscodeWork,
    Work,
)

SOURCE_PATH = "/videos/movie.mov"


def media_info(duration: float = 20.0) -> MediaInfo:
    video = VideoStreamInfo(
        index=0, codec="h264", width=1280, height=720, rotation=0, fps=25.0, fps_num=25,
        fps_den=1, pix_fmt="yuv420p", bitrate=2_000_000, duration=duration, interlaced=False,
        frame_count=round(25 * duration),
    )  # fmt: skip
    audio = AudioStreamInfo(
        index=1, codec="aac", sample_rate=48000, channels=2, bitrate=128_000, duration=duration
    )
    return MediaInfo(
        container="mov,mp4,m4a,3gp,3g2,mj2", duration=duration, size=5_000_000,
        bitrate=2_128_000, video=(video,), audio=(audio,),
    )  # fmt: skip


def planned_works(task: dict[str, Any], **request: Any) -> list[Work]:
    """Resolve and plan ``task`` on a 20 s 720p source; every sub-task must be planned."""
    fields: dict[str, Any] = {"output_bucket": "out"} | request
    fields.setdefault("source", {"type": "file", "path": SOURCE_PATH})
    req = TaskRequest.model_validate({**fields, "media_process_task": task})
    specs = resolve_request(req, PresetLookup())
    plan = build_plan(specs, media_info(), req.source.name)
    assert plan.rejected == ()
    return [w for job in plan.jobs for w in job.works]


class TestDefaults:
    def test_default_patterns_follow_the_compatible_api(self) -> None:
        assert DEFAULT_PATHS == {
            "Transcode": "{inputName}_transcode_{definition}.{format}",
            "TranscodeSegment": "{inputName}_transcode_{definition}_{number}.{format}",
            "AnimatedGraphics": "{inputName}_animatedGraphic_{definition}.{format}",
            "SnapshotByTimeOffset": (
                "{inputName}_snapshotByTimeOffset_{definition}_{number}.{format}"
            ),
            "SampleSnapshot": "{inputName}_sampleSnapshot_{definition}_{number}.{format}",
            "ImageSprites": "{inputName}_imageSprite_{definition}_{number}.{format}",
            "ImageSpritesVtt": "{inputName}_imageSprite_{definition}.{format}",
            "AdaptiveDynamicStreaming": (
                "{inputName}_adaptiveDynamicStreaming_{definition}.{format}"
            ),
            "AdaptiveSubStream": (
                "{inputName}_adaptiveDynamicStreaming_{definition}_{subStreamNumber}.{format}"
            ),
            "AdaptiveSegment": (
                "{inputName}_adaptiveDynamicStreaming_{definition}_{subStreamNumber}"
                "_{segmentNumber}.{format}"
            ),
        }

    def test_every_kind_gets_its_default_name(self) -> None:
        works = planned_works(
            {
                "transcode_task_set": [{"definition": 100010}, {"definition": 1010}],
                "animated_graphic_task_set": [{"definition": 20000, "end_time_offset": 2}],
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["1s", "2s"]}
                ],
                "sample_snapshot_task_set": [{"definition": 10}],
                "image_sprite_task_set": [{"definition": 10}],
            }
        )
        transcode, audio, animated, snapshot, sample, sprite = works
        assert isinstance(transcode, TranscodeWork) and isinstance(audio, TranscodeWork)
        assert transcode.key == "movie_transcode_100010.mp4"
        assert audio.key == "movie_transcode_1010.mp3"
        assert isinstance(animated, AnimatedWork)
        assert animated.key == "movie_animatedGraphic_20000.gif"
        assert isinstance(snapshot, SnapshotWork)
        assert snapshot.keys == [
            "movie_snapshotByTimeOffset_10_0.jpg",
            "movie_snapshotByTimeOffset_10_1.jpg",
        ]
        assert isinstance(sample, SampleSnapshotWork)
        assert sample.keys == [f"movie_sampleSnapshot_10_{i}.jpg" for i in range(10)]
        assert isinstance(sprite, ImageSpriteWork)
        assert sprite.keys == ["movie_imageSprite_10_0.jpg"]
        assert sprite.vtt_key == "movie_imageSprite_10.vtt"

    def test_hls_playlist_and_segment_names(self) -> None:
        (work,) = planned_works({"transcode_task_set": [{"definition": 100210}]})
        assert isinstance(work, TranscodeWork)
        assert work.key == "movie_transcode_100210.m3u8"
        assert work.segment_key_pattern == "movie_transcode_100210_%d.ts"

    def test_hls_segments_sit_beside_the_playlist(self) -> None:
        (work,) = planned_works(
            {"transcode_task_set": [{"definition": 100210}]}, output_dir="/hls/"
        )
        assert isinstance(work, TranscodeWork)
        assert work.key == "hls/movie_transcode_100210.m3u8"
        assert work.segment_key_pattern == "hls/movie_transcode_100210_%d.ts"

    def test_hls_names_keep_placeholders_of_the_source_name(self) -> None:
        (work,) = planned_works(
            {"transcode_task_set": [{"definition": 100210}]},
            source={"type": "file", "path": "/videos/a{number}{format}.mov"},
            output_dir="/hls/",
        )
        assert isinstance(work, TranscodeWork)
        assert work.key == "hls/a{number}{format}_transcode_100210.m3u8"
        assert work.segment_key_pattern == "hls/a{number}{format}_transcode_100210_%d.ts"

    def test_sprite_names_keep_placeholders_of_the_source_name(self) -> None:
        (work,) = planned_works(
            {"image_sprite_task_set": [{"definition": 10}]},
            source={"type": "file", "path": "/videos/s{definition}{number}.mov"},
        )
        assert isinstance(work, ImageSpriteWork)
        assert work.keys == ["s{definition}{number}_imageSprite_10_0.jpg"]
        assert work.vtt_key == "s{definition}{number}_imageSprite_10.vtt"


class TestOutputDir:
    def test_output_dir_prefixes_default_names(self) -> None:
        (work,) = planned_works(
            {"transcode_task_set": [{"definition": 100010}]}, output_dir="/renditions/hd/"
        )
        assert isinstance(work, TranscodeWork)
        assert work.key == "renditions/hd/movie_transcode_100010.mp4"

    def test_output_dir_without_trailing_slash_is_a_folder(self) -> None:
        (work,) = planned_works(
            {"transcode_task_set": [{"definition": 100010}]}, output_dir="renditions"
        )
        assert isinstance(work, TranscodeWork)
        assert work.key == "renditions/movie_transcode_100010.mp4"

    def test_bucket_source_defaults_to_the_source_folder(self) -> None:
        (work,) = planned_works(
            {"transcode_task_set": [{"definition": 100010}]},
            source={"type": "bucket", "bucket": "in", "key": "up/2024/clip.mp4"},
            output_bucket="",
        )
        assert isinstance(work, TranscodeWork)
        assert (work.bucket, work.key) == ("in", "up/2024/clip_transcode_100010.mp4")


class TestCustomPaths:
    def test_relative_path_goes_under_output_dir(self) -> None:
        (work,) = planned_works(
            {
                "transcode_task_set": [
                    {
                        "definition": 100010,
                        "output_object_path": "v/{inputName}-{definition}.{format}",
                    }
                ]
            },
            output_dir="/out/",
        )
        assert isinstance(work, TranscodeWork)
        assert work.key == "out/v/movie-100010.mp4"

    def test_absolute_path_ignores_output_dir(self) -> None:
        (work,) = planned_works(
            {
                "transcode_task_set": [
                    {"definition": 100010, "output_object_path": "/abs/{inputName}.{format}"}
                ]
            },
            output_dir="/out/",
        )
        assert isinstance(work, TranscodeWork)
        assert work.key == "abs/movie.mp4"

    def test_number_follows_number_format(self) -> None:
        (work,) = planned_works(
            {
                "snapshot_by_time_offset_task_set": [
                    {
                        "definition": 10,
                        "ext_time_offset_set": ["1s", "2s", "3s"],
                        "output_object_path": "shots/{inputName}_{number}.{format}",
                        "object_number_format": {
                            "initial_value": 5,
                            "increment": 5,
                            "min_length": 3,
                            "place_holder": "x",
                        },
                    }
                ]
            }
        )
        assert isinstance(work, SnapshotWork)
        assert work.keys == ["shots/movie_xx5.jpg", "shots/movie_x10.jpg", "shots/movie_x15.jpg"]

    def test_sprite_vtt_name_is_relative_to_the_sheets(self) -> None:
        (work,) = planned_works(
            {
                "image_sprite_task_set": [
                    {
                        "definition": 10,
                        "output_object_path": "/thumbs/{inputName}_{number}.{format}",
                        "web_vtt_object_name": "{inputName}.{format}",
                    }
                ]
            },
            output_dir="/ignored/",
        )
        assert isinstance(work, ImageSpriteWork)
        assert work.keys == ["thumbs/movie_0.jpg"]
        assert work.vtt_key == "thumbs/movie.vtt"

    @pytest.mark.parametrize(
        ("task_set", "item", "field"),
        [
            ("transcode_task_set", {"definition": 100210, "segment_object_name": "seg_{number}"},
             "segment_object_name"),
            ("transcode_task_set", {"definition": 100210, "segment_object_name": "seg.{format}"},
             "segment_object_name"),  # several segments: {number} is needed
            ("transcode_task_set", {"definition": 100210,
                                    "segment_object_name": "a/seg_{number}.{format}"},
             "segment_object_name"),  # beside the playlist: no folder
            ("image_sprite_task_set", {"definition": 10, "web_vtt_object_name": "index"},
             "web_vtt_object_name"),
            ("transcode_task_set", {"definition": 100010, "output_object_path": "out/a"},
             "output_object_path"),
        ],
    )  # fmt: skip
    def test_one_rule_for_every_custom_name(
        self, task_set: str, item: dict[str, Any], field: str
    ) -> None:
        request = TaskRequest.model_validate(
            {"source": {"type": "file", "path": "/in/movie.mp4"}, "output_bucket": "out",
             "media_process_task": {task_set: [item]}}
        )  # fmt: skip
        with pytest.raises(SpecError) as caught:
            resolve_request(request, PresetLookup())
        assert caught.value.field == f"media_process_task.{task_set}[0].{field}"

    def test_custom_side_names_with_their_extension_are_taken(self) -> None:
        (work,) = planned_works(
            {
                "transcode_task_set": [
                    {"definition": 100210, "segment_object_name": "s_{number}.{format}"}
                ]
            }
        )
        assert isinstance(work, TranscodeWork)
        assert work.segment_key_pattern == "s_%d.ts"

    def test_custom_path_must_end_with_format(self) -> None:
        with pytest.raises(SpecError) as caught:
            check_custom_path("out/{inputName}.mp4", numbered=False)
        assert caught.value.field == "output_object_path"
        assert "{format}" in caught.value.message

    def test_numbered_kinds_need_number(self) -> None:
        with pytest.raises(SpecError) as caught:
            check_custom_path("out/{inputName}.{format}", numbered=True)
        assert caught.value.field == "output_object_path"
        assert "{number}" in caught.value.message

    def test_single_output_needs_no_number(self) -> None:
        check_custom_path("out/{inputName}.{format}", numbered=False)

    def test_error_names_the_given_field(self) -> None:
        field = "media_process_task.transcode_task_set[0].output_object_path"
        with pytest.raises(SpecError) as caught:
            check_custom_path("a.mp4", numbered=False, field=field)
        assert caught.value.field == field
        assert caught.value.code == "InvalidParameterValue"
        assert caught.value.message.startswith(f"{field} 'a.mp4'")


class TestRender:
    def test_all_placeholders(self) -> None:
        name = render(
            "{inputName}.{inputFormat}/{definition}_{number}.{format}",
            input_name="my.movie.mov",
            definition=20,
            fmt="jpg",
            number=3,
        )
        assert name == "my.movie.mov/20_3.jpg"

    def test_number_is_left_alone_without_a_value(self) -> None:
        assert render("{number}.{format}", input_name="a.mp4", definition=1, fmt="ts") == (
            "{number}.ts"
        )

    @pytest.mark.parametrize(
        ("input_name", "expected"),
        [
            ("clip{format}{definition}.mov", "clip{format}{definition}_transcode_10.mp4"),
            ("a{number}.mov", "a{number}_transcode_10.mp4"),
            ("{inputName}{inputFormat}.mov", "{inputName}{inputFormat}_transcode_10.mp4"),
        ],
    )
    def test_placeholders_in_the_source_name_stay_literal(
        self, input_name: str, expected: str
    ) -> None:
        name = render(
            "{inputName}_transcode_{definition}.{format}",
            input_name=input_name,
            definition=10,
            fmt="mp4",
            number=3,
        )
        assert name == expected

    def test_numbered_name_keeps_source_placeholders(self) -> None:
        name = render(
            "{inputName}_{number}.{format}",
            input_name="a{number}.mov",
            definition=1,
            fmt="jpg",
            number=3,
        )
        assert name == "a{number}_3.jpg"

    def test_number_may_be_a_ready_string(self) -> None:
        fmt = NumberFormat(min_length=4)
        name = render(
            "{inputName}_{number}.{format}",
            input_name="a{number}.mov",
            definition=1,
            fmt="ts",
            number="%d",
            number_format=fmt,
        )
        assert name == "a{number}_%d.ts"

    def test_unknown_braces_are_left_alone(self) -> None:
        assert render("{other}_{format}", input_name="a", definition=1, fmt="ts") == "{other}_ts"

    @pytest.mark.parametrize(
        ("key", "folder"),
        [("a/b/c.mp4", "a/b/"), ("c.mp4", ""), ("a/", "a/"), ("", "")],
    )
    def test_key_folder(self, key: str, folder: str) -> None:
        assert key_folder(key) == folder

    def test_number_format(self) -> None:
        fmt = NumberFormat(initial_value=1, increment=2, min_length=4)
        name = render("{number}", input_name="a", definition=1, fmt="", number=3, number_format=fmt)
        assert name == "0007"

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("a.b.mp4", ("a.b", "mp4")),
            ("dir/clip.mov", ("clip", "mov")),
            ("noext", ("noext", "")),
            (".hidden", (".hidden", "")),
        ],
    )
    def test_split_name(self, name: str, expected: tuple[str, str]) -> None:
        assert split_name(name) == expected

    @pytest.mark.parametrize(
        ("output_dir", "path", "key"),
        [
            ("out/", "a.mp4", "out/a.mp4"),
            ("", "a.mp4", "a.mp4"),
            ("/out/", "a.mp4", "out/a.mp4"),
            ("out/", "/abs/a.mp4", "abs/a.mp4"),
        ],
    )
    def test_object_key(self, output_dir: str, path: str, key: str) -> None:
        assert object_key(output_dir, path) == key
