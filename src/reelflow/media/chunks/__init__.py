"""Chunked encoding of one long rendition (docs/chunking.md): split, encode, join.

- ``plan``: pure; where the chunks fall (output frame times, preferring source keyframes);
- ``scan``: PyAV over the source's packets: its frame and keyframe times;
- ``command``: pure argv builders: one chunk's video, the whole audio once, the join;
- ``join``: writes the concat script and runs the join.

The typed plan (``Chunk``, ``ChunkPlan``) is vocabulary: ``reelflow.specs.chunks``.
"""

from reelflow.media.chunks.command import (
    ChunkCommand,
    audio_command,
    chunk_command,
    chunkable,
    concat_list,
    fused_chunk_command,
    join_command,
)
from reelflow.media.chunks.join import join
from reelflow.media.chunks.plan import (
    assemble_plan,
    boundary_ranges,
    chunk_count,
    find_boundaries,
    output_frame_times,
    plan_chunks,
    should_chunk,
)
from reelflow.media.chunks.scan import FrameScan, scan_frames, scene_command, scene_times

__all__ = [
    "ChunkCommand",
    "FrameScan",
    "assemble_plan",
    "audio_command",
    "boundary_ranges",
    "chunk_command",
    "chunk_count",
    "chunkable",
    "concat_list",
    "find_boundaries",
    "fused_chunk_command",
    "join",
    "join_command",
    "output_frame_times",
    "plan_chunks",
    "scan_frames",
    "scene_command",
    "scene_times",
    "should_chunk",
]
