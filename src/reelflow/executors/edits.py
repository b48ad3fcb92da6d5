"""Running a clip-and-join (``EditWork``): its inputs fetched and probed, one FFmpeg
command (``reelflow.media.edit``), the joined file committed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reelflow.errors import SpecError
from reelflow.media.edit import (
    EditCommand,
    JoinTarget,
    Piece,
    build_copy_command,
    build_join_command,
    copy_compatible,
    target_of,
)
from reelflow.specs.media import MediaInfo
from reelflow.specs.works import EditWork, TranscodeWork


def head_tail_command(
    work: TranscodeWork,
    rendition: tuple[str, MediaInfo],
    heads: Sequence[tuple[str, MediaInfo]],
    tails: Sequence[tuple[str, MediaInfo]],
    work_dir: Path,
    *,
    video_preset: str,
) -> EditCommand:
    """The command joining ``heads``, the rendition and ``tails`` (local path and probe of
    each), re-encoded with the rendition's template to the rendition's size, frame rate and
    audio. ``SpecError`` for a clip without video."""
    path, info = rendition
    clips = [*heads, *tails]
    for i, (_, clip) in enumerate(clips):
        if not clip.has_video:
            raise SpecError(
                f"HeadTailParameter: clip {i} has no video stream",
                code="UnsupportedOperation.NoVideoStream",
                field="HeadTailParameter",
            )
    video, audio = info.primary_video, info.primary_audio
    template = work.template
    assert video is not None
    assert template.video_template is not None and template.audio_template is not None
    target = JoinTarget(
        width=video.display_width,
        height=video.display_height,
        fps=round(video.fps or work.fps or 25.0, 3),
        sample_rate=audio.sample_rate if audio else (template.audio_template.sample_rate or 44100),
        channels=min(audio.channels, 2) if audio else 2,
        video=template.video_template,
        audio=template.audio_template,
        container=template.container,
    )
    pieces = [Piece(p, i) for p, i in heads] + [Piece(path, info)] + [Piece(p, i) for p, i in tails]
    return build_join_command(pieces, target, work_dir, video_preset=video_preset)


def edit_command(
    work: EditWork,
    inputs: Sequence[tuple[str, MediaInfo]],
    work_dir: Path,
    *,
    video_preset: str,
) -> EditCommand:
    """The command joining ``inputs`` (local path and probe of each of ``work.pieces``):
    stream copy when the work asks for ``fast`` and the inputs allow it, else a re-encode
    to the template (its zero sizes and rates: the first input's). ``SpecError`` for a cut
    that keeps nothing of its input."""
    pieces = [
        Piece(path, info, start=cut.start, end=cut.end)
        for (path, info), cut in zip(inputs, work.pieces, strict=True)
    ]
    for i, piece in enumerate(pieces):
        if not piece.info.has_video:
            raise SpecError(
                f"FileInfos.{i}: the input has no video stream: a join needs pictures",
                code="UnsupportedOperation.NoVideoStream",
                field=f"FileInfos.{i}",
            )
        if piece.length <= 0:
            raise SpecError(
                f"FileInfos.{i}: the input is {piece.info.duration or 0:g}s long: nothing "
                f"is left between StartTimeOffset {piece.start:g}s and its end",
                code="InvalidParameterValue.StartTimeOffset",
                field=f"FileInfos.{i}.StartTimeOffset",
            )
    template = work.template
    if work.fast and copy_compatible(pieces):
        return build_copy_command(pieces, work_dir, template.container)
    assert template.video_template is not None and template.audio_template is not None
    target = target_of(
        pieces[0].info, template.video_template, template.audio_template, template.container
    )
    return build_join_command(pieces, target, work_dir, video_preset=video_preset)
