"""``reelflow process`` as a user runs it: a real subprocess, real FFmpeg, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import m3u8
import pytest

from tests.clips import (
    ClipCache,
    make_audio_only,
    make_random_bytes,
    make_text_as_mp4,
    make_truncated_mp4,
    make_zero_byte,
)

pytestmark = pytest.mark.integration


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REELFLOW_VIDEO_PRESET": "ultrafast"}
    return subprocess.run(
        [sys.executable, "-m", "reelflow.cli.main", "process", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def results_by_type(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    members = {
        "Transcode": "TranscodeTask",
        "SnapshotByTimeOffset": "SnapshotByTimeOffsetTask",
        "SampleSnapshot": "SampleSnapshotTask",
        "ImageSprites": "ImageSpriteTask",
        "AnimatedGraphics": "AnimatedGraphicTask",
        "AdaptiveDynamicStreaming": "AdaptiveDynamicStreamingTask",
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for item in result["MediaProcessResultSet"]:
        out.setdefault(item["Type"], []).append(item[members[item["Type"]]])
    return out


def test_default_workflow_end_to_end(clips: ClipCache, tmp_path: Path) -> None:
    source = clips(duration=4.0, width=640, height=360, fps=25)
    out = tmp_path / "out"
    proc = run_cli(str(source), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    saved = json.loads((out / "result.json").read_text())
    assert printed == saved
    assert saved["Status"] == "FINISH" and saved["ErrCode"] == 0
    assert saved["MetaData"]["Width"] == 640 and saved["MetaData"]["Height"] == 360
    by_type = results_by_type(saved)
    # 360p source: the three base renditions, no FHD; every one SUCCESS and never upscaled.
    transcodes = by_type["Transcode"]
    assert [t["Input"]["Definition"] for t in transcodes] == [100010, 100020, 100030]
    for t in transcodes:
        assert t["Status"] == "SUCCESS"
        path = out / t["Output"]["Path"].lstrip("/")
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            assert (video.width, video.height) == (640, 360)
            assert video.codec_context.name == "h264"
            assert container.streams.audio[0].codec_context.name == "aac"
            assert container.duration / 1e6 == pytest.approx(4.0, abs=0.15)
    snaps = by_type["SnapshotByTimeOffset"][0]["Output"]["PicInfoSet"]
    assert [p["TimeOffset"] for p in snaps] == [1.0, 2.0, 3.0]
    samples = by_type["SampleSnapshot"][0]["Output"]["ImagePathSet"]
    assert len(samples) == 10
    sprite = by_type["ImageSprites"][0]["Output"]
    vtt = (out / sprite["WebVttPath"].lstrip("/")).read_text()
    assert vtt.startswith("WEBVTT") and vtt.count("-->") == sprite["TotalCount"] == 1
    with av.open(str(out / sprite["ImagePathSet"][0].lstrip("/"))) as sheet:
        assert (sheet.streams.video[0].width, sheet.streams.video[0].height) == (1420, 800)
    gif = by_type["AnimatedGraphics"][0]["Output"]
    with av.open(str(out / gif["Path"].lstrip("/"))) as anim:
        frames = sum(1 for _ in anim.decode(video=0))
    assert frames == 6  # 3 s at 2 fps
    for item in (*samples, *(p["Path"] for p in snaps)):
        assert (out / item.lstrip("/")).stat().st_size > 0


def test_workflow_file_and_progress_table(clips: ClipCache, tmp_path: Path) -> None:
    source = clips(duration=2.0, width=320, height=240)
    workflow = tmp_path / "wf.json"
    workflow.write_text(
        json.dumps(
            {
                "MediaProcessTask": {
                    "TranscodeTaskSet": [
                        {
                            "Definition": 0,
                            "RawParameter": {
                                "Container": "webm",
                                "VideoTemplate": {"Codec": "vp9", "Height": 144, "Bitrate": 200},
                                "AudioTemplate": {
                                    "Codec": "opus",
                                    "Bitrate": 64,
                                    "SampleRate": 44100,
                                },
                            },
                        }
                    ]
                }
            }
        )
    )
    out = tmp_path / "out"
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "SUCCESS" in proc.stdout
    output = out / "clip_transcode_0.webm" if (out / "clip_transcode_0.webm").exists() else None
    produced = list(out.glob("*_transcode_0.webm"))
    assert len(produced) == 1, list(out.iterdir())
    assert output is None or output == produced[0]
    with av.open(str(produced[0])) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        assert container.streams.video[0].height == 144
        assert container.streams.audio[0].codec_context.name == "opus"
        assert container.streams.audio[0].sample_rate == 48000


def test_invalid_workflow_file_names_the_field(clips: ClipCache, tmp_path: Path) -> None:
    source = clips(duration=2.0, width=320, height=240)
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({"TranscodeTaskSet": [{"Definition": 424242}]}))
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "ResourceNotFound.TemplateNotExist" in proc.stdout
    assert "transcode_task_set[0].definition" in proc.stdout


def test_chained_workflow_file(clips: ClipCache, tmp_path: Path) -> None:
    """A workflow file takes the task graph's ``id`` / ``input``: the screenshots and the GIF
    are made from the 360p rendition, not from the 480p source."""
    source = clips(duration=2.0, width=854, height=480, fps=25)
    workflow = tmp_path / "chain.json"
    workflow.write_text(
        json.dumps(
            {
                "media_process_task": {
                    "transcode_task_set": [{"definition": 100010, "id": "r360"}],
                    "snapshot_by_time_offset_task_set": [
                        {"definition": 10, "ext_time_offset_set": ["50%"], "input": "r360"}
                    ],
                    "animated_graphic_task_set": [
                        {
                            "definition": 20000,
                            "start_time_offset": 0,
                            "end_time_offset": 1,
                            "input": "r360",
                        }
                    ],
                }
            }
        )
    )
    out = tmp_path / "out"
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    by_type = results_by_type(json.loads(proc.stdout))
    assert [t["Status"] for t in by_type["Transcode"]] == ["SUCCESS"]
    (snapshot,) = by_type["SnapshotByTimeOffset"]
    (gif,) = by_type["AnimatedGraphics"]
    pictures = [p["Path"] for p in snapshot["Output"]["PicInfoSet"]] + [gif["Output"]["Path"]]
    for path in pictures:
        with av.open(str(out / path.lstrip("/"))) as container:
            ctx = container.streams.video[0].codec_context
            assert (ctx.width, ctx.height) == (640, 360), path


def test_workflow_file_with_a_ladder(clips: ClipCache, tmp_path: Path) -> None:
    """The preset HLS ladder 10 on a 540p source: the 360p and 540p rungs, checked, in OUTDIR
    under the compatible API's names."""
    source = clips(duration=3.0, width=960, height=540, fps=25)
    workflow = tmp_path / "abr.json"
    workflow.write_text(
        json.dumps({"AdaptiveDynamicStreamingTaskSet": [{"Definition": 10, "Id": "abr"}]})
    )
    out = tmp_path / "out"
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    (ladder,) = results_by_type(json.loads(proc.stdout))["AdaptiveDynamicStreaming"]
    assert ladder["Status"] == "SUCCESS", ladder
    output = ladder["Output"]
    assert output["Path"] == f"/{source.stem}_adaptiveDynamicStreaming_10.m3u8"
    assert output["StreamCheck"]["Passed"] is True
    master = m3u8.load(str(out / output["Path"].lstrip("/")))
    assert sorted(p.stream_info.resolution for p in master.playlists) == [(640, 360), (960, 540)]
    for variant in master.playlists:
        media = m3u8.load(str(out / variant.uri))
        assert all((out / segment.uri).stat().st_size > 0 for segment in media.segments)
    assert json.loads((out / "result.json").read_text())["Status"] == "FINISH"


