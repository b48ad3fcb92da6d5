"""Real fused media jobs through ``JobRuntime`` on tiny lavfi clips, checked as a user would.

Each test plans a task with the real planner, runs the one fused FFmpeg job it yields, and
opens what landed in the bucket with PyAV: sizes, durations, codecs, frame counts, names.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from reelflow.compat.outputs import output_item
from reelflow.errors import StorageUnavailable
from reelflow.executors.base import JobContext
from reelflow.executors.jobs import JobRuntime
from reelflow.media.command import build_command
from reelflow.media.probe import probe
from reelflow.planner.base import Plan
from reelflow.planner.plan import build_plan
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import ChainLookup, MemoryLookup, PresetLookup
from reelflow.specs.jobs import JobKind, JobPayload, JobResult, SubTaskOutcome
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskRequest
from reelflow.specs.templates import AnimatedGraphicsTemplate, ImageSpriteTemplate, TemplateKind
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.memory import MemoryStorage
from reelflow.storage.registry import StorageRegistry
from tests.clips import ClipCache, make_audio_only, run_ffmpeg

pytestmark = pytest.mark.integration

NO_VIDEO = "UnsupportedOperation.NoVideoStream"
SPRITE = 1_000_001  # 128x96 cells (width 128, aspect kept), 1 row x 3 columns, every 1 s
GIF = 1_000_002  # 10 fps, 160 px wide
# An inline transcode: H.264 at 180 px short side, 25 fps, AAC.
RAW_180P = {
    "definition": 0,
    "raw_parameter": {
        "container": "mp4",
        "video_template": {"codec": "h264", "height": 180, "fps": 25, "bitrate": 300},
        "audio_template": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
    },
}


# -- running a task ----------------------------------------------------------------------


class Flaky(MemoryStorage):
    """A bucket whose first write succeeds and every later one fails (a full disk)."""

    def put_stream(self, key: str, stream: Any, *, content_type: str | None = None) -> Any:
        info = super().put_stream(key, stream, content_type=content_type)
        self.fail_writes = True
        return info


@dataclass
class Env:
    runtime: JobRuntime
    out: LocalStorage
    broken: MemoryStorage
    flaky: Flaky
    away: MemoryStorage


@dataclass
class Run:
    info: MediaInfo
    plan: Plan
    result: JobResult
    progress: list[float]

    def outcome(self, index: int) -> SubTaskOutcome:
        (found,) = [s for s in self.result.subtasks if s.index == index]
        return found

    def output(self, index: int) -> dict[str, Any]:
        found = self.outcome(index)
        assert found.ok, f"sub-task {index} failed: {found.error_code} {found.message}"
        assert found.output is not None
        return output_item(found.output)  # as the engine stores it


def make_env(root: Path, ffmpeg: Path) -> Env:
    out = LocalStorage("out", root / "out")
    broken = MemoryStorage("broken", fail_writes=True)
    flaky = Flaky("flaky")
    outage = StorageUnavailable("cannot write: S3 unreachable", dependency="bucket 'away'")
    away = MemoryStorage("away", fail_writes=outage)
    registry = StorageRegistry([out, broken, flaky, away])
    runtime = JobRuntime(ffmpeg, registry, root / "scratch", outage_patience=0.5)
    return Env(runtime, out, broken, flaky, away)


@pytest.fixture
def env(tmp_path: Path, ffmpeg_bin: Path) -> Env:
    return make_env(tmp_path, ffmpeg_bin)


def templates() -> ChainLookup:
    custom = MemoryLookup()
    sprite = ImageSpriteTemplate(
        width=128, height=0, resolution_adaptive="close", sample_type="Time",
        sample_interval=1, row_count=1, column_count=3, fill_type="stretch",
    )  # fmt: skip
    custom.add(TemplateKind.IMAGE_SPRITE, SPRITE, sprite)
    gif = AnimatedGraphicsTemplate(fps=10, width=160, height=0, format="gif")
    custom.add(TemplateKind.ANIMATED_GRAPHICS, GIF, gif)
    return ChainLookup(PresetLookup(), custom)


def run_task(env: Env, source: Path, task: dict[str, Any]) -> Run:
    """Plan ``task`` for ``source``; run its single fused job (if any) in ``env``."""
    request = TaskRequest.model_validate(
        {
            "source": {"type": "file", "path": str(source)},
            "output_bucket": "out",
            "media_process_task": task,
        }
    )
    info = probe(source)
    plan = build_plan(resolve_request(request, templates()), info, source.name)
    assert len(plan.jobs) <= 1
    progress: list[float] = []
    if not plan.jobs:
        return Run(info, plan, JobResult(job_id="none", ok=True), progress)
    payload = JobPayload(
        job_id="job-1",
        task_id="task-1",
        kind=JobKind.MEDIA,
        source=request.source,
        media_info=info,
        works=list(plan.jobs[0].works),
        video_preset="ultrafast",
        timeout=60.0,
    )
    result = env.runtime(payload, JobContext(progress.append, threading.Event()))
    return Run(info, plan, result, progress)


# -- looking at outputs ------------------------------------------------------------------


@dataclass(frozen=True)
class Video:
    duration: float
    width: int
    height: int
    codec: str
    pix_fmt: str
    profile: str
    fps: float
    frames: int
    interlaced_frames: int
    frame_steps: frozenset[float]  # distinct gaps between frame times, in seconds
    audio_codec: str | None
    rotation: int


def inspect_video(path: Path) -> Video:
    with av.open(str(path)) as container:
        assert container.duration is not None
        stream = container.streams.video[0]
        ctx = stream.codec_context
        times: list[float] = []
        interlaced = 0
        rotation = 0
        for frame in container.decode(stream):
            times.append(float(frame.time))
            interlaced += bool(frame.interlaced_frame)
            rotation = int(frame.rotation)
        audio = container.streams.audio
        return Video(
            duration=container.duration / av.time_base,
            width=ctx.width,
            height=ctx.height,
            codec=ctx.codec.canonical_name,
            pix_fmt=ctx.pix_fmt or "",
            profile=ctx.profile or "",
            fps=float(stream.average_rate or 0),
            frames=len(times),
            interlaced_frames=interlaced,
            frame_steps=frozenset(round(b - a, 4) for a, b in itertools.pairwise(times)),
            audio_codec=audio[0].codec_context.codec.canonical_name if audio else None,
            rotation=rotation,
        )


def inspect_audio(path: Path) -> tuple[str, float, int, bool]:
    """(codec, duration, sample rate, has video) of an audio output."""
    with av.open(str(path)) as container:
        assert container.duration is not None
        stream = container.streams.audio[0]
        has_video = bool(container.streams.video)
        return (
            stream.codec_context.codec.canonical_name,
            container.duration / av.time_base,
            stream.codec_context.sample_rate,
            has_video,
        )


def image_size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def in_bucket(env: Env, mps_path: str) -> Path:
    path = env.out.root / mps_path.lstrip("/")
    assert path.is_file(), f"{mps_path} is not in the bucket"
    return path


def objects(env: Env) -> list[str]:
    return sorted(info.key for info in env.out.list())


# -- the whole fused task ----------------------------------------------------------------


FULL_TASK: dict[str, Any] = {
    "transcode_task_set": [{"definition": 100010}, RAW_180P, {"definition": 1010}],
    "animated_graphic_task_set": [
        {"definition": GIF, "start_time_offset": 1, "end_time_offset": 3}
    ],
    "snapshot_by_time_offset_task_set": [
        {"definition": 10, "ext_time_offset_set": ["25%", "0.5s", "75%"]}
    ],
    "sample_snapshot_task_set": [{"definition": 10}],
    "image_sprite_task_set": [{"definition": SPRITE}],
}


class TestFusedTask:
    """One 4 s 320x240 clip, every kind of sub-task, one FFmpeg process (run once)."""

    @pytest.fixture(scope="class")
    @classmethod
    def env(cls, tmp_path_factory: pytest.TempPathFactory, ffmpeg_bin: Path) -> Env:
        return make_env(tmp_path_factory.mktemp("fused"), ffmpeg_bin)

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, env: Env, clips: ClipCache) -> Run:
        return run_task(env, clips(duration=4.0), FULL_TASK)

    def test_every_sub_task_succeeds_in_one_job(self, run: Run) -> None:
        assert run.plan.rejected == ()
        assert run.plan.jobs[0].subtasks == (0, 1, 2, 3, 4, 5, 6)
        assert run.result.ok
        assert [(s.index, s.ok, s.error_code) for s in run.result.subtasks] == [
            (i, True, "") for i in range(7)
        ]
        assert run.progress[-1] == 100.0

    def test_object_names(self, run: Run, env: Env, clips: ClipCache) -> None:
        stem = clips(duration=4.0).stem
        assert objects(env) == sorted(
            [
                f"{stem}_transcode_100010.mp4",
                f"{stem}_transcode_0.mp4",
                f"{stem}_transcode_1010.mp3",
                f"{stem}_animatedGraphic_{GIF}.gif",
                *(f"{stem}_snapshotByTimeOffset_10_{i}.jpg" for i in range(3)),
                *(f"{stem}_sampleSnapshot_10_{i}.jpg" for i in range(10)),
                f"{stem}_imageSprite_{SPRITE}_0.jpg",
                f"{stem}_imageSprite_{SPRITE}_1.jpg",
                f"{stem}_imageSprite_{SPRITE}.vtt",
            ]
        )

    def test_renditions(self, run: Run, env: Env) -> None:
        for index, size in ((0, (320, 240)), (1, (240, 180))):
            item = run.output(index)
            video = inspect_video(in_bucket(env, item["Path"]))
            assert (video.width, video.height) == size
            assert (item["Width"], item["Height"]) == size
            assert video.duration == pytest.approx(4.0, abs=0.1)
            assert (video.codec, video.pix_fmt, video.fps) == ("h264", "yuv420p", 25.0)
            assert video.frames == 100
            assert video.audio_codec == "aac"

    def test_result_items_describe_the_files(self, run: Run, env: Env) -> None:
        for index in (0, 1, 2):
            item = run.output(index)
            path = in_bucket(env, item["Path"])
            assert item["Size"] == path.stat().st_size
            assert item["Md5"] == md5(path)
            assert item["Duration"] == pytest.approx(4.0, abs=0.1)
        assert run.output(0)["Definition"] == 100010
        gif = run.output(3)
        assert gif["Md5"] == md5(in_bucket(env, gif["Path"]))
        assert gif["Size"] == in_bucket(env, gif["Path"]).stat().st_size

    def test_audio_only_rendition(self, run: Run, env: Env) -> None:
        codec, duration, rate, has_video = inspect_audio(in_bucket(env, run.output(2)["Path"]))
        assert (codec, rate, has_video) == ("mp3", 44100, False)
        assert duration == pytest.approx(4.0, abs=0.1)

    def test_gif(self, run: Run, env: Env) -> None:
        item = run.output(3)
        path = in_bucket(env, item["Path"])
        assert image_size(path) == (160, 120)
        assert frame_count(path) == pytest.approx(10 * (3 - 1), abs=1)
        assert (item["StartTimeOffset"], item["EndTimeOffset"]) == (1.0, 3.0)

    def test_snapshots(self, run: Run, env: Env) -> None:
        pics = run.output(4)["PicInfoSet"]
        assert [p["TimeOffset"] for p in pics] == [0.5, 1.0, 3.0]
        for pic in pics:
            assert image_size(in_bucket(env, pic["Path"])) == (320, 240)

    def test_sampled_snapshots(self, run: Run, env: Env) -> None:
        item = run.output(5)
        assert (item["SampleType"], item["Interval"]) == ("Percent", 10)
        assert len(item["ImagePathSet"]) == 10  # every 0.4 s of 4 s
        for path in item["ImagePathSet"]:
            assert image_size(in_bucket(env, path)) == (320, 240)

    def test_sprite_sheets_and_vtt(self, run: Run, env: Env) -> None:
        item = run.output(6)
        assert (item["Width"], item["Height"], item["TotalCount"]) == (128, 96, 4)
        assert len(item["ImagePathSet"]) == 2  # 4 cells, 3 a sheet
        sheet_w, sheet_h = 3 * 128, 1 * 96
        for path in item["ImagePathSet"]:
            assert image_size(in_bucket(env, path)) == (sheet_w, sheet_h)
        vtt = in_bucket(env, item["WebVttPath"]).read_text()
        assert vtt.startswith("WEBVTT\n")
        cues = re.findall(r"(\S+) --> (\S+)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)", vtt)
        assert len(cues) == 4
        sheets = [p.rsplit("/", 1)[-1] for p in item["ImagePathSet"]]
        assert [c[2] for c in cues] == [sheets[0], sheets[0], sheets[0], sheets[1]]
        assert [c[0] for c in cues] == [
            "00:00:00.000",
            "00:00:01.000",
            "00:00:02.000",
            "00:00:03.000",
        ]
        for *_, x, y, w, h in cues:
            assert (int(w), int(h)) == (128, 96)
            assert int(x) + int(w) <= sheet_w and int(y) + int(h) <= sheet_h


# -- what users expect from awkward sources -------------------------------------------------


def make_odd_clip(path: Path, ffmpeg: Path) -> Path:
    """321x241 with audio. ``testsrc2`` rounds sizes to even, so this uses ``testsrc``
    and FFV1 (H.264 4:2:0 cannot hold odd sizes)."""
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc=size=321x241:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
         "-c:v", "ffv1", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
        ffmpeg,
    )  # fmt: skip
    return path


SHOT = {"definition": 10, "ext_time_offset_set": ["50%"]}


def test_rotated_phone_clip_gives_portrait_outputs(env: Env, clips: ClipCache) -> None:
    source = clips(duration=2.0, rotation=90)
    run = run_task(
        env,
        source,
        {
            "transcode_task_set": [{"definition": 100010}],
            "snapshot_by_time_offset_task_set": [SHOT],
        },
    )
    video = inspect_video(in_bucket(env, run.output(0)["Path"]))
    assert (video.width, video.height) == (240, 320)
    assert video.rotation == 0  # upright pixels, not a rotation flag
    (pic,) = run.output(1)["PicInfoSet"]
    assert image_size(in_bucket(env, pic["Path"])) == (240, 320)


def test_odd_source_size_gives_even_output_size(env: Env, tmp_path: Path, ffmpeg_bin: Path) -> None:
    source = make_odd_clip(tmp_path / "odd.mkv", ffmpeg_bin)
    run = run_task(
        env,
        source,
        {
            "transcode_task_set": [{"definition": 100010}],
            "snapshot_by_time_offset_task_set": [SHOT],
        },
    )
    video = inspect_video(in_bucket(env, run.output(0)["Path"]))
    assert (video.width, video.height) == (320, 240)
    assert (video.codec, video.pix_fmt) == ("h264", "yuv420p")
    (pic,) = run.output(1)["PicInfoSet"]
    assert image_size(in_bucket(env, pic["Path"])) == (321, 241)  # images keep odd sizes


@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv422p"])
def test_10_bit_and_422_sources_give_8_bit_420_h264(
    env: Env, clips: ClipCache, pix_fmt: str
) -> None:
    source = clips(duration=2.0, pix_fmt=pix_fmt)
    run = run_task(env, source, {"transcode_task_set": [{"definition": 100010}]})
    assert run.info.video[0].pix_fmt == pix_fmt
    video = inspect_video(in_bucket(env, run.output(0)["Path"]))
    assert (video.codec, video.pix_fmt) == ("h264", "yuv420p")
    assert "10" not in video.profile and "4:2:2" not in video.profile


def test_variable_rate_source_gives_constant_25_fps(env: Env, clips: ClipCache) -> None:
    source = clips(duration=2.0, vfr=True)
    run = run_task(env, source, {"transcode_task_set": [{"definition": 100010}]})
    assert run.info.video[0].is_vfr
    video = inspect_video(in_bucket(env, run.output(0)["Path"]))
    assert video.fps == 25.0
    assert video.frames == pytest.approx(25 * 2, abs=1)
    assert video.frame_steps == {0.04}


def test_interlaced_source_is_deinterlaced(env: Env, clips: ClipCache, tmp_path: Path) -> None:
    source = clips(duration=2.0, interlaced=True)
    run = run_task(env, source, {"transcode_task_set": [{"definition": 100010}]})
    assert run.info.video[0].interlaced
    works = list(run.plan.jobs[0].works)
    args = build_command(str(source), run.info, works, tmp_path).args
    assert args[args.index("-filter_complex") + 1].startswith("[0:v:0]yadif=deint=interlaced,")
    video = inspect_video(in_bucket(env, run.output(0)["Path"]))
    assert video.frames == 50
    assert video.interlaced_frames == 0


def test_360p_source_is_not_upscaled(env: Env, clips: ClipCache) -> None:
    source = clips(duration=2.0, width=640, height=360)
    task = {"transcode_task_set": [{"definition": 100020}, {"definition": 100030}]}
    run = run_task(env, source, task)
    for index in (0, 1):
        video = inspect_video(in_bucket(env, run.output(index)["Path"]))
        assert (video.width, video.height) == (640, 360)


def test_audio_only_source(env: Env, clips: ClipCache) -> None:
    source = clips.make(make_audio_only, ".m4a", duration=2.0)
    task = {
        "transcode_task_set": [{"definition": d} for d in (1010, 1110, 100010)],
        "snapshot_by_time_offset_task_set": [SHOT],
        "sample_snapshot_task_set": [{"definition": 10}],
    }
    run = run_task(env, source, task)
    assert {r.index: r.code for r in run.plan.rejected} == {2: NO_VIDEO, 3: NO_VIDEO, 4: NO_VIDEO}
    assert run.plan.jobs[0].subtasks == (0, 1)
    assert run.result.ok
    for index, codec in ((0, "mp3"), (1, "aac")):
        found, duration, rate, has_video = inspect_audio(in_bucket(env, run.output(index)["Path"]))
        assert (found, rate, has_video) == (codec, 44100, False)
        assert duration == pytest.approx(2.0, abs=0.1)
    assert objects(env) == [
        f"{source.stem}_transcode_1010.mp3",
        f"{source.stem}_transcode_1110.m4a",
    ]


def test_video_without_audio_gives_a_silent_rendition(env: Env, clips: ClipCache) -> None:
    source = clips(duration=2.0, audio=False)
    run = run_task(env, source, {"transcode_task_set": [{"definition": 100010}]})
    item = run.output(0)
    video = inspect_video(in_bucket(env, item["Path"]))
    assert video.audio_codec is None
    assert item["AudioStreamSet"] == []
    assert video.duration == pytest.approx(2.0, abs=0.1)


def test_unwritable_bucket_fails_only_its_sub_tasks(env: Env, clips: ClipCache) -> None:
    source = clips(duration=2.0)
    to = {"broken": {"output_storage": {"cos_output_storage": {"bucket": "broken"}}},
          "flaky": {"output_storage": {"cos_output_storage": {"bucket": "flaky"}}}}  # fmt: skip
    task = {
        "transcode_task_set": [{"definition": 100010}, {"definition": 1010, **to["broken"]}],
        "snapshot_by_time_offset_task_set": [SHOT | to["broken"]],
        # Two objects (a sheet, then the VTT): the second write fails.
        "image_sprite_task_set": [{"definition": SPRITE, **to["flaky"]}],
    }
    run = run_task(env, source, task)
    assert run.result.ok
    outcomes = {s.index: (s.ok, s.error_code) for s in run.result.subtasks}
    assert outcomes == {
        0: (True, ""),
        1: (False, "StorageError"),
        2: (False, "StorageError"),
        3: (False, "StorageError"),
    }
    assert "broken" in run.outcome(1).message and "flaky" in run.outcome(3).message
    assert env.broken.list() == []
    assert env.flaky.list() == []  # the sheet written first was rolled back
    assert objects(env) == [f"{source.stem}_transcode_100010.mp4"]


def test_an_unavailable_bucket_gives_the_attempt_back_as_an_outage(
    env: Env, clips: ClipCache
) -> None:
    source = clips(duration=2.0)
    away = {"output_storage": {"cos_output_storage": {"bucket": "away"}}}
    task = {
        "transcode_task_set": [{"definition": 100010}],
        "snapshot_by_time_offset_task_set": [SHOT | away],
    }
    run = run_task(env, source, task)
    # Not the sub-task's failure: the job's, retryable, so the engine tries it again.
    assert (run.result.ok, run.result.retryable) == (False, True)
    assert run.result.error_code == "StorageError.Unavailable"
    assert "'away'" in run.result.message
    assert all(s.ok for s in run.result.subtasks)  # those committed before the outage
    assert 1 not in {s.index for s in run.result.subtasks}
    assert env.away.list() == []


def make_red_png(path: Path, ffmpeg: Path) -> bytes:
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=red:size=64x64", "-frames:v", "1", str(path)], ffmpeg)
    return path.read_bytes()


def make_gray_clip(path: Path, ffmpeg: Path) -> Path:
    """A flat gray 320x240 video, so a watermark's extent can be read from its pixels."""
    run_ffmpeg(
        ["-f", "lavfi", "-i", "color=c=gray:size=320x240:rate=25:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
        ffmpeg,
    )  # fmt: skip
    return path


def is_red(path: Path, x: int, y: int) -> bool:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).reformat(format="rgb24")
    plane = frame.planes[0]
    offset = y * plane.line_size + 3 * x
    red, green, blue = bytes(plane)[offset : offset + 3]
    return red > 200 and green < 60 and blue < 60


