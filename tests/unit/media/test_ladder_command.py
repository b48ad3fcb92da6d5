"""The ladder's FFmpeg command (list equality), codec strings and bit-rate arithmetic."""

from __future__ import annotations

from pathlib import Path

from reelflow.media.ladder.codecs import aac_codec, avc_codec, hevc_codec
from reelflow.media.ladder.command import build_ladder_command
from reelflow.media.ladder.rates import (
    average_bitrate,
    buffered_bitrate,
    peak_bitrate,
    target_duration,
)
from reelflow.specs.ladders import (
    AudioRendition,
    LadderFormat,
    ResolvedLadder,
    SegmentType,
    VideoRendition,
)
from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo
from reelflow.specs.units import AudioCodec, VideoCodec

RAW = Path("/w/raw")
INFO = MediaInfo(
    "mov,mp4",
    8.0,
    1,
    None,
    (VideoStreamInfo(0, "h264", 1920, 1080, 0, 25.0, 25, 1, "yuv420p", None, 8.0, False, 200),),
    (AudioStreamInfo(1, "aac", 48000, 2, None, 8.0),),
)


def ladder(fmt: LadderFormat, segment_type: SegmentType) -> ResolvedLadder:
    return ResolvedLadder(
        format=fmt,
        segment_type=segment_type,
        segment_seconds=2,
        fps=25.0,
        keyint=50,
        video=[
            VideoRendition(stream_info=0, codec=VideoCodec.H264, width=640, height=360,
                           bitrate=400, audio_group="audio0"),
            VideoRendition(stream_info=1, codec=VideoCodec.H264, width=1280, height=720,
                           bitrate=1800, audio_group="audio0"),
        ],
        audio=[AudioRendition(group="audio0", codec=AudioCodec.AAC, bitrate=64,
                              sample_rate=44100, channels=2)],
    )  # fmt: skip


def video_and_audio(i: int, kbps: int) -> list[str]:
    s = f":v:{i}"
    return [
        f"-c{s}", "libx264", f"-preset{s}", "fast", f"-b{s}", f"{kbps}k",
        f"-maxrate{s}", f"{kbps * 3 // 2}k", f"-bufsize{s}", f"{kbps * 2}k",
        f"-force_key_frames{s}", "expr:gte(t,n_forced*2)", f"-profile{s}", "high",
        f"-g{s}", "50", f"-sc_threshold{s}", "0", f"-x264-params{s}", "open_gop=0",
    ]  # fmt: skip


HEAD = [
    "-y", "-i", "in.mp4", "-filter_complex",
    "[0:v:0]fps=25,split=2[b0][b1];"
    "[b0]scale=640:360:flags=bicubic,setsar=1,format=yuv420p[v0];"
    "[b1]scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[v1]",
    "-map", "[v0]", "-map", "[v1]", "-map", "0:a:0",
    *video_and_audio(0, 400), *video_and_audio(1, 1800),
    "-c:a:0", "aac", "-b:a:0", "64k", "-ar:a:0", "44100", "-ac:a:0", "2",
    "-map_metadata", "-1", "-sn", "-dn",
]  # fmt: skip


def test_hls_ts_command_decodes_once_and_shares_the_audio() -> None:
    command = build_ladder_command(
        "in.mp4", INFO, ladder(LadderFormat.HLS, SegmentType.TS), RAW, video_preset="fast"
    )
    assert command.args == [
        *HEAD,
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", "v:0,agroup:audio0,name:v0 v:1,agroup:audio0,name:v1 "
        "a:0,agroup:audio0,name:a0",
        "-hls_segment_filename", "/w/raw/%v_%d.ts", "/w/raw/%v.m3u8",
    ]  # fmt: skip
    assert [(s.kind, s.index, s.playlist.name) for s in command.streams] == [
        ("video", 0, "v0.m3u8"), ("video", 1, "v1.m3u8"), ("audio", 0, "a0.m3u8"),
    ]  # fmt: skip
    assert command.mpd is None


def test_cmaf_byterange_command_uses_the_dash_muxer_with_hls_playlists() -> None:
    command = build_ladder_command(
        "in.mp4",
        INFO,
        ladder(LadderFormat.CMAF, SegmentType.MP4_BYTERANGE),
        RAW,
        video_preset="fast",
    )
    assert command.args == [
        *HEAD,
        "-f", "dash", "-seg_duration", "2", "-dash_segment_type", "mp4",
        "-use_template", "1", "-use_timeline", "1", "-hls_playlist", "1",
        "-hls_master_name", "master.m3u8", "-adaptation_sets", "id=0,streams=v id=1,streams=a",
        "-single_file", "1", "-single_file_name", "stream_$RepresentationID$.mp4",
        "/w/raw/manifest.mpd",
    ]  # fmt: skip
    assert [s.playlist.name for s in command.streams] == [
        "media_0.m3u8", "media_1.m3u8", "media_2.m3u8",
    ]  # fmt: skip


def test_codec_strings_from_parameter_sets() -> None:
    avcc = bytes.fromhex("0164001fffe1")
    assert avc_codec(avcc) == "avc1.64001f"
    annexb_sps = bytes.fromhex("0000000167640028acd9") + bytes.fromhex("0000000168ebe3cb")
    assert avc_codec(b"", annexb_sps) == "avc1.640028"
    hvcc = bytes.fromhex("0101600000009000000000003cf000fcfdf8f8")
    assert hevc_codec(hvcc) == "hvc1.1.6.L60.90"
    assert aac_codec(bytes.fromhex("1190"), None) == "mp4a.40.2"
    assert aac_codec(b"", "HE-AAC") == "mp4a.40.5"
    assert avc_codec(b"") is None


def test_rates() -> None:
    # A 20 ms tail segment is measured with the segment before it, not on its own.
    sizes, durations = [250_000, 250_000, 2_000], [2.0, 2.0, 0.02]
    assert target_duration(durations) == 2
    assert target_duration([2.5, 1.0]) == 3  # halves round up
    assert peak_bitrate(sizes, durations, 2) == 1_000_000
    assert average_bitrate(sizes, durations) == 999_005
    # Media shorter than half a target: the whole.
    assert peak_bitrate([1000], [0.5], 6) == 16_000


def test_dash_buffered_rate() -> None:
    # 1 Mbit segments of 2 s with 4 s of buffer: the first needs 1 Mbit in 4 s; two in 6 s.
    assert buffered_bitrate([125_000, 125_000], [2.0, 2.0], 4.0) == 333_334
    # A player may join at any segment: a big one must arrive within the buffer time.
    assert buffered_bitrate([1_000, 500_000], [2.0, 2.0], 2.0) == 2_000_000
