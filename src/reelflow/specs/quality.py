"""How good a rendition looks next to its source: VMAF, PSNR and SSIM (issue 18).

Measured by ``reelflow.media.quality``; carried in a transcode's result
(``TranscodeResult.quality``) as this record's own JSON (snake_case), and shown to people
as :meth:`QualityScore.to_json` (the ``Quality`` object of ``result.json``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

VMAF_MODEL = "vmaf_v0.6.1"
VMAF_4K_MODEL = "vmaf_4k_v0.6.1"
# The 4K model is trained for a 2160p display at 1.5 screen heights: used for outputs whose
# short side is at least this many pixels.
VMAF_4K_FROM = 2160


def vmaf_model(width: int, height: int) -> str:
    """The VMAF model for an output of ``width`` x ``height`` (portrait or landscape)."""
    return VMAF_4K_MODEL if min(width, height) >= VMAF_4K_FROM else VMAF_MODEL


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VmafScores(_Record):
    """VMAF pooled over the scored frames: arithmetic and harmonic mean, minimum, and the
    1st percentile (the score 99 % of the scored frames reach or beat)."""

    mean: float
    harmonic_mean: float
    min: float
    p1: float


class QualityScore(_Record):
    """One rendition's scores against its source.

    ``subsample``: VMAF, PSNR and SSIM were computed on every ``subsample``-th frame
    (1 = all). ``series``: VMAF of the scored frames in order, at most 600 values (a longer
    run keeps each bucket's minimum: a dip stays visible), for a plot. ``frames``: how many
    frames were scored.
    """

    model: str
    subsample: int
    frames: int
    vmaf: VmafScores
    psnr_mean: float
    ssim_mean: float
    series: list[float] = []

    def to_json(self, *, series: bool = False) -> dict[str, Any]:
        """The ``Quality`` object of ``result.json`` and of native task results; ``series``
        adds ``Series`` (VMAF over time, for a plot)."""
        shape: dict[str, Any] = {
            "Model": self.model,
            "Subsample": self.subsample,
            "Vmaf": {
                "Mean": self.vmaf.mean,
                "HarmonicMean": self.vmaf.harmonic_mean,
                "Min": self.vmaf.min,
                "P1": self.vmaf.p1,
            },
            "Psnr": {"Mean": self.psnr_mean},
            "Ssim": {"Mean": self.ssim_mean},
        }
        if series:
            shape["Series"] = list(self.series)
        return shape
