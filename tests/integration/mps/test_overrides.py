"""``OverrideParameter`` of a ``TranscodeTaskSet`` item through the official SDK against a
real server: the named template's fields replaced for that task only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.clips import ClipCache, run_ffmpeg
from tests.integration.media.http_server import serve
from tests.integration.mps.conftest import REGION
from tests.integration.mps.sdk import call, wait_finished
from tests.integration.server.media import download, upload
from tests.integration.server.process import ServerProcess

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

TEMPLATE = {
    "Container": "mp4",
    "Name": "override-base",
    "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "Height": 180},
    "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
}


def process(mps: MpsClient, item: dict[str, Any]) -> dict[str, Any]:
    params = {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": "/in/ov.mp4"},
        },
        "OutputDir": "/ov-out/",
        "MediaProcessTask": {"TranscodeTaskSet": [item]},
    }
    detail = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId)
    [result] = detail["WorkflowTask"]["MediaProcessResultSet"]
    task: dict[str, Any] = result["TranscodeTask"]
    return task


def test_override_changes_this_task_only(
    server: ServerProcess, mps: MpsClient, clip: Path, tmp_path: Path
) -> None:
    with server.client() as client:
        upload(client, "in/ov.mp4", clip)
    definition = call(mps, "CreateTranscodeTemplate", TEMPLATE).Definition
    override = {
        "Container": "mov",
        "VideoTemplate": {"Height": 144, "Codec": "libx265"},
        "AudioTemplate": {"SampleRate": 48000},
    }
    task = process(mps, {"Definition": definition, "OverrideParameter": override})
    assert task["Status"] == "SUCCESS", task
    assert task["Input"]["OverrideParameter"]["VideoTemplate"]["Height"] == 144
    output = task["Output"]
    assert output["Path"] == f"/ov-out/ov_transcode_{definition}.mov"
    with server.client() as client:
        local = download(client, output["Path"], tmp_path)
    with av.open(str(local)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.height) == ("hevc", 144)
        assert audio.codec_context.sample_rate == 48000

    # The template itself is unchanged, and a task without the override uses it as stored.
    found = call(mps, "DescribeTranscodeTemplates", {"Definitions": [definition]})
    assert found.TranscodeTemplateSet[0].VideoTemplate.Height == 180
    plain = process(mps, {"Definition": definition})
    assert plain["Output"]["Height"] == 180
    assert plain["Output"]["Path"].endswith(".mp4")


def test_an_invalid_override_names_the_field(mps: MpsClient) -> None:
    definition = call(mps, "CreateTranscodeTemplate", TEMPLATE).Definition
    with pytest.raises(TencentCloudSDKException) as caught:
        process(
            mps, {"Definition": definition, "OverrideParameter": {"VideoTemplate": {"Bitrate": 5}}}
        )
    error = caught.value
    assert error.get_code().startswith("InvalidParameterValue"), error
    assert "OverrideParameter.VideoTemplate.Bitrate" in error.get_message(), error.get_message()


def test_head_and_tail_clips_are_joined_around_the_rendition(
    server: ServerProcess, mps: MpsClient, clip: Path, clips: ClipCache, tmp_path: Path
) -> None:
    head = clips(duration=1.0, width=640, height=360, fps=30, audio=False)
    tail = clips(duration=1.5, width=320, height=240, sample_rate=44100)
    with server.client() as client:
        upload(client, "in/ov.mp4", clip)
        upload(client, "in/tail.mp4", tail)
    definition = call(mps, "CreateTranscodeTemplate", TEMPLATE).Definition
    with serve(head.parent) as base:
        clips_given = {
            "HeadSet": [{"Type": "URL", "UrlInputInfo": {"Url": base + head.name}}],
            "TailSet": [
                {
                    "Type": "COS",
                    "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": "/in/tail.mp4"},
                }
            ],
        }
        task = process(mps, {"Definition": definition, "HeadTailParameter": clips_given})
    assert task["Status"] == "SUCCESS", task
    echoed = task["Input"]["HeadTailParameter"]
    assert echoed["HeadSet"][0]["UrlInputInfo"]["Url"] == base + head.name
    assert echoed["TailSet"][0]["CosInputInfo"]["Object"] == "/in/tail.mp4"
    with server.client() as client:
        local = download(client, task["Output"]["Path"], tmp_path)
    with av.open(str(local)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        times = [f.time for f in container.decode(video) if f.time is not None]
        container.seek(0)
        end = max(
            f.time + f.samples / f.sample_rate
            for f in container.decode(audio)
            if f.time is not None
        )
        assert (video.codec_context.width, video.codec_context.height) == (240, 180)
    length = max(times) + 1 / 25
    assert abs(length - (1.0 + 2.0 + 1.5)) <= 1 / 25, length
    assert abs(end - length) <= 1 / 25, (end, length)
    assert task["Output"]["Height"] == 180
    assert abs(task["Output"]["Duration"] - 4.5) <= 2 / 25


def luma(path: Path) -> list[bytes]:
    """The first frame's luma rows."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        plane = frame.planes[0]
        data, stride = bytes(plane), plane.line_size
        return [data[y * stride : y * stride + frame.width] for y in range(frame.height)]


