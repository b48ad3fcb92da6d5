from __future__ import annotations

import pytest

from reelflow.media.progress import Progress, ProgressParser

# Two blocks as FFmpeg 9 prints them (note the padded speed and the N/A bitrate).
VIDEO_RUN = """\
frame=39
fps=0.00
stream_0_0_q=20.0
bitrate=11292.7kbits/s
total_size=1835056
out_time_us=1300000
out_time_ms=1300000
out_time=00:00:01.300000
dup_frames=0
drop_frames=0
speed=2.59x
progress=continue
frame=90
fps=  31.5
stream_0_0_q=-1.0
bitrate=N/A
total_size=4987676
out_time_us=3000000
out_time_ms=3000000
out_time=00:00:03.000000
dup_frames=0
drop_frames=0
speed= 3.7x
progress=end
"""


def feed_all(text: str) -> list[Progress]:
    parser = ProgressParser()
    return [p for line in text.splitlines() if (p := parser.feed(line)) is not None]


def test_one_snapshot_per_block_and_the_last_is_done() -> None:
    first, last = feed_all(VIDEO_RUN)
    assert first == Progress(out_time=1.3, frame=39, fps=0.0, speed=2.59, done=False)
    assert last == Progress(out_time=3.0, frame=90, fps=31.5, speed=3.7, done=True)


def test_out_time_ms_is_microseconds() -> None:
    (snap,) = feed_all("out_time_ms=2500000\nprogress=continue\n")
    assert snap.out_time == 2.5


def test_clock_out_time_is_used_when_the_counters_are_missing() -> None:
    (snap,) = feed_all("out_time=01:02:03.500000\nprogress=continue\n")
    assert snap.out_time == pytest.approx(3723.5)


def test_not_available_values_keep_the_previous_block() -> None:
    text = (
        "frame=10\nfps=5.0\nout_time_us=400000\nspeed=1.5x\nprogress=continue\n"
        "frame=N/A\nfps=N/A\nout_time_us=N/A\nout_time_ms=N/A\nout_time=N/A\nspeed=N/A\n"
        "progress=continue\n"
    )
    first, second = feed_all(text)
    assert second == first


def test_negative_start_time_is_clamped() -> None:
    (snap,) = feed_all("out_time_us=-23220\nout_time=-00:00:00.023220\nprogress=continue\n")
    assert snap.out_time == 0.0


def test_audio_only_blocks_have_no_frames() -> None:
    text = "bitrate=N/A\nout_time_us=1000000\nspeed= 516x\nprogress=end\n"
    (snap,) = feed_all(text)
    assert snap == Progress(out_time=1.0, frame=0, fps=0.0, speed=516.0, done=True)


def test_padding_and_line_endings_are_ignored() -> None:
    (snap,) = feed_all("frame=   7\r\n  out_time_us = 40000 \r\nprogress=continue\r\n")
    assert (snap.frame, snap.out_time) == (7, 0.04)


def test_garbage_lines_are_ignored() -> None:
    parser = ProgressParser()
    assert parser.feed("") is None
    assert parser.feed("not a key value line") is None
    assert parser.feed("frame=abc") is None
    assert parser.feed("progress=continue") == Progress()


def test_last_holds_the_latest_snapshot() -> None:
    parser = ProgressParser()
    assert parser.last == Progress()
    for line in VIDEO_RUN.splitlines():
        parser.feed(line)
    assert parser.last.done


@pytest.mark.parametrize(
    ("snap", "duration", "expected"),
    [
        (Progress(out_time=1.0), 4.0, 0.25),
        (Progress(out_time=9.0), 4.0, 1.0),
        (Progress(out_time=1.0), 0.0, 0.0),
        (Progress(out_time=1.0, done=True), 4.0, 1.0),
    ],
)
def test_fraction_of(snap: Progress, duration: float, expected: float) -> None:
    assert snap.fraction_of(duration) == expected
