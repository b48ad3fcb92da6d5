"""The video quality tiers shared by the transcode presets and the ladder presets."""

from __future__ import annotations

# Tier, short side (px), video kbps, audio kbps, MP4 id, HLS id. All H.264 25 fps + AAC
# 44.1 kHz stereo; height is the short side (ResolutionAdaptive open), width 0 scales.
TIERS = (
    ("LD", 360, 400, 64, 100010, 100210),
    ("SD", 540, 1000, 64, 100020, 100220),
    ("HD", 720, 1800, 128, 100030, 100230),
    ("FHD", 1080, 2500, 128, 100040, 100240),
    ("2K", 1440, 3000, 160, 100070, 100270),
    ("4K", 2160, 6000, 160, 100080, 100280),
)
