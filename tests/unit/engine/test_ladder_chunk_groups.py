"""Which ladders are chunked (``chunk_groups``): a ladder of segment files (HLS; DASH and
CMAF whose segments are whole frames), each its own group; single-file, scored and
per-title ladders are not, nor DASH/CMAF with segment borders between frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelflow.config import Settings
from reelflow.engine.chunking import chunk_groups
from reelflow.specs.ladders import (
    LadderFormat,
    PackageNames,
    ResolvedLadder,
    SegmentType,
    VideoRendition,
)
from reelflow.specs.works import LadderWork
from tests.unit.engine.fakes import MEDIA_INFO  # 10 s


def work(index: int, fmt: LadderFormat = LadderFormat.HLS, **extra: object) -> LadderWork:
    kind = extra.pop("segment_type", SegmentType.TS)
    fps = float(extra.pop("fps", 25.0))  # type: ignore[arg-type]
    rung = VideoRendition(stream_info=0, codec="h264", width=320, height=180, bitrate=400)
    ladder = ResolvedLadder(
        format=fmt, segment_type=kind, segment_seconds=2, fps=fps, keyint=50, video=[rung]
    )
    return LadderWork(
        index=index, definition=1001, bucket="media", ladder=ladder, names=PackageNames(), **extra
    )


@pytest.mark.parametrize(
    ("ladder", "chunked"),
    [
        (work(0), True),
        (work(0, segment_type=SegmentType.MP4), True),
        (work(0, segment_type=SegmentType.TS_BYTERANGE), False),
        (work(0, LadderFormat.DASH, segment_type=SegmentType.MP4), True),
        (work(0, LadderFormat.CMAF, segment_type=SegmentType.MP4), True),
        (work(0, LadderFormat.DASH, segment_type=SegmentType.MP4_BYTERANGE), False),
        (work(0, LadderFormat.DASH, segment_type=SegmentType.MP4, fps=30000 / 1001), False),
        (work(0, quality=True), False),
        (work(0, target_vmaf=93.0), False),
    ],
)
def test_which_ladders_are_chunked(tmp_path: Path, ladder: LadderWork, chunked: bool) -> None:
    settings = Settings(data_dir=tmp_path, workers=2, chunk_seconds=4.0)
    split = chunk_groups([ladder], MEDIA_INFO, settings)
    assert (split.groups == [[ladder]]) is chunked
    assert len(split.rest) == (0 if chunked else 1)


def test_each_ladder_is_its_own_group(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, workers=2, chunk_seconds=4.0)
    ladders = [work(0), work(1)]
    assert chunk_groups(ladders, MEDIA_INFO, settings).groups == [[ladders[0]], [ladders[1]]]
    short = Settings(data_dir=tmp_path, workers=2, chunk_seconds=5.0)  # 10 s: not > 2 x 5
    assert chunk_groups(ladders, MEDIA_INFO, short).groups == []
