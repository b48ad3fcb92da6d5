"""Adaptive-bitrate ladders: one FFmpeg process encodes and packages every rendition, then
the manifests are rewritten from what was measured in the segments.

- ``command``: the pure argv builder (one decode, ``split`` + ``scale`` per rung, IDRs at
  every segment boundary, audio encoded once per distinct setting, FFmpeg's hls/dash muxers);
- ``scan``: PyAV over each segment: bytes, duration, keyframes and their byte ranges;
- ``codecs``: RFC 6381 codec strings from the encoded parameter sets;
- ``hls`` / ``dash``: the manifests rewritten (``m3u8``; ElementTree for the MPD);
- ``package``: runs the whole thing and returns a ``LadderPackage``.
"""

from reelflow.media.ladder.command import (
    LadderCommand,
    LadderOutputs,
    build_ladder_command,
    ladder_outputs,
)
from reelflow.media.ladder.package import package_ladder, publish_ladder

__all__ = [
    "LadderCommand",
    "LadderOutputs",
    "build_ladder_command",
    "ladder_outputs",
    "package_ladder",
    "publish_ladder",
]
