"""Where a rendition's worst-moment pictures are stored (executors.quality)."""

from __future__ import annotations

from reelflow.executors.quality import picture_keys
from reelflow.specs.ladders import VideoRendition


def test_pictures_go_next_to_the_rendition_or_the_ladder_s_master() -> None:
    assert picture_keys("out/a_720.mp4") == ("out/a_720.worst.jpg", "out/a_720.worst-source.jpg")
    assert picture_keys("out/a_hls.m3u8")[0] == "out/a_hls.worst.jpg"
    assert picture_keys("noext")[1] == "noext.worst-source.jpg"
    rung = VideoRendition(stream_info=1, codec="h264", width=640, height=360, bitrate=800)
    # A ladder's master is named without its extension (the packager adds m3u8 or mpd).
    assert picture_keys("out/a_ladder", rung) == (
        "out/a_ladder.rung1.worst.jpg",
        "out/a_ladder.rung1.worst-source.jpg",
    )
