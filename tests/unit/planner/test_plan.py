"""Request resolution and planning: templates, fusion, time points, counts, rejections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reelflow.config import Settings
from reelflow.engine.chunking import chunk_groups
from reelflow.errors import SpecError
from reelflow.planner.base import Plan, PlannedJob
from reelflow.planner.plan import DefaultPlanner, build_plan
from reelflow.planner.resolve import resolve_request
from reelflow.presets.default_workflow import default_media_process_task
from reelflow.presets.lookup import ChainLookup, MemoryLookup, PresetLookup, TemplateLookup
from reelflow.specs.jobs import JobKind, JobPayload
from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.subtasks import SubTaskKind, SubTaskSpec
from reelflow.specs.templates import ImageSpriteTemplate, TemplateKind
from reelflow.specs.works import (
    AnimatedWork,
    ImageSpriteWork,
    SampleSnapshotWork,
    SnapshotWork,
    TranscodeWork,
    Work,
    parse_works,
)

NO_VIDEO = "UnsupportedOperation.NoVideoStream"
SPRITE_2X3 = 1_000_001  # custom sprite: 2 rows x 3 columns, one cell per second


def media_info(
    *,
    duration: float = 20.0,
    width: int = 1920,
    height: int = 1080,
    rotation: int = 0,
    fps: float = 25.0,
    video: bool = True,
    audio: bool = True,
    interlaced: bool = False,
    vfr: bool = False,
) -> MediaInfo:
    videos = ()
    if video:
        videos = (
            VideoStreamInfo(
                index=0, codec="h264", width=width, height=height, rotation=rotation, fps=fps,
                fps_num=round(fps), fps_den=1, pix_fmt="yuv420p", bitrate=2_000_000,
                duration=duration, interlaced=interlaced, frame_count=round(fps * duration),
                is_vfr=vfr,
            ),
        )  # fmt: skip
    audios = ()
    if audio:
        audios = (
            AudioStreamInfo(
                index=len(videos), codec="aac", sample_rate=48000, channels=2,
                bitrate=128_000, duration=duration,
            ),
        )  # fmt: skip
    return MediaInfo(
        container="mov,mp4,m4a,3gp,3g2,mj2", duration=duration, size=5_000_000,
        bitrate=2_128_000, video=videos, audio=audios,
    )  # fmt: skip


def lookup() -> TemplateLookup:
    custom = MemoryLookup()
    custom.add(
        TemplateKind.IMAGE_SPRITE,
        SPRITE_2X3,
        ImageSpriteTemplate(
            width=256, height=144, resolution_adaptive="close", sample_type="Time",
            sample_interval=1, row_count=2, column_count=3, fill_type="stretch",
        ),
    )  # fmt: skip
    return ChainLookup(PresetLookup(), custom)


def resolve(task: dict[str, Any], **request: Any) -> list[SubTaskSpec]:
    fields: dict[str, Any] = {"output_bucket": "out"} | request
    fields.setdefault("source", {"type": "file", "path": "/in/movie.mp4"})
    return resolve_request(
        TaskRequest.model_validate({**fields, "media_process_task": task}), lookup()
    )


def plan(task: dict[str, Any], info: MediaInfo | None = None, *, fuse: bool = True) -> Plan:
    return build_plan(resolve(task), info or media_info(), "movie.mp4", fuse=fuse)


def works_of(result: Plan) -> list[Work]:
    return [w for job in result.jobs for w in job.works]


def only_work(task: dict[str, Any], info: MediaInfo | None = None) -> Work:
    result = plan(task, info)
    assert result.rejected == ()
    (work,) = works_of(result)
    return work


def codes(result: Plan) -> dict[int, str]:
    return {r.index: r.code for r in result.rejected}


FULL_TASK: dict[str, Any] = {
    "transcode_task_set": [{"definition": 100010}, {"definition": 100020}],
    "animated_graphic_task_set": [{"definition": 20000, "end_time_offset": 3}],
    "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["50%"]}],
    "sample_snapshot_task_set": [{"definition": 10}],
    "image_sprite_task_set": [{"definition": 10}],
}


class TestResolve:
    def test_sub_tasks_are_indexed_in_kind_order(self) -> None:
        specs = resolve(FULL_TASK)
        assert [(s.index, s.kind, s.definition) for s in specs] == [
            (0, SubTaskKind.TRANSCODE, 100010),
            (1, SubTaskKind.TRANSCODE, 100020),
            (2, SubTaskKind.ANIMATED_GRAPHICS, 20000),
            (3, SubTaskKind.SNAPSHOT, 10),
            (4, SubTaskKind.SAMPLE_SNAPSHOT, 10),
            (5, SubTaskKind.IMAGE_SPRITE, 10),
        ]
        assert specs[1].template["video_template"]["height"] == 540

    def test_unknown_definition_names_the_field(self) -> None:
        with pytest.raises(SpecError) as caught:
            resolve({"transcode_task_set": [{"definition": 100010}, {"definition": 99}]})
        assert caught.value.code == "ResourceNotFound.TemplateNotExist"
        assert caught.value.field == "media_process_task.transcode_task_set[1].definition"

    def test_unknown_sprite_definition(self) -> None:
        with pytest.raises(SpecError) as caught:
            resolve({"image_sprite_task_set": [{"definition": 11}]})
        assert caught.value.code == "ResourceNotFound.TemplateNotExist"
        assert caught.value.field == "media_process_task.image_sprite_task_set[0].definition"

    def test_unknown_watermark_definition_names_the_field(self) -> None:
        with pytest.raises(SpecError) as caught:
            resolve(
                {
                    "transcode_task_set": [
                        {"definition": 100010, "watermark_set": [{"definition": 7}]}
                    ]
                }
            )
        assert caught.value.code == "ResourceNotFound.TemplateNotExist"
        assert caught.value.field == (
            "media_process_task.transcode_task_set[0].watermark_set[0].definition"
        )

    def test_numbered_custom_path_without_number_is_rejected(self) -> None:
        with pytest.raises(SpecError) as caught:
            resolve(
                {
                    "sample_snapshot_task_set": [
                        {"definition": 10, "output_object_path": "s.{format}"}
                    ]
                }
            )
        field = "media_process_task.sample_snapshot_task_set[0].output_object_path"
        assert caught.value.field == field

    def test_sub_task_bucket_overrides_the_request(self) -> None:
        storage = {"cos_output_storage": {"bucket": "b2"}}
        specs = resolve(
            {
                "transcode_task_set": [
                    {"definition": 100010},
                    {"definition": 100020, "output_storage": storage},
                ]
            },
            output_dir="/o",
        )
        assert [(s.output_bucket, s.output_dir) for s in specs] == [("out", "o/"), ("b2", "o/")]


class TestFusion:
    def test_fused_task_is_one_job_serving_every_sub_task(self) -> None:
        result = plan(FULL_TASK, fuse=True)
        assert result.rejected == ()
        assert len(result.jobs) == 1
        assert result.jobs[0].subtasks == (0, 1, 2, 3, 4, 5)
        assert [w.kind for w in result.jobs[0].works] == [
            "Transcode", "Transcode", "AnimatedGraphics", "SnapshotByTimeOffset",
            "SampleSnapshot", "ImageSprites",
        ]  # fmt: skip

    def test_unfused_task_is_one_job_per_sub_task(self) -> None:
        result = plan(FULL_TASK, fuse=False)
        assert [job.subtasks for job in result.jobs] == [(0,), (1,), (2,), (3,), (4,), (5,)]
        assert all(len(job.works) == 1 for job in result.jobs)
        assert [job.works[0].index for job in result.jobs] == [0, 1, 2, 3, 4, 5]

    def test_rejected_sub_tasks_stay_out_of_the_fused_job(self) -> None:
        task = {
            "transcode_task_set": [{"definition": 1010}],
            "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["1s"]}],
        }  # fmt: skip
        result = plan(task, media_info(video=False))
        assert [job.subtasks for job in result.jobs] == [(0,)]
        assert codes(result) == {1: NO_VIDEO}

    def test_nothing_runnable_gives_no_job(self) -> None:
        result = plan({"sample_snapshot_task_set": [{"definition": 10}]}, media_info(video=False))
        assert result.jobs == ()
        assert codes(result) == {0: NO_VIDEO}

    def test_works_survive_the_json_round_trip(self) -> None:
        result = plan(FULL_TASK)
        works = works_of(result)
        assert parse_works(json.loads(json.dumps([w.to_json() for w in works]))) == works

    def test_a_job_payload_is_json_only_as_a_whole(self) -> None:
        # Typed in the process; a Celery message and a job row carry the works' and the
        # probe's own JSON, and read back to equal values.
        info = media_info()
        works = works_of(plan(FULL_TASK))
        job = JobPayload(
            job_id="1",
            task_id="t",
            kind=JobKind.MEDIA,
            source=TaskSource(type="file", path="/in/movie.mp4"),
            media_info=info,
            works=works,
        )
        data = json.loads(json.dumps(job.to_json()))
        assert data["works"] == [w.to_json() for w in works]
        assert data["media_info"] == info.to_json()
        assert JobPayload.from_json(data) == job

    def test_default_planner_plans_from_the_probe(self) -> None:
        planner = DefaultPlanner(fuse=False)
        req = TaskRequest.model_validate(
            {"source": {"type": "file", "path": "/in/movie.mp4"}, "output_bucket": "out",
             "media_process_task": FULL_TASK}
        )  # fmt: skip
        specs = planner.resolve(req, lookup())
        result = planner.plan(specs, media_info(), "movie.mp4")
        assert len(result.jobs) == 6
        assert isinstance(result.jobs[0], PlannedJob)


class TestTranscode:
    def test_preset_sizes_for_a_1080p_source(self) -> None:
        task = {"transcode_task_set": [{"definition": d} for d in (100010, 100020, 100030)]}
        sizes = [(w.width, w.height) for w in works_of(plan(task)) if isinstance(w, TranscodeWork)]
        assert sizes == [(640, 360), (960, 540), (1280, 720)]

    def test_portrait_source_gets_portrait_renditions(self) -> None:
        info = media_info(width=1920, height=1080, rotation=90)
        work = only_work({"transcode_task_set": [{"definition": 100030}]}, info)
        assert isinstance(work, TranscodeWork)
        assert (work.width, work.height) == (720, 1280)

    def test_360p_source_is_not_upscaled(self) -> None:
        info = media_info(width=640, height=360)
        task = {"transcode_task_set": [{"definition": 100020}, {"definition": 100030}]}
        sizes = [
            (w.width, w.height) for w in works_of(plan(task, info)) if isinstance(w, TranscodeWork)
        ]
        assert sizes == [(640, 360), (640, 360)]

    @pytest.mark.parametrize(
        ("width", "height", "expected"),
        [
            (0, 480, (640, 360)),  # one side is a maximum: a 360p source keeps its size
            (854, 480, (854, 480)),  # both sides are an explicit size: honoured
        ],
    )
    def test_an_explicit_size_is_honoured_above_the_source(
        self, width: int, height: int, expected: tuple[int, int]
    ) -> None:
        raw = {
            "container": "mp4",
            "video_template": {"codec": "h264", "width": width, "height": height},
            "remove_audio": True,
        }
        task = {"transcode_task_set": [{"definition": 0, "raw_parameter": raw}]}
        work = only_work(task, media_info(width=640, height=360))
        assert isinstance(work, TranscodeWork)
        assert (work.width, work.height) == expected

    def test_template_fps_for_a_constant_rate_source(self) -> None:
        work = only_work({"transcode_task_set": [{"definition": 100010}]}, media_info(fps=30.0))
        assert isinstance(work, TranscodeWork)
        assert work.fps == 25.0

    def test_lower_constant_rate_is_kept(self) -> None:
        work = only_work({"transcode_task_set": [{"definition": 100010}]}, media_info(fps=15.0))
        assert isinstance(work, TranscodeWork)
        assert work.fps == 15.0

    def test_variable_rate_source_gets_the_template_rate(self) -> None:
        # A 25 fps phone clip with dropped frames averages 20 fps; the output is 25 CFR.
        info = media_info(fps=20.0, vfr=True)
        work = only_work({"transcode_task_set": [{"definition": 100010}]}, info)
        assert isinstance(work, TranscodeWork)
        assert work.fps == 25.0

    def test_interlaced_source_is_deinterlaced(self) -> None:
        work = only_work(
            {"transcode_task_set": [{"definition": 100010}]}, media_info(interlaced=True)
        )
        assert isinstance(work, TranscodeWork)
        assert work.deinterlace is True

    def test_progressive_source_is_not_deinterlaced(self) -> None:
        work = only_work({"transcode_task_set": [{"definition": 100010}]})
        assert isinstance(work, TranscodeWork)
        assert work.deinterlace is False

    def test_negative_offsets_count_from_the_end(self) -> None:
        task = {
            "transcode_task_set": [
                {"definition": 100010, "start_time_offset": -5, "end_time_offset": -1}
            ]
        }
        work = only_work(task)
        assert isinstance(work, TranscodeWork)
        assert (work.start, work.end) == (15.0, 19.0)

    def test_start_beyond_the_end_is_rejected(self) -> None:
        task = {"transcode_task_set": [{"definition": 100010, "start_time_offset": 25}]}
        result = plan(task)
        assert result.jobs == ()
        assert codes(result) == {0: "InvalidParameterValue"}
        assert "beyond" in result.rejected[0].message


class TestAudioOnlySource:
    INFO = media_info(video=False)

    def test_audio_presets_are_planned_and_video_sub_tasks_rejected(self) -> None:
        task = {
            "transcode_task_set": [{"definition": d} for d in (1010, 100010, 1110)],
            "animated_graphic_task_set": [{"definition": 20000, "end_time_offset": 2}],
            "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["1s"]}],
            "sample_snapshot_task_set": [{"definition": 10}],
            "image_sprite_task_set": [{"definition": 10}],
        }  # fmt: skip
        result = plan(task, self.INFO)
        assert [job.subtasks for job in result.jobs] == [(0, 2)]
        assert codes(result) == {1: NO_VIDEO, 3: NO_VIDEO, 4: NO_VIDEO, 5: NO_VIDEO, 6: NO_VIDEO}
        assert all("no video stream" in r.message for r in result.rejected)
        mp3, m4a = works_of(result)
        assert isinstance(mp3, TranscodeWork) and isinstance(m4a, TranscodeWork)
        assert (mp3.template.container, mp3.width, mp3.height) == ("mp3", 0, 0)
        assert (m4a.template.container, m4a.key) == ("m4a", "movie_transcode_1110.m4a")


class TestSilentSource:
    def test_video_transcodes_are_planned(self) -> None:
        work = only_work({"transcode_task_set": [{"definition": 100010}]}, media_info(audio=False))
        assert isinstance(work, TranscodeWork)
        assert (work.width, work.height) == (640, 360)

    def test_audio_only_outputs_are_rejected(self) -> None:
        result = plan({"transcode_task_set": [{"definition": 1010}]}, media_info(audio=False))
        assert codes(result) == {0: "UnsupportedOperation.NoAudioStream"}


class TestSnapshots:
    def test_percent_offsets_resolve_against_the_duration(self) -> None:
        task = {
            "snapshot_by_time_offset_task_set": [
                {"definition": 10, "ext_time_offset_set": ["75%", "25%", "3.5s", "50%"]}
            ]
        }
        work = only_work(task)
        assert isinstance(work, SnapshotWork)
        assert work.times == [3.5, 5.0, 10.0, 15.0]
        assert len(work.keys) == 4

    def test_the_end_is_clamped_to_the_last_frame(self) -> None:
        task = {
            "snapshot_by_time_offset_task_set": [
                {"definition": 10, "ext_time_offset_set": ["100%", "60s"]}
            ]
        }
        work = only_work(task)
        assert isinstance(work, SnapshotWork)
        assert work.times == [19.96, 19.96]

    def test_source_size_and_portrait(self) -> None:
        task = {
            "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["1s"]}]
        }
        work = only_work(task, media_info(width=640, height=360, rotation=270))
        assert isinstance(work, SnapshotWork)
        assert (work.width, work.height) == (360, 640)

    def test_sample_every_10_percent_of_20_s_is_10_images(self) -> None:
        work = only_work({"sample_snapshot_task_set": [{"definition": 10}]})
        assert isinstance(work, SampleSnapshotWork)
        assert work.interval == 2.0
        assert len(work.keys) == 10
        assert work.keys[-1] == "movie_sampleSnapshot_10_9.jpg"


class TestSprites:
    def test_preset_sprite_on_20_s(self) -> None:
        work = only_work({"image_sprite_task_set": [{"definition": 10}]})
        assert isinstance(work, ImageSpriteWork)
        assert (work.width, work.height, work.interval) == (142, 80, 10.0)
        assert work.cells == 2  # at 0 s and 10 s
        assert work.keys == ["movie_imageSprite_10_0.jpg"]
        assert work.duration == 20.0

    def test_cells_spread_over_several_sheets(self) -> None:
        work = only_work({"image_sprite_task_set": [{"definition": SPRITE_2X3}]})
        assert isinstance(work, ImageSpriteWork)
        assert work.cells == 20  # one a second, 0..19 s
        assert len(work.keys) == 4  # ceil(20 / 6)
        assert work.keys[3] == f"movie_imageSprite_{SPRITE_2X3}_3.jpg"
        assert work.vtt_key == f"movie_imageSprite_{SPRITE_2X3}.vtt"


class TestAnimated:
    def test_range_and_source_size(self) -> None:
        task = {
            "animated_graphic_task_set": [
                {"definition": 20000, "start_time_offset": 1, "end_time_offset": 4}
            ]
        }
        work = only_work(task, media_info(width=640, height=360))
        assert isinstance(work, AnimatedWork)
        assert (work.start, work.end, work.width, work.height) == (1.0, 4.0, 640, 360)

    def test_end_is_clamped_to_the_duration(self) -> None:
        task = {
            "animated_graphic_task_set": [
                {"definition": 20000, "start_time_offset": 18, "end_time_offset": 30}
            ]
        }
        work = only_work(task)
        assert isinstance(work, AnimatedWork)
        assert (work.start, work.end) == (18.0, 20.0)

    def test_start_beyond_the_end_is_rejected(self) -> None:
        task = {
            "animated_graphic_task_set": [
                {"definition": 20000, "start_time_offset": 25, "end_time_offset": 28}
            ]
        }
        result = plan(task)
        assert result.jobs == ()
        assert codes(result) == {0: "InvalidParameterValue.StartTimeOffset"}


class TestDefaultWorkflow:
    def test_default_workflow_on_a_720p_source(self) -> None:
        info = media_info(width=1280, height=720)
        task = default_media_process_task(info).to_json()
        result = plan(task, info)
        assert result.rejected == ()
        assert len(result.jobs) == 1
        kinds = [w.kind for w in result.jobs[0].works]
        assert kinds.count("Transcode") == 3

    def test_default_workflow_adds_fhd_for_1080p(self) -> None:
        task = default_media_process_task(media_info()).to_json()
        definitions = [t["definition"] for t in task["transcode_task_set"]]
        assert definitions == [100010, 100020, 100030, 100040]


def test_a_per_title_transcode_aims_at_its_target_is_scored_and_never_chunked(
    tmp_path: Path,
) -> None:
    def raw(**video: Any) -> dict[str, Any]:
        return {
            "definition": 0,
            "raw_parameter": {
                "container": "mp4",
                "video_template": {"codec": "h264", "height": 360, "bitrate": 800, **video},
                "remove_audio": True,
            },
        }

    task = {
        "transcode_task_set": [
            raw(content_adapt_stream=1),
            raw(content_adapt_stream=1, target_vmaf=90),
            raw(),
        ]
    }
    info = media_info(duration=60.0)
    works = [w for w in works_of(plan(task, info)) if isinstance(w, TranscodeWork)]
    assert [(w.target_vmaf, w.quality, w.capped_crf) for w in works] == [
        (93.0, True, None),
        (90.0, True, None),
        (0.0, False, None),
    ]
    settings = Settings(data_dir=tmp_path, workers=2, chunk_seconds=2.0)
    split = chunk_groups(works, info, settings)
    assert [[w.index for w in g] for g in split.groups] == [[works[2].index]]


def test_an_override_can_ask_a_preset_for_per_title() -> None:
    override = {"video_template": {"content_adapt_stream": 1, "target_vmaf": 95}}
    task = {"transcode_task_set": [{"definition": 100010, "override_parameter": override}]}
    work = only_work(task)
    assert isinstance(work, TranscodeWork)
    assert (work.target_vmaf, work.quality) == (95.0, True)
    plain = only_work({"transcode_task_set": [{"definition": 100010}]})
    assert isinstance(plain, TranscodeWork) and plain.target_vmaf == 0.0
