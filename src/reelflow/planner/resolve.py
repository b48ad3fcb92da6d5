"""Request -> sub-task specs: template lookup, output locations, early validation."""

from __future__ import annotations

from pydantic import ValidationError

from reelflow.errors import SpecError
from reelflow.planner.naming import check_custom_path, check_relative_name
from reelflow.presets.lookup import TemplateLookup
from reelflow.specs.base import field_errors, spec_error
from reelflow.specs.graph import Node, link
from reelflow.specs.ladders import LadderTemplate
from reelflow.specs.requests import EditMediaInput, TaskRequest
from reelflow.specs.subtasks import ResolvedWatermark, SubTaskKind, SubTaskSpec, TaskInput
from reelflow.specs.tasks import (
    AdaptiveDynamicStreamingTaskInput,
    TranscodeTaskInput,
    WatermarkInput,
)
from reelflow.specs.template_kinds import Template
from reelflow.specs.templates import (
    TRUSTED,
    AudioTemplate,
    TemplateKind,
    TranscodeTemplate,
    VideoTemplate,
    WatermarkTemplate,
)
from reelflow.specs.units import AudioCodec, VideoCodec

_TEMPLATE_KIND = {
    SubTaskKind.TRANSCODE: TemplateKind.TRANSCODE,
    SubTaskKind.ANIMATED_GRAPHICS: TemplateKind.ANIMATED_GRAPHICS,
    SubTaskKind.SNAPSHOT: TemplateKind.SNAPSHOT,
    SubTaskKind.SAMPLE_SNAPSHOT: TemplateKind.SAMPLE_SNAPSHOT,
    SubTaskKind.IMAGE_SPRITE: TemplateKind.IMAGE_SPRITE,
    SubTaskKind.ADAPTIVE: TemplateKind.ADAPTIVE,
}
_SET_NAMES = {
    SubTaskKind.TRANSCODE: "transcode_task_set",
    SubTaskKind.ANIMATED_GRAPHICS: "animated_graphic_task_set",
    SubTaskKind.SNAPSHOT: "snapshot_by_time_offset_task_set",
    SubTaskKind.SAMPLE_SNAPSHOT: "sample_snapshot_task_set",
    SubTaskKind.IMAGE_SPRITE: "image_sprite_task_set",
    SubTaskKind.ADAPTIVE: "adaptive_dynamic_streaming_task_set",
}
_NUMBERED = {SubTaskKind.SNAPSHOT, SubTaskKind.SAMPLE_SNAPSHOT, SubTaskKind.IMAGE_SPRITE}


def _lookup(templates: TemplateLookup, kind: TemplateKind, definition: int, field: str) -> Template:
    template = templates.get(kind, definition)
    if template is None:
        raise SpecError(
            f"{field}: no {kind.value} template with definition {definition}",
            code="ResourceNotFound.TemplateNotExist",
            field=field,
        )
    return template


def _watermark(templates: TemplateLookup, wm: WatermarkInput, field: str) -> ResolvedWatermark:
    if wm.definition == 0:
        assert wm.raw_parameter is not None  # guaranteed by WatermarkInput's validator
        template = wm.raw_parameter
    else:
        found = _lookup(templates, TemplateKind.WATERMARK, wm.definition, field)
        assert isinstance(found, WatermarkTemplate)
        template = found
    if template.type == "text" and not (wm.text_content or template.text_template):
        raise SpecError(f"{field}: a text watermark needs text_content", field=field)
    return ResolvedWatermark(
        definition=wm.definition,
        template=template,
        text_content=wm.text_content,
        start_time_offset=wm.start_time_offset,
        end_time_offset=wm.end_time_offset,
    )


def _quality(request: TaskRequest, template: Template) -> bool:
    """Whether a sub-task's video is scored: asked for by the task (its workflow) or by a
    transcode template; a ladder's rungs when the task asks."""
    if isinstance(template, TranscodeTemplate):
        return (request.quality or template.quality) and template.needs_video
    return request.quality and isinstance(template, LadderTemplate)


