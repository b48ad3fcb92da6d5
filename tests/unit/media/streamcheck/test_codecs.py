from __future__ import annotations

import pytest

from reelflow.media.streamcheck.codecs import (
    audio_codec,
    avc_codec,
    codec_mismatches,
    hevc_codec,
    same_codec,
    split_codecs,
    video_codec,
)

# An avcC record of High profile (100 = 0x64), level 3.1 (31 = 0x1f).
AVCC = bytes([1, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x04])
# Annex B: an AUD, then an SPS (NAL type 7) of Constrained Baseline, level 1.3.
ANNEX_B = b"\x00\x00\x00\x01\x09\xf0" + b"\x00\x00\x00\x01\x67\x42\xc0\x0d\xda"


def test_avc_from_avcc_and_annex_b() -> None:
    assert avc_codec(AVCC) == "avc1.64001f"
    assert avc_codec(ANNEX_B) == "avc1.42c00d"
    assert avc_codec(b"\x00\x00\x01\x65\x88") is None  # an IDR slice, no SPS


def test_video_codec_falls_back_to_the_first_packet() -> None:
    assert video_codec("h264", b"", ANNEX_B) == "avc1.42c00d"
    assert video_codec("h264", b"", b"") == "avc1"
    assert video_codec("vp9", b"") == "vp09"


def test_hevc_from_hvcc() -> None:
    # Main profile (1), compatibility flags 0x60000000, no tier flag, level 93 (3.1),
    # constraint byte 0x90: the hvc1.1.6.L93.90 of Apple's HLS authoring examples.
    hvcc = bytes([1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93])
    assert hevc_codec(hvcc) == "hvc1.1.6.L93.90"


@pytest.mark.parametrize(
    ("name", "profile", "expected"),
    [("aac", "LC", "mp4a.40.2"), ("aac", "HE-AAC", "mp4a.40.5"), ("aac", "HE-AACv2", "mp4a.40.29"),
     ("mp3", None, "mp4a.40.34"), ("ac3", None, "ac-3"), ("opus", None, "Opus")],
)  # fmt: skip
def test_audio_codec(name: str, profile: str | None, expected: str) -> None:
    assert audio_codec(name, profile) == expected


def test_same_codec_compares_profile_and_level_of_h264() -> None:
    assert same_codec("avc1.64001F", "avc1.64001f")
    assert same_codec("avc1.640c1f", "avc1.64001f")  # constraint flags are not compared
    assert same_codec("avc3.64001f", "avc1.64001f")
    assert not same_codec("avc1.64001e", "avc1.64001f")  # level 3.0 vs 3.1
    assert not same_codec("avc1.4d001f", "avc1.64001f")  # Main vs High
    assert not same_codec("avc1", "avc1.64001f")
    assert not same_codec("mp4a.40.5", "mp4a.40.2")
    assert same_codec("mp4a.6B", "mp4a.40.34")


def test_codec_mismatches_names_each_problem() -> None:
    assert (
        codec_mismatches(split_codecs("avc1.64001f, mp4a.40.2"), ["avc1.64001f", "mp4a.40.2"]) == []
    )
    assert codec_mismatches(["avc1.42c00d"], ["avc1.64001f", "mp4a.40.2"]) == [
        "declares avc1.42c00d but the stream is avc1.64001f",
        "does not declare mp4a.40.2",
    ]
    assert codec_mismatches(["avc1.64001f", "ac-3"], ["avc1.64001f"]) == [
        "declares ac-3 but no stream has it"
    ]
