"""The default workflow of ``reelflow process`` when no workflow file is given."""

from __future__ import annotations

from reelflow.media.probe import MediaInfo
from reelflow.specs.tasks import (
    AnimatedGraphicTaskInput,
    ImageSpriteTaskInput,
    MediaProcessTask,
    SampleSnapshotTaskInput,
    SnapshotByTimeOffsetTaskInput,
    TranscodeTaskInput,
)

BASE_RENDITIONS = (100010, 100020, 100030)
FULL_HD_RENDITION = 100040


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