def resolve_request(request: TaskRequest, templates: TemplateLookup) -> list[SubTaskSpec]:
    """Every sub-task of ``request`` with its template looked up; ``SpecError`` on a bad one."""
    if request.edit is not None:
        return [_edit(request, request.edit, templates)]
    mpt = request.media_process_task
    groups: list[tuple[SubTaskKind, list[TaskInput]]] = [
        (SubTaskKind.TRANSCODE, list(mpt.transcode_task_set)),
        (SubTaskKind.ANIMATED_GRAPHICS, list(mpt.animated_graphic_task_set)),
        (SubTaskKind.SNAPSHOT, list(mpt.snapshot_by_time_offset_task_set)),
        (SubTaskKind.SAMPLE_SNAPSHOT, list(mpt.sample_snapshot_task_set)),
        (SubTaskKind.IMAGE_SPRITE, list(mpt.image_sprite_task_set)),
        (SubTaskKind.ADAPTIVE, list(mpt.adaptive_dynamic_streaming_task_set)),
    ]
    default_bucket = request.resolved_output_bucket()
    output_dir = request.resolved_output_dir()
    specs: list[SubTaskSpec] = []
    nodes: list[Node] = []
    for kind, inputs in groups:
        for position, item in enumerate(inputs):
            field = f"media_process_task.{_SET_NAMES[kind]}[{position}]"
            if isinstance(item, TranscodeTaskInput) and item.definition == 0:
                assert item.raw_parameter is not None
                template: Template = item.raw_parameter
            else:
                template = _lookup(
                    templates, _TEMPLATE_KIND[kind], item.definition, f"{field}.definition"
                )
            if isinstance(item, TranscodeTaskInput) and item.override_parameter is not None:
                assert isinstance(template, TranscodeTemplate)
                template = _override(template, item, field)
            if isinstance(item, TranscodeTaskInput) and item.head_tail_parameter is not None:
                assert isinstance(template, TranscodeTemplate)
                _check_head_tail(template, field)
            marks = getattr(item, "watermark_set", [])
            watermarks = [
                _watermark(templates, wm, f"{field}.watermark_set[{i}].definition")
                for i, wm in enumerate(marks)
            ]
            if item.output_object_path:
                check_custom_path(
                    item.output_object_path,
                    numbered=kind in _NUMBERED,
                    field=f"{field}.output_object_path",
                )
            if isinstance(item, AdaptiveDynamicStreamingTaskInput):
                _check_package_names(item, field)
            _check_side_names(item, field)
            bucket = (item.output_storage.bucket if item.output_storage else "") or default_bucket
            nodes.append(_node(field, kind, item, template))
            specs.append(
                SubTaskSpec(
                    index=len(specs),
                    kind=kind,
                    definition=item.definition,
                    input=item.without_node(),
                    template=template.to_json(),
                    watermarks=watermarks,
                    output_bucket=bucket,
                    output_dir=output_dir,
                    node_id=item.id,
                    # Asked for by the task (its workflow) or by the template.
                    quality=_quality(request, template),
                )
            )
    upstreams = link(nodes)
    read = {up for up in upstreams if up is not None}
    return [
        spec.model_copy(
            update={
                "upstream": up,
                "upstream_id": nodes[up].id if up is not None else None,
                "read": spec.index in read,
            }
        )
        if up is not None or spec.index in read
        else spec
        for spec, up in zip(specs, upstreams, strict=True)
    ]


def _check_side_names(item: TaskInput, field: str) -> None:
    """A transcode's HLS segments and a sprite's WebVTT file are named beside the main
    output by the same rule as a ladder's files (mps-api.md §8): a file name ending with
    ``.{format}`` (segments numbered with ``{number}``), never a name without an extension."""
    segment = getattr(item, "segment_object_name", None)
    if isinstance(item, TranscodeTaskInput) and segment:
        check_relative_name(segment, ("{number}",), f"{field}.segment_object_name")
    web_vtt = getattr(item, "web_vtt_object_name", None)
    if web_vtt:
        check_relative_name(web_vtt, (), f"{field}.web_vtt_object_name")


