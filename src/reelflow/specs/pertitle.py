"""Per-title ladder analysis: the measured points and the rungs chosen from them (issue 18).

``reelflow.media.pertitle`` measures ``RatePoint``s (probe encodes of sampled scenes, scored
with VMAF); ``reelflow.planner.pertitle`` turns them into one ``RungChoice`` per rung.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TARGET_VMAF = 93.0


@dataclass(frozen=True, slots=True)
class RatePoint:
    """One probe encode: the sampled scenes at ``width`` x ``height`` and x264 ``crf``, its
    video bitrate in kbps and its VMAF mean against the source's scenes."""

    width: int
    height: int
    crf: int
    kbps: float
    vmaf: float

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass(frozen=True, slots=True)
class RungChoice:
    """What the analysis picks for one rung of the template (``stream_info``, as in
    ``VideoRendition``): its size and bitrate, the VMAF the probe encodes predict there, and
    the fixed ladder's bitrate of the same rung (0 when that rung is constant-quality), and
    the CRF its size's probes reach that bitrate at (what a per-title rung is encoded at)."""

    stream_info: int
    width: int
    height: int
    kbps: int
    predicted_vmaf: float
    fixed_kbps: int
    crf: float = 0.0  # the probes' x264 CRF at the chosen bitrate (0: not computed)

    @property
    def saved_kbps(self) -> int:
        """Bits per second saved against the fixed rung (negative: a richer rung)."""
        return self.fixed_kbps - self.kbps if self.fixed_kbps else 0
