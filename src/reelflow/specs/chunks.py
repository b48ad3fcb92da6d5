"""The vocabulary of chunked encoding (docs/chunking.md): a plan of chunks over one output.

A chunk is a run of consecutive output frames. Times are seconds on the output's timeline
(the one a one-shot encode of the rendition has): ``start`` is the time of the chunk's first
frame and ``end`` that of the next chunk's first frame (the output's end for the last), so
the chunks tile the timeline with no gap and no overlap. ``cut_start`` / ``cut_end`` are the
times the encode cuts at, halfway between two frames, so that a frame is never on the
fence; ``cut_end`` is 0 for the last chunk (it runs to the end of the source).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator


class ChunkData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Chunk(ChunkData):
    index: int
    start: float
    end: float
    cut_start: float
    cut_end: float = 0.0  # 0: to the end
    frames: int  # planned frames (exact for a constant output rate; from the scan else)
    at_keyframe: bool = False  # starts on a source keyframe (a cheaper seek)
    # A whole second to seek to from which FFmpeg's demuxer lands on the last source
    # keyframe at or before the chunk's first frame (``plan_chunks``); None: seek by time,
    # a whole second at least a margin before the cut (decoding from the keyframe before).
    keyframe_seek: int | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


class ChunkPlan(ChunkData):
    """Chunks of one output, in order; ``end`` is the output's end (seconds)."""

    chunk_seconds: float
    end: float
    chunks: list[Chunk]

    @model_validator(mode="after")
    def _tiles(self) -> ChunkPlan:
        for before, after in zip(self.chunks, self.chunks[1:], strict=False):
            if before.end != after.start or before.cut_end != after.cut_start:
                raise ValueError(f"chunk {after.index} does not start where {before.index} ends")
        return self

    @property
    def frames(self) -> int:
        return sum(chunk.frames for chunk in self.chunks)


class Boundary(ChunkData):
    """Where chunk boundary ``k`` (1..count-1, aimed at ``k * end / count``) fell: the
    output frame it starts (``frame``: its index, ``start``: its time), the cut halfway
    between that frame and the one before, and what ``Chunk`` records of a chunk starting
    there (``plan_chunks``)."""

    k: int
    frame: int
    start: float
    cut: float
    at_keyframe: bool = False
    keyframe_seek: int | None = None


class SplitFound(ChunkData):
    """What one SPLIT job found (``JobResult.split_found``; kept in its row's
    ``ChunkedJob.found``): the boundaries of its range, and the scan every split job of the
    group computes alike (the chunk count aimed at, the output's end, its first frame's
    time and its frame count), from which the engine assembles the plan
    (``reelflow.media.chunks.plan.assemble_plan``). ``count`` < 2: not chunked (the scan
    found the output no longer than two chunks)."""

    count: int
    end: float
    first: float = 0.0
    frames: int = 0
    boundaries: list[Boundary] = []


class ChunkRole(StrEnum):
    """The nodes of a chunked group in the task graph (``reelflow.engine.chunking``)."""

    SPLIT = "split"  # scan the source, plan the chunks
    PROBE = "probe"  # measure one chunk's difficulty (a group at a bitrate shares it out)
    VIDEO = "video"  # encode one chunk of every rendition of the group (one decode)
    AUDIO = "audio"  # encode the group's audio once, over the whole source
    JOIN = "join"  # join the chunks by stream copy, mux the audio, commit the outputs


class ChunkedJob(ChunkData):
    """What a job of a chunked group does (``JobPayload.chunked``). The group is the
    renditions of one job of the plan sharing one output frame rate, named by the first
    sub-task index among them (``group``).

    The group's parts (chunk files, audio) live under ``prefix``: a folder of the scratch
    folder when ``bucket`` is empty (one machine: every worker shares it), else temporary
    keys in ``bucket`` (a cluster); the join deletes them."""

    role: ChunkRole
    group: int
    split: int = 0  # the SPLIT job that planned this part (0: it is that job)
    chunk_seconds: float
    bucket: str = ""
    prefix: str
    chunk: Chunk | None = None  # VIDEO, PROBE: the chunk it encodes or measures
    plan: ChunkPlan | None = None  # JOIN: every chunk, in order
    weight: float = 0.0  # its share of the group's progress (0..1)
    first_pass: bool = False  # REELFLOW_CHUNK_FIRST_PASS: two passes at a bitrate
    # REELFLOW_CHUNK_RATES: a group with renditions at a VBR or ABR bitrate probes each
    # chunk's difficulty (PROBE jobs, their ``difficulty`` recorded with their success)
    # before its chunks are encoded, each VIDEO job at its ``rate_factor`` of the bitrate
    # (``reelflow.media.chunks.rates``).
    rates: bool = False
    difficulty: float = 0.0
    cost: float = 0.0  # a PROBE's: the seconds its probe ran (``JobResult.cost``)
    rate_factor: float = 1.0
    # SPLIT, when the group's boundaries are scanned by several split jobs at once
    # (``reelflow.engine.chunking.split_parts``): the boundaries ``first_boundary`` to
    # ``last_boundary`` (0: through the last) are this job's; ``lead`` is the group's first
    # split job (0: this one), whose id names the generation; ``found`` is what this job
    # found, recorded with its success.
    first_boundary: int = 1
    last_boundary: int = 0
    lead: int = 0
    found: SplitFound | None = None


def part_name(chunk: int | None, index: int) -> str:
    """The name of a part of a group: chunk ``chunk`` of work ``index``'s video, or (with
    ``chunk`` None) that work's audio."""
    return f"audio-w{index}.m4a" if chunk is None else f"chunk{chunk}-w{index}.mp4"


def ladder_part_name(chunk: int | None, index: int) -> str:
    """The name of a part of a chunked ladder (work ``index``): one archive per chunk of
    its video rungs' segments and playlists, or (``chunk`` None) of its audio renditions'."""
    return f"ladder-audio-w{index}.tar" if chunk is None else f"ladder{chunk}-w{index}.tar"


__all__ = [
    "Boundary",
    "Chunk",
    "ChunkPlan",
    "ChunkRole",
    "ChunkedJob",
    "SplitFound",
    "ladder_part_name",
    "part_name",
]
