"""How a failed run's stderr becomes a message (no FFmpeg needed)."""

from __future__ import annotations

import io

from reelflow.media.runner import _StderrTail

X264_FAILURE = b"""\
[info]   Stream #0:0 -> #0:0 (h264 (native) -> h264 (libx264))
[libx264 @ 0x559ff9a455c0] [error] width not divisible by 2 (3x3)
[vost#0:0/libx264 @ 0x559ff99e2700] [enc:libx264 @ 0x559ff99e3000] [error] Error while opening \
encoder - maybe incorrect parameters such as bit_rate, rate, width or height.
[vf#0:0 @ 0x559ff99b9b00] [error] Task finished with error code: -542398533
[out#0/null @ 0x559ff99dc100] [error] Nothing was written into output file.
[info] frame=    0 fps=0.0 q=0.0 Lsize=       0KiB time=N/A bitrate=N/A speed=N/A
[info] Conversion failed!
"""


def tail_of(data: bytes, max_lines: int = 50) -> _StderrTail:
    tail = _StderrTail(max_lines)
    tail.consume(io.BytesIO(data))
    return tail


def test_first_and_last_error_lines_without_addresses() -> None:
    summary = tail_of(X264_FAILURE).summary(187)
    assert summary == (
        "FFmpeg exited with code 187: width not divisible by 2 (3x3) ... "
        "Nothing was written into output file."
    )


def test_a_single_error_is_not_repeated() -> None:
    summary = tail_of(b"[error] Unrecognized option 'frobnicate'.\n").summary(8)
    assert summary == "FFmpeg exited with code 8: Unrecognized option 'frobnicate'."


def test_untagged_output_uses_the_last_lines() -> None:
    data = b"something\n\n[in#0 @ 0x1] Error opening input: No such file\nConversion failed!\n"
    summary = tail_of(data).summary(1)
    assert summary == (
        "FFmpeg exited with code 1: something ... Error opening input: No such file ... "
        "Conversion failed!"
    )


def test_no_output_at_all() -> None:
    assert tail_of(b"").summary(255) == "FFmpeg exited with code 255: no error output"


def test_the_tail_is_bounded_but_the_first_error_is_kept() -> None:
    noise = b"".join(b"[info] line %d\n" % i for i in range(500))
    tail = tail_of(b"[fatal] the real cause\n" + noise, max_lines=50)
    assert len(tail.text().splitlines()) == 50
    assert "the real cause" in tail.summary(1)


def test_long_lines_are_clipped_in_the_message() -> None:
    summary = tail_of(b"[error] " + b"x" * 5000 + b"\n").summary(1)
    assert len(summary) < 400 and summary.endswith("...")