def _override(template: TranscodeTemplate, item: TranscodeTaskInput, field: str) -> Template:
    """The template with the sub-task's ``override_parameter`` applied (this task only)."""
    assert item.override_parameter is not None
    try:
        return item.override_parameter.apply(template)
    except ValidationError as exc:
        [first, *_] = field_errors(exc)
        where = f"{field}.override_parameter"
        path = f"{where}.{first['field']}" if first["field"] else where
        raise SpecError(f"{path}: {first['message']}", field=path) from None


def _check_head_tail(template: TranscodeTemplate, field: str) -> None:
    """Heads and tails are joined to a rendition with video and audio in one file."""
    if template.container == "hls" or template.remove_video or template.remove_audio:
        where = f"{field}.head_tail_parameter"
        raise SpecError(
            f"{where}: heads and tails are joined to a single-file rendition with video and "
            "audio (not HLS, not with RemoveVideo or RemoveAudio)",
            code="UnsupportedOperation",
            field=where,
        )


def _edit(request: TaskRequest, edit: EditMediaInput, templates: TemplateLookup) -> SubTaskSpec:
    """The one sub-task of a clip-and-join task: its output template is the given transcode
    template in the edit's container, else H.264/AAC whose sizes and rates (all 0) are the
    first input's."""
    if edit.definition:
        field = "edit.definition"
        found = _lookup(templates, TemplateKind.TRANSCODE, edit.definition, field)
        assert isinstance(found, TranscodeTemplate)
        if found.remove_video or found.remove_audio:
            raise SpecError(f"{field}: a join keeps both video and audio", field=field)
        try:
            template = TranscodeTemplate.model_validate(
                {**found.to_json(), "container": edit.container}, context=TRUSTED
            )
        except ValidationError as exc:
            raise SpecError(
                f"{field}: template {edit.definition} cannot be written as "
                f"{edit.container}: {spec_error(exc, 'template').message}",
                field=field,
            ) from None
    else:
        template = TranscodeTemplate(
            container=edit.container,
            video_template=VideoTemplate(codec=VideoCodec.H264),
            audio_template=AudioTemplate(codec=AudioCodec.AAC),
        )
    return SubTaskSpec(
        index=0,
        kind=SubTaskKind.EDIT,
        definition=edit.definition,
        input=edit.to_json(),
        template=template.to_json(),
        output_bucket=request.resolved_output_bucket(),
        output_dir=request.resolved_output_dir(),
    )


def _check_package_names(item: AdaptiveDynamicStreamingTaskInput, field: str) -> None:
    """A ladder's playlists and segments are named beside its master playlist / MPD."""
    if item.sub_stream_object_name:
        check_relative_name(
            item.sub_stream_object_name,
            ("{subStreamNumber}",),
            f"{field}.sub_stream_object_name",
        )
    if item.segment_object_name:
        check_relative_name(
            item.segment_object_name,
            ("{subStreamNumber}", "{segmentNumber}"),
            f"{field}.segment_object_name",
        )


def _node(field: str, kind: SubTaskKind, item: TaskInput, template: Template) -> Node:
    """``item`` as a node of the task graph (``reelflow.specs.graph``)."""
    transcode = template if isinstance(template, TranscodeTemplate) else None
    if transcode is not None:
        needs_video = transcode.needs_video
    elif isinstance(template, LadderTemplate):
        needs_video = not template.pure_audio
    else:
        needs_video = kind.needs_video
    return Node(
        field=field,
        kind=kind,
        id=item.id,
        input=item.input,
        needs_video=needs_video,
        makes_video=transcode is not None and transcode.needs_video,
        playlist=transcode is not None and transcode.container == "hls",
    )
