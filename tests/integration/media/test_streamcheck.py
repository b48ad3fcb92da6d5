"""The ladder checker on real ladders: FFmpeg's hls and dash muxers on lavfi clips, completed
or broken by hand. A complete ladder passes every rule; each breakage is caught by its rule,
at the rendition and segment it is in, and by no other rule."""

from __future__ import annotations

import shutil
from ipaddress import ip_network
from pathlib import Path

import pytest

from reelflow.errors import UrlNotAllowed
from reelflow.media.streamcheck import StreamCheck, StreamReader, check_stream
from reelflow.net.egress import EgressPolicy
from tests.egress import file_server
from tests.integration.media.ladders import (
    complete_master,
    edit,
    encode_dash,
    encode_hls,
    merge_masters,
    write_segment_base_mpd,
)

pytestmark = pytest.mark.integration


def _failed(check: StreamCheck) -> set[str]:
    return check.failed_rules()


def _where(check: StreamCheck, rule: str) -> list[str]:
    return [f.where for f in check.failures if f.rule == rule]


@pytest.fixture(scope="module")
def ladders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw FFmpeg ladders, made once: ts/, fmp4/, byterange/, and dash/."""
    root = tmp_path_factory.mktemp("ladders")
    encode_hls(root / "ts")
    encode_hls(root / "fmp4", segment_type="fmp4")
    encode_hls(root / "byterange", single_file=True)
    encode_dash(root / "dash")
    return root


@pytest.fixture
def ts_ladder(ladders: Path, tmp_path: Path) -> Path:
    """A complete TS ladder of this test's own (free to break)."""
    folder = shutil.copytree(ladders / "ts", tmp_path / "ts")
    complete_master(folder / "master.m3u8")
    return folder / "master.m3u8"


def test_ffmpeg_ladder_lacks_only_what_the_hls_muxer_does_not_write(ladders: Path) -> None:
    """FFmpeg measures BANDWIDTH/AVERAGE-BANDWIDTH and writes CODECS itself: the checker,
    measuring the segments on its own, agrees with all of it; what fails is what the muxer
    never writes (FRAME-RATE, I-frame playlists), for each video variant."""
    check = check_stream(str(ladders / "ts" / "master.m3u8"))
    assert _failed(check) == {"hls.master.frame-rate", "hls.master.iframes"}
    assert sorted(_where(check, "hls.master.iframes")) == ["v0.m3u8", "v1.m3u8"]
    v0, v1 = check.renditions
    assert v0.codecs == ("avc1.42c00d", "mp4a.40.2")  # Constrained Baseline, level 1.3
    assert v1.codecs == ("avc1.42c00c", "mp4a.40.2")
    assert v0.resolution == (320, 180) and v1.resolution == (160, 90)
    assert v0.frame_rate == 25.0
    assert v0.segments == 4 and v0.duration == pytest.approx(7.0)
    assert v0.bandwidth_peak <= (v0.declared_bandwidth or 0)
    assert v1.bandwidth_average < v0.bandwidth_average


@pytest.mark.parametrize("kind", ["ts", "fmp4", "byterange"])
def test_complete_ladder_passes(ladders: Path, tmp_path: Path, kind: str) -> None:
    folder = shutil.copytree(ladders / kind, tmp_path / kind)
    complete_master(folder / "master.m3u8")
    check = check_stream(str(folder / "master.m3u8"))
    assert check.failures == ()
    assert check.passed
    rules = {result.rule for result in check.results}
    assert {"hls.master.iframes", "hls.iframe.keyframe", "segment.alignment",
            "segment.keyframe", "segment.decodable"} <= rules  # fmt: skip
    assert [r.kind for r in check.renditions] == ["video+audio", "video+audio"]


def test_wrong_bandwidth(ts_ladder: Path) -> None:
    edit(ts_ladder, "BANDWIDTH=", "BANDWIDTH=1000,X-OLD=")
    check = check_stream(str(ts_ladder))
    assert _failed(check) == {"hls.master.bandwidth"}
    (failure,) = check.failures
    assert failure.where == "v0.m3u8"
    assert "BANDWIDTH is 1000, below the measured peak" in failure.message