def difference(a: list[bytes], b: list[bytes], ys: range, xs: range) -> float:
    total = sum(abs(a[y][x] - b[y][x]) for y in ys for x in xs)
    return total / (len(ys) * len(xs))


def test_an_inline_watermark_reads_its_image_from_a_bucket(
    server: ServerProcess, mps: MpsClient, clip: Path, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    run_ffmpeg(["-f", "lavfi", "-i", "color=white:size=64x64", "-frames:v", "1", str(logo)])
    with server.client() as client:
        upload(client, "in/ov.mp4", clip)
        upload(client, "marks/logo.png", logo)
    definition = call(mps, "CreateTranscodeTemplate", TEMPLATE).Definition
    image = {
        "Type": "COS",
        "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": "/marks/logo.png"},
    }
    mark = {
        "Definition": 0,
        "RawParameter": {
            "Type": "image",
            "CoordinateOrigin": "TopLeft",
            "XPos": "0px",
            "YPos": "0px",
            "ImageTemplate": {"ImageContent": image, "Width": "50%", "RepeatType": "repeat"},
        },
    }
    task = process(mps, {"Definition": definition, "WatermarkSet": [mark]})
    assert task["Status"] == "SUCCESS", task
    echoed = task["Input"]["WatermarkSet"][0]["RawParameter"]
    assert echoed["ImageTemplate"]["ImageContent"]["CosInputInfo"]["Object"] == "/marks/logo.png"
    assert echoed["ImageTemplate"]["Width"] == "50%"
    with server.client() as client:
        marked = download(client, task["Output"]["Path"], tmp_path)
        (tmp_path / "plain").mkdir()
        plain = download(
            client, process(mps, {"Definition": definition})["Output"]["Path"], tmp_path / "plain"
        )
    # The logo covers the top-left quarter of the picture: those pixels differ from a
    # rendition without it, the bottom-right ones do not.
    first, second = luma(marked), luma(plain)
    h, w = len(first), len(first[0])
    top_left = difference(first, second, range(h // 4), range(w // 4))
    bottom_right = difference(first, second, range(h - h // 4, h), range(w - w // 4, w))
    assert top_left > 5 * max(bottom_right, 1.0), (top_left, bottom_right)


def test_an_inline_watermark_reads_its_image_from_a_url(
    server: ServerProcess, mps: MpsClient, clip: Path, tmp_path: Path
) -> None:
    """The image URL is fetched through the egress policy (opened for 127.0.0.1 only in
    these tests) when the request arrives; the task then needs no network."""
    logo = tmp_path / "served" / "logo.png"
    logo.parent.mkdir()
    run_ffmpeg(["-f", "lavfi", "-i", "color=white:size=64x64", "-frames:v", "1", str(logo)])
    with server.client() as client:
        upload(client, "in/ov.mp4", clip)
    definition = call(mps, "CreateTranscodeTemplate", TEMPLATE).Definition
    with serve(logo.parent) as base:
        image = {"Type": "URL", "UrlInputInfo": {"Url": base + "logo.png"}}
        mark = {
            "Definition": 0,
            "RawParameter": {
                "Type": "image",
                "ImageTemplate": {"ImageContent": image, "Width": "50%"},
            },
        }
        params = {
            "InputInfo": {
                "Type": "COS",
                "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": "/in/ov.mp4"},
            },
            "OutputDir": "/ov-url/",
            "MediaProcessTask": {
                "TranscodeTaskSet": [{"Definition": definition, "WatermarkSet": [mark]}]
            },
        }
        task_id = call(mps, "ProcessMedia", params).TaskId
    detail = wait_finished(mps, task_id)  # the image server is gone by now
    task = detail["WorkflowTask"]["MediaProcessResultSet"][0]["TranscodeTask"]
    assert task["Status"] == "SUCCESS", task
    echoed = task["Input"]["WatermarkSet"][0]["RawParameter"]["ImageTemplate"]
    assert echoed["ImageContent"]["UrlInputInfo"] == image["UrlInputInfo"]
    with server.client() as client:
        marked = download(client, task["Output"]["Path"], tmp_path)
        (tmp_path / "plain").mkdir()
        plain = download(
            client, process(mps, {"Definition": definition})["Output"]["Path"], tmp_path / "plain"
        )
    first, second = luma(marked), luma(plain)
    h, w = len(first), len(first[0])
    top_left = difference(first, second, range(h // 4), range(w // 4))
    bottom_right = difference(first, second, range(h - h // 4, h), range(w - w // 4, w))
    assert top_left > 5 * max(bottom_right, 1.0), (top_left, bottom_right)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        # Refused by the egress policy (only 127.0.0.1 is opened): nothing is connected to.
        ("http://10.20.30.40/logo.png", "InvalidParameter.InvalidUrl"),
        ("http://169.254.169.254/latest/logo.png", "InvalidParameter.InvalidUrl"),
        ("ftp://example.com/logo.png", "InvalidParameter.InvalidUrl"),
    ],
)
def test_an_inline_watermark_url_the_policy_refuses(mps: MpsClient, url: str, code: str) -> None:
    definition = call(mps, "CreateTranscodeTemplate", TEMPLATE).Definition
    image = {"Type": "URL", "UrlInputInfo": {"Url": url}}
    mark = {
        "Definition": 0,
        "RawParameter": {"Type": "image", "ImageTemplate": {"ImageContent": image}},
    }
    with pytest.raises(TencentCloudSDKException) as caught:
        process(mps, {"Definition": definition, "WatermarkSet": [mark]})
    assert caught.value.get_code() == code, caught.value
    assert "WatermarkSet.0.RawParameter.ImageTemplate.ImageContent" in caught.value.get_message()


def test_an_inline_watermark_url_that_is_not_an_image(mps: MpsClient, tmp_path: Path) -> None:
    (tmp_path / "page.png").write_text("<html>not an image</html>")
    definition = call(mps, "CreateTranscodeTemplate", TEMPLATE).Definition
    with serve(tmp_path) as base:
        for name, code in (("page.png", "InvalidParameterValue.ImageContent"),
                           ("missing.png", "ResourceNotFound.ObjectNotFound")):  # fmt: skip
            image = {"Type": "URL", "UrlInputInfo": {"Url": base + name}}
            mark = {
                "Definition": 0,
                "RawParameter": {"Type": "image", "ImageTemplate": {"ImageContent": image}},
            }
            with pytest.raises(TencentCloudSDKException) as caught:
                process(mps, {"Definition": definition, "WatermarkSet": [mark]})
            assert caught.value.get_code() == code, caught.value
