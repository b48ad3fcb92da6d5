"""The vocabulary of chunked encoding (docs/chunking.md): a plan of chunks over one output.

A chunk is a run of consecutive output frames. Times are seconds on the output's timeline
(the one a one-shot encode of the rendition has): ``start`` is the time of the chunk's first
frame and ``end`` that of the next chunk's first frame (the output's end for the last), so
the chunks tile the timeline with no gap and no overlap. ``cut_start`` / ``cut_end`` are the
times the encode cuts at, halfway between two frames, so that a frame is never on the
fence; ``cut_end`` is 0 for the last chunk (it runs to the end of the source).
"""

from __future__ import annotations

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


__all__ = ["Chunk", "ChunkPlan"]
