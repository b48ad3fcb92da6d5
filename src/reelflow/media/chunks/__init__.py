"""Chunked encoding of one long rendition (docs/chunking.md): split, encode, join.

- ``plan``: pure; where the chunks fall (output frame times, preferring source keyframes);
- ``scan``: PyAV over the source's packets: its frame and keyframe times;
- ``command``: pure argv builders: one chunk's video, the whole audio once, the join, a
  chunk's difficulty probe;
- ``rates``: pure; each chunk's share of a rendition's bitrate, from the chunks' difficulty;
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
    probe_command,
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
from reelflow.media.chunks.rates import allocate, bits_per_second, group_headroom
from reelflow.media.chunks.scan import FrameScan, scan_frames, scene_command, scene_times

__all__ = [
    "ChunkCommand",
    "FrameScan",
    "allocate",
    "assemble_plan",
    "audio_command",
    "bits_per_second",
    "boundary_ranges",
    "chunk_command",
    "chunk_count",
    "chunkable",
    "concat_list",
    "find_boundaries",
    "fused_chunk_command",
    "group_headroom",
    "join",
    "join_command",
    "output_frame_times",
    "plan_chunks",
    "probe_command",
    "scan_frames",
    "scene_command",
    "scene_times",
    "should_chunk",
]
