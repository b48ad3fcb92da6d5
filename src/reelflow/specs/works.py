"""Works: one sub-task made concrete for one probed source.

Where a sub-task says "10%" or "360p", its work says "2.0 s" and "640x360", and names every
object it will write. Works are JSON inside job payloads; the FFmpeg command builder turns
them into arguments and the job runner commits their files.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_pascal

from reelflow.specs.base import Spec
from reelflow.specs.ladders import PackageNames, ResolvedLadder
from reelflow.specs.sources import TaskSource
from reelflow.specs.subtasks import ResolvedWatermark
from reelflow.specs.templates import (
    TRUSTED,
    AnimatedGraphicsTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
    SnapshotTemplate,
    TranscodeTemplate,
)


class WorkBase(Spec):
    # Jobs' JSON is internal: one plain alias per field, as the discriminated union of
    # ``Work`` needs (it cannot take the either-case aliases of API specs).
    model_config = ConfigDict(alias_generator=to_pascal)

    index: int
    definition: int
    bucket: str
    input: dict[str, object] = {}


class TranscodeWork(WorkBase):
    kind: Literal["Transcode"] = "Transcode"
    template: TranscodeTemplate
    width: int = 0  # 0 when the output has no video
    height: int = 0
    fps: float = 0.0  # 0 = keep the source's rate (constant-rate sources only)
    start: float = 0.0
    end: float = 0.0  # 0 = to the end
    watermarks: list[ResolvedWatermark] = []
    key: str
    # HLS: key with ``%d`` for the segment number (the one file's key for a byte-range
    # segment type), and the fMP4 init section's key (segment type 7).
    segment_key_pattern: str = ""
    hls_init_key: str = ""
    deinterlace: bool = False
    read: bool = False  # other sub-tasks of the task read this rendition
    # Clips joined before and after the rendition (HeadTailParameter), in order.
    heads: list[TaskSource] = []
    tails: list[TaskSource] = []
    quality: bool = False  # scored against the source after the encode (media.quality)
    # > 0: per-title (issue 18): its size and bitrate chosen by the job's analysis with the
    # task's other such transcodes (one set), the set's top one aiming at this VMAF; the
    # analysis sets ``capped_crf`` (x264/x265 at this CRF, VBV-capped at twice the
    # bitrate, as a per-title ladder's rungs).
    target_vmaf: float = 0.0
    capped_crf: float | None = None


class SnapshotWork(WorkBase):
    kind: Literal["SnapshotByTimeOffset"] = "SnapshotByTimeOffset"
    template: SnapshotTemplate
    width: int
    height: int
    times: list[float]  # seconds, ascending, each reported as ``TimeOffset``
    keys: list[str]
    watermarks: list[ResolvedWatermark] = []
    deinterlace: bool = False


class SampleSnapshotWork(WorkBase):
    kind: Literal["SampleSnapshot"] = "SampleSnapshot"
    template: SampleSnapshotTemplate
    width: int
    height: int
    interval: float  # seconds between images; the first image is the first frame
    keys: list[str]
    watermarks: list[ResolvedWatermark] = []
    deinterlace: bool = False


class ImageSpriteWork(WorkBase):
    kind: Literal["ImageSprites"] = "ImageSprites"
    template: ImageSpriteTemplate
    width: int  # one cell
    height: int
    interval: float
    cells: int  # thumbnails in all sheets
    keys: list[str]  # one per sheet
    vtt_key: str
    duration: float
    deinterlace: bool = False


class AnimatedWork(WorkBase):
    kind: Literal["AnimatedGraphics"] = "AnimatedGraphics"
    template: AnimatedGraphicsTemplate
    width: int
    height: int
    start: float
    end: float
    key: str
    deinterlace: bool = False


class LadderWork(WorkBase):
    """An adaptive-streaming package: ``ladder`` made concrete for the source, its files
    named by ``names`` (extensions added by the packager) in the folder ``folder`` (a key
    prefix ending in ``/``, or empty for the bucket's root)."""

    kind: Literal["AdaptiveDynamicStreaming"] = "AdaptiveDynamicStreaming"
    ladder: ResolvedLadder
    names: PackageNames
    folder: str = ""
    quality: bool = False  # its video rungs scored against the source (media.quality)
    # > 0: a per-title ladder (issue 18) aiming its top rung at this VMAF; the job's
    # analysis replaces the rungs' sizes and bitrates before the encode.
    target_vmaf: float = 0.0


class EditPiece(Spec):
    """One input of a join and the part of it kept (``end`` 0: to its end)."""

    model_config = ConfigDict(alias_generator=to_pascal)

    source: TaskSource
    start: float = 0.0
    end: float = 0.0


class EditWork(WorkBase):
    """A clip-and-join: ``pieces`` in order into one file ``key``; ``template`` gives the
    container and the encoders (its zero sizes and rates: the first input's)."""

    kind: Literal["EditMedia"] = "EditMedia"
    template: TranscodeTemplate
    pieces: list[EditPiece]
    fast: bool = False
    key: str
    # HLS: the segments' key with ``%d`` for the number (beside the playlist ``key``).
    segment_key_pattern: str = ""


CommandWork = (
    TranscodeWork | SnapshotWork | SampleSnapshotWork | ImageSpriteWork | AnimatedWork | LadderWork
)
"""The works ``reelflow.media.command`` puts in one FFmpeg command (decoding the source once);
an ``EditWork`` reads several inputs and has its own command (``reelflow.media.edit``)."""

Work = Annotated[CommandWork | EditWork, Field(discriminator="kind")]


class WorkList(Spec):
    works: list[Work]


def parse_works(raw: list[dict[str, object]]) -> list[Work]:
    # Templates inside works were validated when stored; presets may exceed custom limits.
    return WorkList.model_validate({"works": raw}, context=TRUSTED).works
