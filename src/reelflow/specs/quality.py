"""How good a rendition looks next to its source: VMAF, PSNR and SSIM (issue 18).

Measured by ``reelflow.media.quality``; carried in a transcode's result
(``TranscodeResult.quality``) as this record's own JSON (snake_case), and shown to people
as :meth:`QualityScore.to_json` (the ``Quality`` object of ``result.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
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
    1st percentile (the score 99 % of the scored frames reach or beat). ``std_err``: the
    standard error of ``mean`` as an estimate of the mean over every frame (0 when every
    frame was scored; ``None``: a score stored before it was recorded); the full mean lies
    within 1.96 x ``std_err`` of ``mean`` 19 times in 20."""

    mean: float
    harmonic_mean: float
    min: float
    p1: float
    std_err: float | None = None


class WorstFrame(_Record):
    """The rendition's lowest-scoring frame: ``time`` in seconds from the rendition's start
    (the source's moment is the rendition's start in the source plus this), its ``vmaf``;
    and, when they could be stored, the keys of two JPEGs in ``bucket`` next to the
    rendition, that frame of the rendition (``frame_key``) and of the source at the same
    moment (``source_key``), both at the size they were compared at (at most 960 wide)."""

    time: float
    vmaf: float
    bucket: str = ""
    frame_key: str = ""
    source_key: str = ""


class PerTitleRung(_Record):
    """What a per-title ladder (issue 18) chose for one rung, beside its score: the VMAF
    it aimed at (``target_vmaf``), the probes' prediction at the chosen bitrate, the fixed
    ladder's bitrate for the same rung (kbps), and whether the rung was re-encoded because
    its first encode scored more than 1 VMAF off its target (``first_vmaf``: that score),
    or a re-encode was made and not kept because it scored further off
    (``discarded_vmaf``: its score). ``bitrate``: the chosen bitrate (kbps) of a per-title
    transcode (its score carries this record; a rung carries its own bitrate)."""

    target_vmaf: float
    predicted_vmaf: float
    fixed_bitrate: int
    reencoded: bool = False
    first_vmaf: float | None = None
    discarded_vmaf: float | None = None
    bitrate: int = 0

    def to_json(self, achieved: float, bitrate: int) -> dict[str, Any]:
        """The ``PerTitle`` object of a rendition scored ``achieved`` at ``bitrate`` kbps."""
        return {
            "TargetVmaf": self.target_vmaf,
            "PredictedVmaf": self.predicted_vmaf,
            "AchievedVmaf": achieved,
            "FixedBitrate": self.fixed_bitrate,
            "SavedBitrate": self.fixed_bitrate - bitrate if self.fixed_bitrate else 0,
            "Reencoded": self.reencoded,
            "FirstVmaf": self.first_vmaf,
            "DiscardedVmaf": self.discarded_vmaf,
        }


class QualityScore(_Record):
    """One rendition's scores against its source.

    ``subsample``: VMAF, PSNR and SSIM were computed on every ``subsample``-th frame
    (1 = all). ``series``: VMAF of the scored frames in order, at most 600 values (a longer
    run keeps each bucket's minimum: a dip stays visible), for a plot. ``frames``: how many
    frames were scored, ``interval`` the seconds between two of them (0: unknown, a score
    stored before it was recorded). ``worst``: the lowest-scoring frame.
    """

    model: str
    subsample: int
    frames: int
    vmaf: VmafScores
    psnr_mean: float
    ssim_mean: float
    series: list[float] = []
    interval: float = 0.0
    worst: WorstFrame | None = None
    # A per-title transcode's choice (issue 18); a ladder's is on its ``RungScore``.
    per_title: PerTitleRung | None = None

    def to_json(self, *, series: bool = False) -> dict[str, Any]:
        """The ``Quality`` object of ``result.json`` and of events (``Frames``: how many
        frames were scored; ``Vmaf.StdErr``: see :class:`VmafScores`); ``series`` (native task
        results) adds ``Series`` (VMAF over time, for a plot), ``Interval`` (its seconds
        between scored frames) and ``Worst`` (``{"Time", "Vmaf", "Frame", "SourceFrame"}``,
        the frames as ``/key`` paths in the rendition's bucket, ``""`` when not stored)."""
        shape: dict[str, Any] = {
            "Model": self.model,
            "Subsample": self.subsample,
            "Frames": self.frames,
            "Vmaf": {
                "Mean": self.vmaf.mean,
                "HarmonicMean": self.vmaf.harmonic_mean,
                "Min": self.vmaf.min,
                "P1": self.vmaf.p1,
                "StdErr": self.vmaf.std_err,
            },
            "Psnr": {"Mean": self.psnr_mean},
            "Ssim": {"Mean": self.ssim_mean},
        }
        if series:
            shape["Series"] = list(self.series)
            shape["Interval"] = self.interval
            worst = self.worst
            shape["Worst"] = None
            if worst is not None:
                shape["Worst"] = {
                    "Time": worst.time,
                    "Vmaf": worst.vmaf,
                    "Frame": "/" + worst.frame_key if worst.frame_key else "",
                    "SourceFrame": "/" + worst.source_key if worst.source_key else "",
                }
        if self.per_title is not None:
            shape["PerTitle"] = self.per_title.to_json(self.vmaf.mean, self.per_title.bitrate)
        return shape


class RungScore(_Record):
    """One video rung of an adaptive-streaming ladder and its score: ``stream_info`` is its
    position in the template, ``bitrate`` its target in kbps (0: constant quality);
    ``per_title`` when the ladder was chosen per title."""

    stream_info: int
    width: int
    height: int
    bitrate: int
    score: QualityScore
    per_title: PerTitleRung | None = None

    def to_json(self, *, series: bool = False) -> dict[str, Any]:
        """The rung's ``Quality`` item: its ``StreamInfo``, size and ``Bitrate`` beside
        :meth:`QualityScore.to_json`, and for a per-title rung ``PerTitle``:
        ``{"TargetVmaf", "PredictedVmaf", "AchievedVmaf", "FixedBitrate", "SavedBitrate",
        "Reencoded", "FirstVmaf", "DiscardedVmaf"}`` (bitrates in kbps; ``SavedBitrate``
        negative for a rung richer than the fixed one; ``FirstVmaf`` null unless
        re-encoded; ``DiscardedVmaf`` the score of a re-encode not kept, else null)."""
        shape = {
            "StreamInfo": self.stream_info,
            "Width": self.width,
            "Height": self.height,
            "Bitrate": self.bitrate,
            **self.score.to_json(series=series),
        }
        chosen = self.per_title
        if chosen is not None:
            shape["PerTitle"] = chosen.to_json(self.score.vmaf.mean, self.bitrate)
        return shape


def quality_json(
    score: QualityScore | None, rungs: Sequence[RungScore], *, series: bool = False
) -> dict[str, Any] | None:
    """A sub-task's ``Quality`` object: a rendition's :meth:`QualityScore.to_json`, or a
    ladder's ``{"Rungs": [...]}`` (one item per scored video rung, see
    :meth:`RungScore.to_json`); ``None`` when nothing was scored."""
    if rungs:
        return {"Rungs": [rung.to_json(series=series) for rung in rungs]}
    return None if score is None else score.to_json(series=series)