def test_workflow_file_with_a_bad_edge_names_it(clips: ClipCache, tmp_path: Path) -> None:
    source = clips(duration=2.0, width=320, height=240)
    workflow = tmp_path / "chain.json"
    workflow.write_text(
        json.dumps(
            {
                "TranscodeTaskSet": [{"Definition": 100010, "Id": "r360"}],
                "ImageSpriteTaskSet": [{"Definition": 10, "Input": "nope"}],
            }
        )
    )
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "InvalidParameterValue.Input" in proc.stdout
    assert "nope" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("maker", "code"),
    [
        (make_zero_byte, "InvalidInput.EmptyFile"),
        (make_text_as_mp4, "InvalidInput.NotMedia"),
        (make_random_bytes, "InvalidInput.NotMedia"),
        (make_truncated_mp4, "InvalidInput.Truncated"),
        (None, "ResourceNotFound.ObjectNotFound"),
    ],
)
def test_bad_input_fails_with_a_code(
    maker: Any, code: str, clips: ClipCache, tmp_path: Path
) -> None:
    source = tmp_path / "missing.mp4" if maker is None else clips.make(maker, ".mp4")
    out = tmp_path / "out"
    proc = run_cli(str(source), "-o", str(out), "--json", timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["ErrCodeExt"] == code
    assert result["Message"]
    for item in result["MediaProcessResultSet"]:
        body = next(v for k, v in item.items() if k != "Type" and v is not None)
        assert body["Status"] == "FAIL" and body["ErrCodeExt"] == code
    assert sorted(p.name for p in out.iterdir()) == ["result.json"]


def test_audio_only_source(clips: ClipCache, tmp_path: Path) -> None:
    source = clips.make(make_audio_only, ".m4a", duration=2.0)
    workflow = tmp_path / "wf.json"
    workflow.write_text(
        json.dumps(
            {
                "TranscodeTaskSet": [{"Definition": 1010}, {"Definition": 100010}],
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
            }
        )
    )
    out = tmp_path / "out"
    proc = run_cli(str(source), "-w", str(workflow), "-o", str(out), "--json")
    assert proc.returncode == 1  # not every sub-task succeeded
    by_type = results_by_type(json.loads(proc.stdout))
    mp3, mp4 = by_type["Transcode"]
    assert mp3["Status"] == "SUCCESS"
    with av.open(str(out / mp3["Output"]["Path"].lstrip("/"))) as container:
        assert container.streams.audio[0].codec.name in {"mp3", "mp3float"}
        assert not container.streams.video
    assert mp4["Status"] == "FAIL"
    assert mp4["ErrCodeExt"] == "UnsupportedOperation.NoVideoStream"
    assert by_type["SnapshotByTimeOffset"][0]["ErrCodeExt"] == "UnsupportedOperation.NoVideoStream"


def test_the_source_is_probed_once(
    clips: ClipCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The default workflow needs the source's probe before the task; the task's own probe
    job reuses it rather than reading the file again."""
    from reelflow.cli.process import run_process
    from reelflow.executors import jobs

    source = clips(duration=2.0, width=320, height=240)
    probed: list[str] = []
    real = jobs.probe

    def counting(path: Any, **kwargs: Any) -> Any:
        probed.append(str(path))
        return real(path, **kwargs)

    monkeypatch.setattr(jobs, "probe", counting)
    monkeypatch.setenv("REELFLOW_VIDEO_PRESET", "ultrafast")
    out = tmp_path / "out"
    assert run_process(str(source), None, out, as_json=True) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "result.json").read_text())
    assert printed["Status"] == "FINISH" and printed["MetaData"]["Width"] == 320
    assert probed == []
