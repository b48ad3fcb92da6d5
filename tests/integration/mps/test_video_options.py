"""The advanced video fields of a transcode template through the official SDK against a
real server (issue 20): ``VideoProfile``, ``VideoLevel``, ``Bframes``, ``Mode``, ``Sar``,
``HlsTime``, ``SegmentType``; each output read back with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import m3u8
import pytest
from av.video.frame import PictureType
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.clips import ClipCache
from tests.integration.mps.conftest import REGION
from tests.integration.mps.sdk import call, wait_finished
from tests.integration.server.media import download, upload
from tests.integration.server.process import ServerProcess

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

AUDIO = {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100}


@pytest.fixture(scope="module")
def source(server: ServerProcess, clips: ClipCache) -> str:
    """A 4 s 320x240 clip in the bucket; its input."""
    with server.client() as client:
        upload(client, "in/opts.mp4", clips(duration=4.0, width=320, height=240))
    return "/in/opts.mp4"


def transcode(
    server: ServerProcess, mps: MpsClient, source: str, video: dict[str, Any], into: Path,
    container: str = "mp4",
) -> tuple[dict[str, Any], Path]:  # fmt: skip
    """Create a template with ``video``, run it on ``source``; (the output, its local copy)."""
    template = {"Container": container, "VideoTemplate": video, "AudioTemplate": AUDIO}
    definition = call(mps, "CreateTranscodeTemplate", template).Definition
    params = {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": source},
        },
        "OutputDir": "/opts-out/",
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": definition}]},
    }
    detail = wait_finished(mps, call(mps, "ProcessMedia", params).TaskId)
    [result] = detail["WorkflowTask"]["MediaProcessResultSet"]
    task = result["TranscodeTask"]
    assert task["Status"] == "SUCCESS", task
    with server.client() as client:
        local = download(client, task["Output"]["Path"], into)
    return task["Output"], local


def picture_types(path: Path) -> set[str]:
    with av.open(str(path)) as container:
        return {PictureType(frame.pict_type).name for frame in container.decode(video=0)}


def per_second_kbps(path: Path) -> tuple[float, list[float]]:
    """(the video stream's bitrate in kbit/s, the bits of each whole second in kbit)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        seconds: dict[int, int] = {}
        for packet in container.demux(stream):
            if packet.pts is not None:
                second = int(packet.pts * stream.time_base)
                seconds[second] = seconds.get(second, 0) + packet.size
        whole = [seconds[s] * 8 / 1000 for s in sorted(seconds)[:-1]]  # the last is partial
        return stream.bit_rate / 1000, whole


def test_profile_level_and_b_frames(
    server: ServerProcess, mps: MpsClient, source: str, tmp_path: Path
) -> None:
    base = {"Codec": "libx264", "Fps": 25, "Bitrate": 400}
    _, baseline = transcode(
        server, mps, source, {**base, "VideoProfile": "baseline", "VideoLevel": "3"}, tmp_path
    )
    with av.open(str(baseline)) as container:
        context = container.streams.video[0].codec_context
        assert "Baseline" in context.profile
        assert context.level == 30
    assert "B" not in picture_types(baseline)

    (tmp_path / "b").mkdir()
    _, main = transcode(
        server, mps, source,
        {**base, "VideoProfile": "main", "VideoLevel": "3.1", "Bframes": 3}, tmp_path / "b",
    )  # fmt: skip
    with av.open(str(main)) as container:
        context = container.streams.video[0].codec_context
        assert (context.profile, context.level) == ("Main", 31)
    assert "B" in picture_types(main)

    (tmp_path / "n").mkdir()
    _, none = transcode(server, mps, source, {**base, "Bframes": 0}, tmp_path / "n")
    assert "B" not in picture_types(none)


def test_template_echoes_the_advanced_fields(mps: MpsClient) -> None:
    video = {
        "Codec": "libx265", "Fps": 25, "Bitrate": 500, "VideoLevel": "4.1", "Bframes": 2,
        "Mode": "CBR", "Sar": "1:1", "HlsTime": 4, "SegmentType": 0,
    }  # fmt: skip
    template = {"Container": "hls", "VideoTemplate": video, "AudioTemplate": AUDIO}
    definition = call(mps, "CreateTranscodeTemplate", template).Definition
    found = call(mps, "DescribeTranscodeTemplates", {"Definitions": [definition]})
    echoed = found.TranscodeTemplateSet[0].VideoTemplate
    assert (echoed.VideoLevel, echoed.Bframes, echoed.Mode, echoed.Sar) == ("4.1", 2, "CBR", "1:1")
    assert (echoed.HlsTime, echoed.SegmentType) == (4, 0)


@pytest.mark.parametrize(
    ("video", "field"),
    [
        ({"Codec": "libx265", "VideoProfile": "high"}, "VideoTemplate"),
        ({"Codec": "libx264", "VideoLevel": "3.3"}, "VideoTemplate"),
        ({"Codec": "libx264", "Mode": "CBR", "Bitrate": 0}, "VideoTemplate"),
        ({"Codec": "libx264", "Bframes": 17}, "Bframes"),
        ({"Codec": "libx264", "SegmentType": 1}, "SegmentType"),
        ({"Codec": "libx264", "SegmentType": 3}, "SegmentType"),
        ({"Codec": "libx264", "Sar": "4:3"}, "Sar"),
    ],
)
def test_out_of_range_values_are_refused(mps: MpsClient, video: dict[str, Any], field: str) -> None:
    video = {"Fps": 25, "Bitrate": 300, **video}
    template = {"Container": "mp4", "VideoTemplate": video, "AudioTemplate": AUDIO}
    with pytest.raises(TencentCloudSDKException) as caught:
        call(mps, "CreateTranscodeTemplate", template)
    assert caught.value.get_code() == f"InvalidParameterValue.{field}"


def test_cbr_holds_the_bitrate_where_vbr_spends_what_the_picture_needs(
    server: ServerProcess, mps: MpsClient, source: str, tmp_path: Path
) -> None:
    # 4000 kbit/s is more than a 320x240 test pattern needs: VBR stays well under it, CBR
    # pads up to it (x264 filler data) every second.
    target = 4000
    video = {"Codec": "libx264", "Fps": 25, "Bitrate": target}
    (tmp_path / "cbr").mkdir()
    _, cbr = transcode(server, mps, source, {**video, "Mode": "CBR"}, tmp_path / "cbr")
    (tmp_path / "vbr").mkdir()
    _, vbr = transcode(server, mps, source, {**video, "Mode": "VBR"}, tmp_path / "vbr")
    cbr_rate, cbr_seconds = per_second_kbps(cbr)
    vbr_rate, vbr_seconds = per_second_kbps(vbr)
    assert 0.9 * target < cbr_rate < 1.1 * target, cbr_rate
    assert all(0.85 * target < s < 1.15 * target for s in cbr_seconds), cbr_seconds
    assert vbr_rate < 0.85 * cbr_rate, (vbr_rate, cbr_rate)
    assert max(vbr_seconds) < 1.5 * target, vbr_seconds  # the 1.5x peak


def test_sample_aspect_ratio(
    server: ServerProcess, mps: MpsClient, source: str, tmp_path: Path
) -> None:
    video = {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "Sar": "2:1"}
    _, local = transcode(server, mps, source, video, tmp_path)
    with av.open(str(local)) as container:
        stream = container.streams.video[0]
        assert stream.sample_aspect_ratio == Fraction(2, 1)
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)


