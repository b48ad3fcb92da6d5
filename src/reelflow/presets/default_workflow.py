"""The default workflow: what ``reelflow process`` runs when no workflow file is given, and
the workflow ``default`` that ``reelflow serve`` creates on a new data dir."""

from __future__ import annotations

from reelflow.specs.media import MediaInfo
from reelflow.specs.tasks import (
    AnimatedGraphicTaskInput,
    ImageSpriteTaskInput,
    MediaProcessTask,
    SampleSnapshotTaskInput,
    SnapshotByTimeOffsetTaskInput,
    TranscodeTaskInput,
)
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger

BASE_RENDITIONS = (100010, 100020, 100030)
FULL_HD_RENDITION = 100040
DEFAULT_WORKFLOW_NAME = "default"
DEFAULT_WORKFLOW_BUCKET = "media"
DEFAULT_WORKFLOW_INPUT_DIR = "in/"
DEFAULT_WORKFLOW_OUTPUT_DIR = "out/"


def default_media_process_task(info: MediaInfo | None) -> MediaProcessTask:
    """LD/SD/HD MP4 (plus FHD for a source of at least 1080p), three screenshots at 25/50/75%,
    sampled screenshots every 10%, the 10x10 sprite with its WebVTT, a GIF of the first 3 s.

    ``info`` is the source's probe when known; without it the FHD rendition is left out.
    """
    definitions = list(BASE_RENDITIONS)
    video = info.primary_video if info else None
    if video and min(video.display_width, video.display_height) >= 1080:
        definitions.append(FULL_HD_RENDITION)
    gif_end = 3.0
    if info and info.duration and info.duration < gif_end:
        gif_end = info.duration
    return MediaProcessTask(
        transcode_task_set=[TranscodeTaskInput(definition=d) for d in definitions],
        snapshot_by_time_offset_task_set=[
            SnapshotByTimeOffsetTaskInput(definition=10, ext_time_offset_set=["25%", "50%", "75%"])
        ],
        sample_snapshot_task_set=[SampleSnapshotTaskInput(definition=10)],
        image_sprite_task_set=[ImageSpriteTaskInput(definition=10)],
        animated_graphic_task_set=[
            AnimatedGraphicTaskInput(definition=20000, start_time_offset=0, end_time_offset=gif_end)
        ],
    )


def default_workflow_spec() -> WorkflowSpec:
    """The workflow ``default``: uploads to ``media`` under ``in/`` (any common video or
    audio extension) run :func:`default_media_process_task` with outputs under ``out/``.

    A workflow is made before any source is known, so it has the sub-tasks of an unprobed
    source: no FHD rendition, the GIF over the first 3 s (shorter for a shorter source).
    """
    return WorkflowSpec(
        name=DEFAULT_WORKFLOW_NAME,
        trigger=WorkflowTrigger(bucket=DEFAULT_WORKFLOW_BUCKET, dir=DEFAULT_WORKFLOW_INPUT_DIR),
        media_process_task=default_media_process_task(None),
        output_bucket=DEFAULT_WORKFLOW_BUCKET,
        output_dir=DEFAULT_WORKFLOW_OUTPUT_DIR,
    )