def test_image_and_text_watermarks(env: Env, tmp_path: Path, ffmpeg_bin: Path) -> None:
    logo = base64.b64encode(make_red_png(tmp_path / "logo.png", ffmpeg_bin)).decode()
    image = {
        "type": "image",
        "coordinate_origin": "BottomRight",
        "image_template": {"image_content": logo, "width": "20%", "height": "10%"},
    }
    text = {"type": "text", "x_pos": "8px", "y_pos": "8px", "text_template": {"font_size": "20px"}}
    marks = [
        {"definition": 0, "raw_parameter": image},
        {"definition": 0, "raw_parameter": text, "text_content": "reelflow"},
    ]
    task = {
        "transcode_task_set": [{"definition": 100010, "watermark_set": marks}],
        "snapshot_by_time_offset_task_set": [SHOT | {"watermark_set": marks}],
    }
    run = run_task(env, make_gray_clip(tmp_path / "gray.mp4", ffmpeg_bin), task)
    assert [(s.ok, s.error_code) for s in run.result.subtasks] == [(True, ""), (True, "")]
    video = inspect_video(in_bucket(env, run.output(0)["Path"]))
    assert (video.width, video.height) == (320, 240)
    (pic,) = run.output(1)["PicInfoSet"]
    shot = in_bucket(env, pic["Path"])
    # The logo is 20% x 10% of 320x240 = 64x24, in the bottom-right corner.
    assert is_red(shot, 320 - 62, 240 - 22) and is_red(shot, 318, 238)
    assert not is_red(shot, 320 - 66, 230) and not is_red(shot, 300, 240 - 26)