def test_average_bandwidth_far_from_measured(ts_ladder: Path) -> None:
    text = ts_ladder.read_text()
    declared = int(text.split("AVERAGE-BANDWIDTH=")[1].split(",")[0])
    edit(ts_ladder, f"AVERAGE-BANDWIDTH={declared}", f"AVERAGE-BANDWIDTH={declared * 12 // 10}")
    check = check_stream(str(ts_ladder))
    assert _failed(check) == {"hls.master.average-bandwidth"}
    assert _where(check, "hls.master.average-bandwidth") == ["v0.m3u8"]


def test_missing_codecs(ts_ladder: Path) -> None:
    edit(ts_ladder, 'CODECS="avc1.42c00c,mp4a.40.2"', "X-NONE=1")
    check = check_stream(str(ts_ladder))
    assert _failed(check) == {"hls.master.codecs"}
    (failure,) = check.failures
    assert failure.where == "v1.m3u8"
    assert failure.message == "no CODECS (the streams are avc1.42c00c,mp4a.40.2)"


def test_wrong_codecs(ts_ladder: Path) -> None:
    edit(ts_ladder, "avc1.42c00d", "avc1.64001f")
    check = check_stream(str(ts_ladder))
    assert _failed(check) == {"hls.master.codecs"}
    assert check.failures[0].message == "declares avc1.64001f but the stream is avc1.42c00d"


def test_target_duration_too_small(ts_ladder: Path) -> None:
    edit(ts_ladder.parent / "v1.m3u8", "#EXT-X-TARGETDURATION:2", "#EXT-X-TARGETDURATION:1")
    check = check_stream(str(ts_ladder))
    # The 2 s segments round above the target and last longer than target + 0.5 s; the last
    # one (1 s) is within both.
    assert _failed(check) == {"hls.media.target-duration", "hls.media.segment-duration"}
    assert _where(check, "hls.media.target-duration") == [
        f"v1.m3u8 segment {i} (v1_00{i}.ts)" for i in range(3)
    ]


def test_segments_without_keyframes(tmp_path: Path) -> None:
    """One long GOP cut by time: segments 1.. start mid-GOP."""
    master = encode_hls(tmp_path / "nokeys", keyframes=False)
    complete_master(master)
    check = check_stream(str(master))
    assert "segment.keyframe" in _failed(check)
    assert "v0.m3u8 segment 1 (v0_001.ts)" in _where(check, "segment.keyframe")
    assert "v0.m3u8 segment 0 (v0_000.ts)" not in _where(check, "segment.keyframe")
    # The I-frame entries of those segments point at no keyframe either.
    assert "hls.iframe.keyframe" in _failed(check)


def test_misaligned_renditions(tmp_path: Path) -> None:
    """Each rendition cut by its own command with its own hls_time (2 s and 3 s)."""
    first = encode_hls(tmp_path / "a", hls_time=2, rungs=((320, 180, "300k"),))
    second = encode_hls(tmp_path / "b", hls_time=3, rungs=((160, 90, "100k"),))
    master = tmp_path / "master.m3u8"
    merge_masters(master, [first, second])
    complete_master(master)
    check = check_stream(str(master))
    assert _failed(check) == {"segment.alignment"}
    assert _where(check, "segment.alignment") == ["b/v0.m3u8", "b/v0.m3u8 segment 1 (v0_001.ts)"]


def test_unreadable_segment_is_a_rule_failure(ts_ladder: Path) -> None:
    (ts_ladder.parent / "v1_002.ts").unlink()
    check = check_stream(str(ts_ladder))
    assert _failed(check) == {"segment.readable"}
    # The segment, and the I-frame playlist's entry for its keyframe.
    assert _where(check, "segment.readable")[0] == "v1.m3u8 segment 2 (v1_002.ts)"
    assert _where(check, "segment.readable")[1].startswith("iframes_v1.m3u8 segment 2 (v1_002.ts [")


