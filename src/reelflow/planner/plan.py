"""Sub-task specs + a probed source -> works -> physical jobs.

Every work of a task that reads the same input goes into one job, so FFmpeg decodes the
source once and feeds every rendition, screenshot, sprite and animation from it
(``fuse=True``), on one machine and in a cluster alike. ``fuse=False`` makes each work its
own job, so different workers start them at once (a cluster's ``cluster_fanout``: each job
decodes the source again).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from reelflow.errors import ReelflowError, SpecError, UnsupportedMedia
from reelflow.planner.base import Plan, PlannedJob, Rejection
from reelflow.planner.geometry import Size, target_size
from reelflow.planner.ladder import select_rungs
from reelflow.planner.naming import DEFAULT_PATHS, key_folder, object_key, render
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import TemplateLookup
from reelflow.specs.base import spec_error
from reelflow.specs.ladders import LadderTemplate, PackageNames
from reelflow.specs.media import MediaInfo
from reelflow.specs.pertitle import DEFAULT_TARGET_VMAF
from reelflow.specs.requests import TaskRequest
from reelflow.specs.subtasks import SubTaskKind, SubTaskSpec
from reelflow.specs.tasks import (
    AdaptiveDynamicStreamingTaskInput,
    AnimatedGraphicTaskInput,
    NumberFormat,
    SnapshotByTimeOffsetTaskInput,
    SubTaskOutput,
    TranscodeTaskInput,
)
from reelflow.specs.templates import (
    AnimatedGraphicsTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
    SnapshotTemplate,
    TranscodeTemplate,
)
from reelflow.specs.works import (
    AnimatedWork,
    EditPiece,
    EditWork,
    ImageSpriteWork,
    LadderWork,
    SampleSnapshotWork,
    SnapshotWork,
    TranscodeWork,
    Work,
)

# Where a clip-and-join is written without an OutputObjectPath (beside the first input).
DEFAULT_EDIT_PATH = "{inputName}_editMedia.{format}"


class WorkBuilder:
    """Makes the works of one task's sub-tasks for one probed source."""

    def __init__(self, info: MediaInfo, source_name: str) -> None:
        self.info = info
        self.source_name = source_name
        video = info.primary_video
        self.duration = info.duration or 0.0
        self.video_duration = (video.duration or self.duration) if video else 0.0
        self.fps = video.fps if video and video.fps else 25.0
        self.deinterlace = bool(video and video.interlaced)

    # -- helpers ---------------------------------------------------------------------------
    def _size(self) -> Size:
        video = self.info.primary_video
        if video is None:
            raise UnsupportedMedia(
                "the source has no video stream, so this sub-task (which needs pictures) "
                "cannot run; audio outputs are not affected",
                code="UnsupportedOperation.NoVideoStream",
            )
        return Size(video.display_width, video.display_height)

    def _last_frame_time(self) -> float:
        """Timestamp of the last decodable frame (approximately)."""
        return max(0.0, self.video_duration - 1.0 / self.fps)

    def _keys(
        self, spec: SubTaskSpec, item: SubTaskOutput, default: str, fmt: str, count: int
    ) -> list[str]:
        pattern = item.output_object_path or DEFAULT_PATHS[default]
        number_format = item.object_number_format or NumberFormat()
        return [
            object_key(
                spec.output_dir,
                render(
                    pattern,
                    input_name=self.source_name,
                    definition=spec.definition,
                    fmt=fmt,
                    number=i,
                    number_format=number_format,
                ),
            )
            for i in range(count)
        ]

    def _sample_count(self, interval: float) -> int:
        return math.floor(self._last_frame_time() / interval + 1e-6) + 1

    def _interval(self, template: SampleSnapshotTemplate) -> float:
        if template.sample_type == "Percent":
            return max(self.video_duration * template.sample_interval / 100.0, 1.0 / self.fps)
        return float(template.sample_interval)

    # -- one builder per kind --------------------------------------------------------------
    def build(self, spec: SubTaskSpec) -> Work:
        common: dict[str, Any] = {
            "index": spec.index,
            "definition": spec.definition,
            "bucket": spec.output_bucket,
            "input": spec.input,
        }
        if spec.kind is SubTaskKind.EDIT:
            return self._edit(spec, common)
        template = spec.parsed_template()
        item = spec.parsed_input()
        if isinstance(template, TranscodeTemplate):
            assert isinstance(item, TranscodeTaskInput)
            return self._transcode(spec, common, template, item)
        if isinstance(template, LadderTemplate):
            assert isinstance(item, AdaptiveDynamicStreamingTaskInput)
            return self._ladder(spec, common, template, item)
        if isinstance(template, ImageSpriteTemplate):
            return self._sprite(spec, common, template, item)
        if isinstance(template, SampleSnapshotTemplate):
            return self._sample(spec, common, template, item)
        if isinstance(template, SnapshotTemplate):
            assert isinstance(item, SnapshotByTimeOffsetTaskInput)
            return self._snapshot(spec, common, template, item)
        assert isinstance(template, AnimatedGraphicsTemplate)
        assert isinstance(item, AnimatedGraphicTaskInput)
        return self._animated(spec, common, template, item)

    def _transcode(
        self,
        spec: SubTaskSpec,
        common: dict[str, Any],
        template: TranscodeTemplate,
        item: TranscodeTaskInput,
    ) -> TranscodeWork:
        width = height = 0
        fps = 0.0
        if template.needs_video:
            video = template.video_template
            assert video is not None
            size = target_size(
                self._size(),
                video.width,
                video.height,
                adaptive=video.resolution_adaptive == "open",
                # Both sides given is an explicit size ("as the user specifies", the SDK's
                # VideoTemplateInfo): honoured, upscaling if need be. One side given is a
                # maximum: a smaller source keeps its size unless AllowUpscale.
                allow_upscale=video.allow_upscale or bool(video.width and video.height),
            )
            width, height = size.width, size.height
            source_fps = (self.info.primary_video.fps or 0.0) if self.info.primary_video else 0.0
            source_vfr = bool(self.info.primary_video and self.info.primary_video.is_vfr)
            fps = float(video.fps) if video.fps else 0.0
            # Never invent frames a constant-rate source does not have. A variable-rate
            # source's average understates its real rate (dropped frames), so it gets the
            # template's constant rate.
            if fps and source_fps and source_fps < fps and not source_vfr:
                fps = round(source_fps, 3)
            if not fps and source_vfr:
                fps = round(source_fps or 25.0, 3)
        elif not self.info.has_audio:
            raise UnsupportedMedia(
                "the source has no audio stream, so an audio-only output cannot be made",
                code="UnsupportedOperation.NoAudioStream",
            )
        start, end = self._clip(item.start_time_offset, item.end_time_offset)
        key = self._keys(spec, item, "Transcode", template.format, 1)[0]
        segment = init = ""
        if template.container == "hls":
            # Segments numbered from 0; a byte-range type writes one file (number 0); an
            # fMP4 type's init section is the segment name numbered ``init``, as an mp4.
            pattern = item.segment_object_name or DEFAULT_PATHS["TranscodeSegment"]
            layout = template.hls_segments

            def segment_key(number: str, fmt: str) -> str:
                name = render(
                    pattern,
                    input_name=self.source_name,
                    definition=spec.definition,
                    fmt=fmt,
                    number=number,
                )
                return object_key(key_folder(key), name)

            segment = segment_key("0" if layout.single_file else "%d", layout.ext)
            if layout.fmp4 and not layout.single_file:
                init = segment_key("init", "mp4")
        # A per-title transcode is always scored: its achieved VMAF decides a re-encode.
        video = template.video_template
        target = 0.0
        if template.needs_video and video is not None and video.content_adapt_stream:
            target = video.target_vmaf or DEFAULT_TARGET_VMAF
        return TranscodeWork(
            **common,
            template=template,
            width=width,
            height=height,
            fps=fps,
            start=start,
            end=end,
            watermarks=spec.watermarks,
            key=key,
            segment_key_pattern=segment,
            hls_init_key=init,
            deinterlace=self.deinterlace and template.needs_video,
            read=spec.read,
            quality=(spec.quality or target > 0) and template.needs_video,
            target_vmaf=target,
            heads=item.head_tail_parameter.head_set if item.head_tail_parameter else [],
            tails=item.head_tail_parameter.tail_set if item.head_tail_parameter else [],
        )

    def _ladder(
        self,
        spec: SubTaskSpec,
        common: dict[str, Any],
        template: LadderTemplate,
        item: AdaptiveDynamicStreamingTaskInput,
    ) -> LadderWork:
        """The rungs this source gets, and the package's names: the master playlist / MPD
        at ``output_object_path`` (mps-api.md section 8), its playlists and segments beside
        it (``sub_stream_object_name``, ``segment_object_name``); the packager adds the
        extensions."""
        ladder = select_rungs(template, self.info, spec.definition)
        # Rendered with an empty {format}: each name ends with "." until the packager adds
        # the extension of each file it writes (m3u8, mpd, ts, m4s, mp4).
        key = self._keys(spec, item, "AdaptiveDynamicStreaming", "", 1)[0]
        folder = key_folder(key)

        def stem(pattern: str) -> str:
            name = render(pattern, input_name=self.source_name, definition=spec.definition, fmt="")
            return name.removesuffix(".")

        try:
            names = PackageNames(
                master=key[len(folder) :].removesuffix("."),
                sub_stream=stem(item.sub_stream_object_name or DEFAULT_PATHS["AdaptiveSubStream"]),
                segment=stem(item.segment_object_name or DEFAULT_PATHS["AdaptiveSegment"]),
            )
        except ValidationError as exc:
            raise spec_error(exc, "adaptive-streaming output names") from None
        # A per-title ladder is always scored: its achieved VMAF decides the re-encodes.
        target = template.target_vmaf if template.ladder == "auto" and ladder.video else 0.0
        quality = (spec.quality or target > 0) and bool(ladder.video)
        return LadderWork(
            **common, ladder=ladder, names=names, folder=folder, quality=quality,
            target_vmaf=target,
        )  # fmt: skip

    def _clip(self, start: float | None, end: float | None) -> tuple[float, float]:
        """Resolve start/end offsets (negative = from the end; 0/None = no cut)."""
        total = self.duration
        begin = float(start or 0.0)
        stop = float(end or 0.0)
        if begin < 0:
            begin = max(0.0, total + begin)
        if stop < 0:
            stop = max(0.0, total + stop)
        if stop and stop <= begin:
            raise SpecError(
                f"end_time_offset ({end}) must be after start_time_offset ({start})",
                field="end_time_offset",
            )
        if begin and total and begin >= total:
            raise SpecError(
                f"start_time_offset {begin:g}s is beyond the source's end ({total:g}s)",
                field="start_time_offset",
            )
        return begin, stop

    def _image_size(
        self, template: SnapshotTemplate | SampleSnapshotTemplate | ImageSpriteTemplate
    ) -> Size:
        return target_size(
            self._size(),
            template.width,
            template.height,
            adaptive=template.resolution_adaptive == "open",
            allow_upscale=False,
            force_even=False,
        )

    def _snapshot(
        self,
        spec: SubTaskSpec,
        common: dict[str, Any],
        template: SnapshotTemplate,
        item: SnapshotByTimeOffsetTaskInput,
    ) -> SnapshotWork:
        size = self._image_size(template)
        last = self._last_frame_time()
        times = []
        for value, percent in item.offsets():
            seconds = self.video_duration * value / 100.0 if percent else value
            times.append(round(min(max(0.0, seconds), last), 6))
        times.sort()
        keys = self._keys(spec, item, "SnapshotByTimeOffset", template.format, len(times))
        return SnapshotWork(
            **common,
            template=template,
            width=size.width,
            height=size.height,
            times=times,
            keys=keys,
            watermarks=spec.watermarks,
            deinterlace=self.deinterlace,
        )

    def _sample(
        self,
        spec: SubTaskSpec,
        common: dict[str, Any],
        template: SampleSnapshotTemplate,
        item: SubTaskOutput,
    ) -> SampleSnapshotWork:
        size = self._image_size(template)
        interval = self._interval(template)
        count = self._sample_count(interval)
        keys = self._keys(spec, item, "SampleSnapshot", template.format, count)
        return SampleSnapshotWork(
            **common,
            template=template,
            width=size.width,
            height=size.height,
            interval=interval,
            keys=keys,
            watermarks=spec.watermarks,
            deinterlace=self.deinterlace,
        )

    def _sprite(
        self,
        spec: SubTaskSpec,
        common: dict[str, Any],
        template: ImageSpriteTemplate,
        item: SubTaskOutput,
    ) -> ImageSpriteWork:
        size = self._image_size(template)
        interval = self._interval(template)
        cells = self._sample_count(interval)
        per_sheet = template.row_count * template.column_count
        sheets = math.ceil(cells / per_sheet)
        keys = self._keys(spec, item, "ImageSprites", template.format, sheets)
        web_vtt = getattr(item, "web_vtt_object_name", None) or DEFAULT_PATHS["ImageSpritesVtt"]
        vtt_name = render(
            web_vtt, input_name=self.source_name, definition=spec.definition, fmt="vtt"
        )
        return ImageSpriteWork(
            **common,
            template=template,
            width=size.width,
            height=size.height,
            interval=interval,
            cells=cells,
            keys=keys,
            vtt_key=object_key(key_folder(keys[0]), vtt_name.lstrip("/")),
            duration=self.video_duration,
            deinterlace=self.deinterlace,
        )

    def _edit(self, spec: SubTaskSpec, common: dict[str, Any]) -> EditWork:
        """A join of the edit's inputs; only the first is probed here (the task's source):
        the executor probes the others, and FFmpeg's cut ends at an input's end."""
        edit = spec.parsed_edit()
        template = spec.parsed_template()
        assert isinstance(template, TranscodeTemplate)
        first = edit.file_infos[0]
        end = first.end_time_offset or 0.0
        if first.start_time_offset >= (end or self.duration or math.inf):
            raise SpecError(
                f"the first input is {self.duration:g}s long: it has nothing after "
                f"StartTimeOffset {first.start_time_offset:g}s",
                code="InvalidParameterValue.StartTimeOffset",
                field="file_infos[0].start_time_offset",
            )
        pattern = edit.output_object_path or DEFAULT_EDIT_PATH
        name = render(
            pattern,
            input_name=self.source_name,
            definition=spec.definition,
            fmt=template.format,
            number=0,
            number_format=NumberFormat(),
        )
        pieces = [
            EditPiece(source=f.source, start=f.start_time_offset, end=f.end_time_offset or 0.0)
            for f in edit.file_infos
        ]
        key = object_key(spec.output_dir, name)
        segments = ""
        if template.container == "hls":  # TS segments beside the playlist: <its name>_N.ts
            folder, _, playlist = key.rpartition("/")
            stem = playlist.rsplit(".", 1)[0]
            segments = f"{folder}/{stem}_%d.ts" if folder else f"{stem}_%d.ts"
        return EditWork(
            **common,
            template=template,
            pieces=pieces,
            fast=edit.fast,
            key=key,
            segment_key_pattern=segments,
        )

    def _animated(
        self,
        spec: SubTaskSpec,
        common: dict[str, Any],
        template: AnimatedGraphicsTemplate,
        item: AnimatedGraphicTaskInput,
    ) -> AnimatedWork:
        size = target_size(
            self._size(),
            template.width,
            template.height,
            adaptive=template.resolution_adaptive == "open",
            force_even=False,
        )
        start = item.start_time_offset
        end = item.end_time_offset or self.video_duration
        end = min(end, self.video_duration)
        if start >= end:
            raise SpecError(
                f"the animated graphic starts at {start:g}s, at or after the source's "
                f"end ({self.video_duration:g}s)",
                code="InvalidParameterValue.StartTimeOffset",
                field="start_time_offset",
            )
        key = self._keys(spec, item, "AnimatedGraphics", template.format, 1)[0]
        return AnimatedWork(
            **common,
            template=template,
            width=size.width,
            height=size.height,
            start=start,
            end=end,
            key=key,
            deinterlace=self.deinterlace,
        )


