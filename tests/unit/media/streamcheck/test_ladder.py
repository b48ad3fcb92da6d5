from __future__ import annotations

from pathlib import Path

from reelflow.media.streamcheck import RULES
from reelflow.media.streamcheck.ladder import average_bitrate, buffered_bitrate, peak_bitrate
from reelflow.media.streamcheck.model import Findings, RuleResult, StreamCheck


def test_peak_bitrate_of_single_segments() -> None:
    assert peak_bitrate([(1000, 2.0), (3000, 2.0), (500, 1.0)]) == 12000


def test_peak_bitrate_over_runs_of_the_target_duration() -> None:
    """RFC 8216: runs lasting 0.5-1.5 target durations. With a 4 s target a lone 1 s
    segment is too short to count alone; with the 2 s one before it, it counts."""
    segments = [(1000, 2.0), (1000, 1.0)]
    assert peak_bitrate(segments, 4.0) == round(2000 * 8 / 3.0)
    assert peak_bitrate(segments, 2.0) == 8000  # the 1 s segment alone counts


def test_average_bitrate() -> None:
    assert average_bitrate([(1000, 2.0), (3000, 2.0)]) == 8000
    assert average_bitrate([]) == 0


def test_buffered_bitrate() -> None:
    # One 2 s segment of 16000 bits with 4 s of buffer: 4000 bit/s delivers it in time.
    assert buffered_bitrate([(2000, 2.0)], 4.0) == 4000
    # A heavy second segment needs more: 40000 bits by 4 + 2 s from the start, or
    # 32000 bits in 4 s when starting at it.
    assert buffered_bitrate([(1000, 2.0), (4000, 2.0)], 4.0) == 8000


def test_findings_pass_only_where_nothing_failed() -> None:
    findings = Findings()
    findings.fail("segment.keyframe", "v0.m3u8 segment 1 (a.ts)", "not a keyframe")
    findings.passed("segment.keyframe", "v0.m3u8")
    findings.passed("segment.keyframe", "v0.m3u8x")
    findings.check("hls.master.codecs", "v0.m3u8", True, "unused")
    assert findings.ordered() == (
        RuleResult("segment.keyframe", "v0.m3u8 segment 1 (a.ts)", False, "not a keyframe"),
        RuleResult("segment.keyframe", "v0.m3u8x", True),
        RuleResult("hls.master.codecs", "v0.m3u8", True),
    )
    check = StreamCheck("master.m3u8", "hls", findings.ordered())
    assert not check.passed
    assert check.failed_rules() == {"segment.keyframe"}
    assert set(check.as_dict()) == {"source", "format", "passed", "failures", "results",
                                    "renditions"}  # fmt: skip


def test_every_rule_is_documented() -> None:
    docs = (Path(__file__).parents[4] / "docs" / "streaming.md").read_text()
    assert [rule for rule in RULES if f"| `{rule}` |" not in docs] == []