def test_media_playlist_alone(ladders: Path) -> None:
    check = check_stream(str(ladders / "ts" / "v0.m3u8"))
    assert check.passed
    assert not any(r.rule.startswith("hls.master") for r in check.results)


def test_dash_ladder_passes(ladders: Path) -> None:
    """The dash muxer's MPD (SegmentTimeline): its nominal @bandwidth covers the segments under
    its minBufferTime, and its codecs are those of the streams."""
    check = check_stream(str(ladders / "dash" / "manifest.mpd"))
    assert check.failures == ()
    assert [r.name for r in check.renditions] == [
        "representation 0", "representation 1", "representation 2"
    ]  # fmt: skip
    assert check.renditions[0].codecs == ("avc1.42c00d",)
    assert check.renditions[2].codecs == ("mp4a.40.2",)
    assert check.renditions[0].segments == 4
    assert "segment.alignment" in {r.rule for r in check.results}


@pytest.mark.parametrize("layout", ["number", "single_file"])
def test_dash_layouts_pass(tmp_path: Path, layout: str) -> None:
    """$Number$ with @duration, and one file per Representation addressed by byte ranges."""
    mpd = encode_dash(tmp_path, timeline=False, single_file=layout == "single_file")
    check = check_stream(str(mpd))
    assert check.failures == ()
    assert [r.segments for r in check.renditions] == [4, 4, 4]
    assert check.renditions[0].duration == pytest.approx(7.0)


def test_dash_segment_base(tmp_path: Path) -> None:
    check = check_stream(str(write_segment_base_mpd(tmp_path)))
    assert check.failures == ()
    (rendition,) = check.renditions
    assert rendition.segments == 4
    assert rendition.codecs == ("avc1.42c00c",)


def test_dash_wrong_bandwidth_and_codecs(ladders: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(ladders / "dash", tmp_path / "dash")
    mpd = folder / "manifest.mpd"
    edit(mpd, 'bandwidth="300000"', 'bandwidth="1000"')
    edit(mpd, 'codecs="avc1.42c00c" ', "")
    check = check_stream(str(mpd))
    assert _failed(check) == {"dash.bandwidth", "dash.codecs"}
    assert _where(check, "dash.bandwidth") == ["representation 0"]
    assert _where(check, "dash.codecs") == ["representation 1"]


def test_dash_misaligned_representations(tmp_path: Path) -> None:
    """Keyframes every 2 s in one rung and every 3 s in the other: the dash muxer cuts each
    Representation at its own keyframes."""
    check = check_stream(str(encode_dash(tmp_path, gops=(2, 3))))
    assert _failed(check) == {"segment.alignment"}
    count, first = (f for f in check.failures if f.rule == "segment.alignment")
    assert (count.where, count.message) == (
        "representation 1",
        "3 segments, representation 0 has 4",
    )
    assert first.where == "representation 1 segment 2 (chunk-stream1-00002.m4s)"
    assert first.message.startswith(
        "starts at 3.000 s, representation 0 segment 2 (chunk-stream0-00002.m4s) at 2.000 s"
    )


def test_ladder_over_http(ladders: Path, tmp_path: Path) -> None:
    """Through the egress-guarded client: refused on loopback by default, checked when the
    policy opens 127.0.0.1. The server has no Range support: byte ranges are cut from the
    answer."""
    folder = shutil.copytree(ladders / "byterange", tmp_path / "byterange")
    complete_master(folder / "master.m3u8")
    with file_server(folder, "127.0.0.1") as base:
        with pytest.raises(UrlNotAllowed):
            check_stream(base + "master.m3u8")
        opened = EgressPolicy(allow=(ip_network("127.0.0.1/32"),))
        with StreamReader(egress=opened) as reader:
            check = check_stream(base + "master.m3u8", reader=reader)
    assert check.failures == ()
    assert check.source == base + "master.m3u8"