def test_hls_segment_duration(
    server: ServerProcess, mps: MpsClient, source: str, tmp_path: Path
) -> None:
    video = {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "HlsTime": 1, "SegmentType": 0}
    output, local = transcode(server, mps, source, video, tmp_path, container="hls")
    lines = local.read_text().splitlines()
    durations = [float(line[8:].rstrip(",")) for line in lines if line.startswith("#EXTINF:")]
    assert len(durations) == 4, lines
    assert all(abs(d - 1.0) <= 0.04 for d in durations), durations  # one frame at 25 fps
    assert "#EXT-X-TARGETDURATION:1" in lines
    assert all(line.endswith(".ts") for line in lines if line and not line.startswith("#"))
    assert output["Path"].endswith(".m3u8")


@pytest.mark.parametrize(
    ("segment_type", "ext", "byterange", "init"),
    [(0, ".ts", False, False), (2, ".ts", True, False), (7, ".m4s", False, True),
     (5, ".mp4", True, True)],
)  # fmt: skip
def test_hls_segment_types(
    server: ServerProcess, mps: MpsClient, source: str, tmp_path: Path,
    segment_type: int, ext: str, byterange: bool, init: bool,
) -> None:  # fmt: skip
    """0: TS segments, 2: one TS file in byte ranges, 7: fMP4 segments with an init section
    (EXT-X-MAP), 5: one fMP4 file in byte ranges (its init section a range too); the
    playlist, read with m3u8, names files that exist in the bucket beside it, and the whole
    plays back (PyAV) for the source's 4 s."""
    video = {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "HlsTime": 1}
    video["SegmentType"] = segment_type
    output, local = transcode(server, mps, source, video, tmp_path, container="hls")
    playlist = m3u8.loads(local.read_text())
    assert len(playlist.segments) == 4, local.read_text()
    assert playlist.target_duration == 1
    uris = {segment.uri for segment in playlist.segments}
    assert all(uri.endswith(ext) and "/" not in uri for uri in uris), uris
    assert len(uris) == (1 if byterange else 4)
    assert all(bool(segment.byterange) == byterange for segment in playlist.segments)
    maps = playlist.segment_map
    if init:
        [section] = maps
        if byterange:  # the init section is the start of the one file
            assert section.uri in uris and section.byterange.endswith("@0")
        else:
            assert section.uri.endswith("_init.mp4") and not section.byterange
    else:
        assert not maps
    folder = output["Path"].rpartition("/")[0]
    with server.client() as client:
        for name in uris | {m.uri for m in maps}:
            download(client, f"{folder}/{name}", tmp_path)
    if byterange:  # the ranges follow each other to the end of the file
        [name] = uris
        end = int(maps[0].byterange.partition("@")[0]) if init else 0
        for segment in playlist.segments:
            length, _, start = segment.byterange.partition("@")
            assert int(start) == end, playlist.dumps()
            end += int(length)
        assert end == (tmp_path / name).stat().st_size
    assert output["Size"] == local.stat().st_size
    with av.open(str(local)) as container:  # TS timestamps start at 1.4 s: count frames
        stream = container.streams.video[0]
        assert stream.codec_context.height == 240
        frames = sum(1 for _ in container.decode(stream))
    assert frames == 100, frames  # 4 s at 25 fps