def build_plan(
    subtasks: list[SubTaskSpec], info: MediaInfo, source_name: str, *, fuse: bool = True
) -> Plan:
    """Works for every sub-task, grouped into jobs; unrunnable sub-tasks are rejected."""
    builder = WorkBuilder(info, source_name)
    works: list[Work] = []
    rejected: list[Rejection] = []
    for spec in subtasks:
        try:
            works.append(builder.build(spec))
        except ReelflowError as exc:
            rejected.append(Rejection(spec.index, exc.code, exc.message))
    if not works:
        return Plan(jobs=(), rejected=tuple(rejected))
    groups = [works] if fuse else [[w] for w in works]
    jobs = tuple(
        PlannedJob(
            subtasks=tuple(w.index for w in group),
            works=tuple(group),
        )
        for group in groups
    )
    return Plan(jobs=jobs, rejected=tuple(rejected))


class DefaultPlanner:
    """The ``Planner`` the engine uses: templates in, fused jobs out."""

    def __init__(self, *, fuse: bool = True) -> None:
        self.fuse = fuse

    def resolve(self, request: TaskRequest, templates: TemplateLookup) -> list[SubTaskSpec]:
        return resolve_request(request, templates)

    def plan(self, subtasks: list[SubTaskSpec], media_info: MediaInfo, source_name: str) -> Plan:
        return build_plan(subtasks, media_info, source_name, fuse=self.fuse)


__all__ = ["DefaultPlanner", "SubTaskKind", "build_plan"]
