"""Works -> one FFmpeg command that decodes the source once and feeds every output.

Pure: no I/O. The caller writes ``Command.files`` (watermark images, text) into the work
folder before running ``Command.args`` with ``FFmpegRunner``, then finds each work's files
with ``Command.outputs``.

Graph shape::

    [0:v:0] (yadif) split=N [b0]..[bN-1]
    [b0] (trim) fps scale/pad setsar format (overlays) [o0]   -> rendition
    [b1] select(times) scale                         [o1]   -> numbered images
    [b2] select(every I s) scale tile=CxR            [o2]   -> sprite sheets
    [b3] trim fps scale split palettegen paletteuse  [o3]   -> GIF
    [b4] fps split=R [l4b0].. scale [l4v0]..         -> an adaptive ladder (hls/dash muxer)
    [0:a:0] atrim                                     [aK]   -> only for clipped renditions
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reelflow.media.encoders import (
    FASTSTART,
    MUXERS,
    audio_args,
    hls_seconds,
    input_thread_args,
    output_thread_args,
    video_args,
)
from reelflow.media.ladder.command import LadderCommand, ladder_outputs
from reelflow.specs.media import MediaInfo
from reelflow.specs.subtasks import ResolvedWatermark
from reelflow.specs.units import Size
from reelflow.specs.works import (
    AnimatedWork,
    CommandWork,
    ImageSpriteWork,
    LadderWork,
    SampleSnapshotWork,
    SnapshotWork,
    TranscodeWork,
)

IMAGE_CODECS = {
    "jpg": ["-c:v", "mjpeg", "-q:v", "2"],
    "png": ["-c:v", "png"],
    "webp": ["-c:v", "libwebp", "-quality", "85"],
}


@dataclass(frozen=True)
class WorkFiles:
    """Where one work's files land in the work folder.

    ``pattern`` is set for numbered outputs (``w3_%d.jpg``, numbered from 0); ``main`` for
    single-file outputs; ``segments`` for HLS segment files (``w0_%d.ts``, ``w0_%d.m4s``
    with the fMP4 init section ``w0_init.mp4`` beside them, or the one byte-range file
    ``w0_0.ts`` / ``w0_0.mp4``: ``TranscodeTemplate.hls_segments``).
    """

    main: Path | None = None
    pattern: Path | None = None
    segments: Path | None = None


@dataclass
class Command:
    args: list[str]
    outputs: dict[int, WorkFiles]
    files: dict[Path, bytes] = field(default_factory=dict)
    # Seconds FFmpeg's progress ``out_time`` runs to: the longest output (see _output_length).
    duration: float = 0.0
    # Each ladder's raw output, by work index (published after the run).
    ladders: dict[int, LadderCommand] = field(default_factory=dict)
    # Each work's output file, by work index: its rank among the command's outputs (what
    # FFmpeg's ``-dec FILE:STREAM`` names; a work writes one output file, its video, if
    # any, first).
    output_files: dict[int, int] = field(default_factory=dict)


def _num(value: float) -> str:
    """A float for a filter expression: short, no exponent."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _select_times(times: list[float]) -> str:
    """A select expression keeping the first frame at or after each time, in order.

    Uses the filter's variable 0 as the count of frames already taken; a time that no frame
    reaches (past the end) is simply not produced.
    """
    nested = _num(times[-1])
    for i in range(len(times) - 2, -1, -1):
        nested = f"if(eq(ld(0),{i}),{_num(times[i])},{nested})"
    return f"select='if(lt(ld(0),{len(times)})*gte(t,{nested}),st(0,ld(0)+1),0)'"


def _select_every(interval: float) -> str:
    """Keep the first frame, then the first frame of each following ``interval`` window."""
    i = _num(interval)
    return (
        f"select='isnan(prev_selected_t)+gt(floor((t+0.0005)/{i}),"
        f"floor((prev_selected_t+0.0005)/{i}))'"
    )


def _fit(width: int, height: int, fill: str, source_aspect: float) -> list[str]:
    """Scale filters into a ``width`` x ``height`` frame with the template's fill type."""
    if abs(width / height - source_aspect) / source_aspect < 0.01 or fill == "stretch":
        return [f"scale={width}:{height}:flags=bicubic"]
    color = "white" if fill == "white" else "black"
    return [
        f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2",
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color={color}",
    ]


class _Graph:
    def __init__(self, work_dir: Path, font_file: str) -> None:
        self.chains: list[str] = []
        self.inputs: list[str] = []  # extra -i arguments after the source
        self.files: dict[Path, bytes] = {}
        self.work_dir = work_dir
        self.font_file = font_file
        self.labels = 0

    def label(self, prefix: str) -> str:
        self.labels += 1
        return f"{prefix}{self.labels}"

    def add_input(self, path: Path, data: bytes) -> int:
        self.files[path] = data
        self.inputs += ["-i", str(path)]
        return len(self.inputs) // 2  # the source is input 0

    def watermark(
        self, current: str, wm: ResolvedWatermark, tag: str, width: int, height: int
    ) -> str:
        """Overlay one watermark on the stream labelled ``current``; returns the new label."""
        template, geometry = wm.template, wm.geometry
        own_w, own_h = ("w", "h") if template.type == "image" else ("tw", "th")
        x = _position(geometry.x, "W", own_w, template.coordinate_origin, horizontal=True)
        y = _position(geometry.y, "H", own_h, template.coordinate_origin, horizontal=False)
        enable = ""
        if wm.start_time_offset or wm.end_time_offset:
            start = _num(max(0.0, wm.start_time_offset or 0.0))
            end = _num(wm.end_time_offset) if wm.end_time_offset else "1e9"
            enable = f":enable='between(t,{start},{end})'"
        out = self.label("wm")
        if template.type == "image":
            assert template.image_template is not None
            assert geometry.width is not None and geometry.height is not None
            image = template.image_template
            index = self.add_input(
                self.work_dir / f"{tag}.img", base64.b64decode(image.image_content)
            )
            wm_w = _pixels(geometry.width, width)
            # Like the width, a height in % is of the video (``ih`` would be the logo's own).
            wm_h = -1 if geometry.height.number == 0 else _pixels(geometry.height, height)
            logo = self.label("logo")
            self.chains.append(f"[{index}:v]scale={max(2, wm_w)}:{wm_h}[{logo}]")
            self.chains.append(f"[{current}][{logo}]overlay=x={x}:y={y}{enable}[{out}]")
            return out
        assert template.text_template is not None
        text = template.text_template
        content = wm.text_content or text.text_content
        text_path = self.work_dir / f"{tag}.txt"
        self.files[text_path] = content.encode()
        assert geometry.font_size is not None
        font_size = geometry.font_size
        size = (
            f"h*{_num(font_size.number / 100)}" if font_size.is_percent else _num(font_size.number)
        )
        color = f"0x{text.font_color[2:]}@{_num(text.font_alpha)}"
        font = f"fontfile={self.font_file}:" if self.font_file else ""
        self.chains.append(
            f"[{current}]drawtext={font}textfile={text_path}:fontsize={size}:"
            f"fontcolor={color}:x={x}:y={y}{enable}[{out}]"
        )
        return out


def _pixels(size: Size, full: int) -> int:
    """``size`` in pixels, a percentage being of ``full``."""
    return round(full * size.number / 100 if size.is_percent else size.number)


def _position(offset_size: Size, full: str, own: str, origin: str, *, horizontal: bool) -> str:
    """An overlay coordinate from an offset (% of the video or px) and origin."""
    number = offset_size.number
    offset = f"{full}*{_num(number / 100)}" if offset_size.is_percent else _num(number)
    from_far_side = ("Right" in origin) if horizontal else origin.startswith("Bottom")
    return f"({full}-{own}-{offset})" if from_far_side else offset


def _overlay_marks(
    graph: _Graph, label: str, marks: list[ResolvedWatermark], index: int, size: tuple[int, int]
) -> str:
    for k, mark in enumerate(marks):
        label = graph.watermark(label, mark, f"wm{index}_{k}", size[0], size[1])
    return label


def build_command(
    source: str,
    info: MediaInfo,
    works: Sequence[CommandWork],
    work_dir: Path,
    *,
    video_preset: str = "medium",
    font_file: str = "",
    threads: int = 0,
) -> Command:
    """One FFmpeg invocation (arguments after the binary) producing every work's files.

    ``threads`` (``REELFLOW_FFMPEG_THREADS``; 0 = FFmpeg's default) caps the process: the
    decoder, the filter graph and every output's encoders.

    A ladder (``LadderWork``) is one more output: a branch of the shared ``split`` feeds its
    own ``fps`` + ``split`` + ``scale`` chains and its muxer writes into
    ``work_dir/ladder{index}.raw``; ``Command.ladders`` keeps what publishing it needs
    (``reelflow.media.ladder.publish_ladder``)."""
    graph = _Graph(work_dir, font_file)
    video = info.primary_video
    aspect = (video.display_width / video.display_height) if video else 1.0
    visual = [w for w in works if _needs_frames(w)]
    interlaced = video is not None and video.interlaced
    deinterlaced = any(w.deinterlace for w in visual if not isinstance(w, LadderWork))
    branches: dict[int, str] = {}
    if visual:
        base = "[0:v:0]"
        if deinterlaced:
            base += "yadif=deint=interlaced,"
        names = [f"b{w.index}" for w in visual]
        graph.chains.append(f"{base}split={len(names)}" + "".join(f"[{n}]" for n in names))
        branches = {w.index: f"b{w.index}" for w in visual}

    outputs: dict[int, WorkFiles] = {}
    ladders: dict[int, LadderCommand] = {}
    out_args: list[str] = []
    output_files: dict[int, int] = {}
    for work in works:
        output_files[work.index] = len(output_files)
        if isinstance(work, LadderWork):
            part = ladder_outputs(
                info,
                work.ladder,
                work_dir / f"ladder{work.index}.raw",
                video_input=f"[{branches[work.index]}]" if work.index in branches else "",
                deinterlace=interlaced and not deinterlaced,
                label=f"l{work.index}",
                video_preset=video_preset,
                threads=threads,
            )
            graph.chains += part.chains
            ladders[work.index] = part.command
            outputs[work.index] = WorkFiles()
            out_args += part.args
            continue
        if isinstance(work, TranscodeWork):
            files, args = _transcode(
                graph, work, branches.get(work.index), info, aspect, video_preset
            )
            args += [*_muxer_args(work, files), str(files.main)]
        elif isinstance(work, AnimatedWork):
            files, args = _animated(graph, work, branches[work.index])
        else:
            files, args = _images(graph, work, branches[work.index], aspect)
        outputs[work.index] = files
        out_args += [*output_thread_args(threads), *args]

    args = ["-y", *input_thread_args(threads), "-i", source, *graph.inputs]
    if graph.chains:
        args += ["-filter_complex", ";".join(graph.chains)]
    args += out_args
    length = max((_output_length(w, info.duration or 0.0) for w in works), default=0.0)
    return Command(
        args=args,
        outputs=outputs,
        files=graph.files,
        duration=length,
        ladders=ladders,
        output_files=output_files,
    )


def _needs_frames(work: CommandWork) -> bool:
    """Whether ``work`` takes a branch of the decoded video."""
    if isinstance(work, TranscodeWork):
        return work.width != 0
    if isinstance(work, LadderWork):
        return not work.ladder.audio_only
    return True


def _output_length(work: CommandWork, source: float) -> float:
    """How far one work's output timestamps run, in seconds.

    FFmpeg's progress ``out_time`` is the furthest output position, so the longest output
    is what a job's progress should be measured against. Clipped renditions and animations
    restart at 0 (``setpts=PTS-STARTPTS``); snapshots keep the source time of their frames;
    everything else runs with the whole source.
    """
    if isinstance(work, TranscodeWork):
        if not (work.start or work.end):
            return source
        return max((work.end or source) - work.start, 0.0)
    if isinstance(work, AnimatedWork):
        return max(work.end - work.start, 0.0)
    if isinstance(work, SnapshotWork):
        last = max(work.times, default=0.0)
        return min(last, source) if source else last
    return source


def _transcode(
    graph: _Graph,
    work: TranscodeWork,
    branch: str | None,
    info: MediaInfo,
    aspect: float,
    video_preset: str,
) -> tuple[WorkFiles, list[str]]:
    template = work.template
    ext = template.format
    main = graph.work_dir / f"w{work.index}.{ext}"
    segments = hls_segment_path(graph.work_dir, work) if template.container == "hls" else None
    args: list[str] = []
    clipped = bool(work.start or work.end)
    if branch is not None:
        assert template.video_template is not None
        label = _rendition_chain(graph, work, branch, aspect)
        args += ["-map", f"[{label}]"]
        args += video_args(
            template.video_template,
            fps=work.fps,
            preset=video_preset,
            container=template.container,
            capped_crf=work.capped_crf,
        )
    else:
        args.append("-vn")
    if not template.remove_audio and info.has_audio:
        assert template.audio_template is not None
        if clipped:
            label = graph.label("a")
            end = f":end={_num(work.end)}" if work.end else ""
            graph.chains.append(
                f"[0:a:0]atrim=start={_num(work.start)}{end},asetpts=PTS-STARTPTS[{label}]"
            )
            args += ["-map", f"[{label}]"]
        else:
            args += ["-map", "0:a:0"]
        args += audio_args(template.audio_template)
    else:
        args.append("-an")
    args += ["-map_metadata", "-1", "-sn", "-dn"]
    return WorkFiles(main=main, segments=segments), args


def _rendition_chain(graph: _Graph, work: TranscodeWork, branch: str, aspect: float) -> str:
    """The rendition's video filters (clip, rate, size, watermarks) from the stream labelled
    ``branch``; returns the label of the frames to encode."""
    assert work.template.video_template is not None
    filters = []
    if work.start or work.end:
        end = f":end={_num(work.end)}" if work.end else ""
        filters.append(f"trim=start={_num(work.start)}{end},setpts=PTS-STARTPTS")
    if work.fps:
        filters.append(f"fps={_num(work.fps)}")
    filters += _fit(work.width, work.height, work.template.video_template.fill_type, aspect)
    sar = work.template.video_template.sar
    filters += [f"setsar={'2' if sar == '2:1' else '1'}", "format=yuv420p"]
    label = graph.label("v")
    graph.chains.append(f"[{branch}]" + ",".join(filters) + f"[{label}]")
    return _overlay_marks(graph, label, work.watermarks, work.index, (work.width, work.height))


@dataclass(frozen=True)
class VideoGraph:
    """One rendition's video filter graph on its own (the very chain :func:`build_command`
    gives it), for commands that encode part of it (``reelflow.media.chunks``): ``chains``
    read ``[0:v:0]`` and end at ``label``; ``inputs`` are the extra ``-i`` arguments
    (watermark images) and ``files`` what must be written before the run."""

    chains: list[str]
    label: str
    inputs: list[str]
    files: dict[Path, bytes]


def rendition_video_graph(
    info: MediaInfo, work: TranscodeWork, work_dir: Path, *, font_file: str = ""
) -> VideoGraph:
    """The video filter graph of one rendition, as :func:`build_command` builds it."""
    graph = _Graph(work_dir, font_file)
    video = info.primary_video
    aspect = (video.display_width / video.display_height) if video else 1.0
    base = "[0:v:0]yadif=deint=interlaced" if work.deinterlace else "[0:v:0]null"
    graph.chains.append(f"{base}[src]")
    label = _rendition_chain(graph, work, "src", aspect)
    return VideoGraph(chains=graph.chains, label=label, inputs=graph.inputs, files=graph.files)


@dataclass(frozen=True)
class FusedVideoGraph:
    """Several renditions' video filter graphs from one decode of the source (the chunk
    jobs of ``reelflow.media.chunks``): ``chains`` read ``[0:v:0]`` once (after ``head``,
    e.g. a ``setpts``), split it, and end at ``labels`` (one per work, in order)."""

    chains: list[str]
    labels: list[str]
    inputs: list[str]
    files: dict[Path, bytes]


def fused_video_graph(
    info: MediaInfo,
    works: Sequence[TranscodeWork],
    work_dir: Path,
    *,
    head: str = "",
    font_file: str = "",
) -> FusedVideoGraph:
    """The video filter graphs of ``works`` (each the very chain :func:`build_command`
    gives it) fed by one decode of ``[0:v:0]`` through ``head`` (a filter, or none)."""
    graph = _Graph(work_dir, font_file)
    video = info.primary_video
    aspect = (video.display_width / video.display_height) if video else 1.0
    branches = [f"src{i}" for i in range(len(works))]
    outs = "".join(f"[{b}]" for b in branches)
    graph.chains.append(f"[0:v:0]{head or 'null'},split={len(works)}{outs}")
    labels = []
    for work, branch in zip(works, branches, strict=True):
        frames = branch
        if work.deinterlace:
            frames = f"{branch}d"
            graph.chains.append(f"[{branch}]yadif=deint=interlaced[{frames}]")
        labels.append(_rendition_chain(graph, work, frames, aspect))
    return FusedVideoGraph(graph.chains, labels, graph.inputs, graph.files)


def hls_segment_path(work_dir: Path, work: TranscodeWork) -> Path:
    """Where FFmpeg writes an HLS rendition's media: ``w{i}_%d.{ext}``, or ``w{i}_0.{ext}``
    for the one file of a byte-range type."""
    layout = work.template.hls_segments
    number = "0" if layout.single_file else "%d"
    return work_dir / f"w{work.index}_{number}.{layout.ext}"


def hls_init_name(work: TranscodeWork) -> str:
    """The local name of an fMP4 rendition's init section (segment types 7)."""
    return f"w{work.index}_init.mp4"


def muxer_args(work: TranscodeWork, files: WorkFiles) -> list[str]:
    """The output format options of a rendition's file (``-f`` and the muxer's own)."""
    return _muxer_args(work, files)


def _muxer_args(work: TranscodeWork, files: WorkFiles) -> list[str]:
    container = work.template.container
    args = ["-f", MUXERS[container]]
    if container in FASTSTART:
        args += ["-movflags", "+faststart"]
    if container == "hls":
        assert files.segments is not None
        args += [
            "-hls_time",
            str(hls_seconds(work.template.video_template)),
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            str(files.segments),
        ]
        layout = work.template.hls_segments
        if layout.fmp4:
            args += ["-hls_segment_type", "fmp4"]
            if not layout.single_file:  # beside the playlist; a byte-range file holds it
                args += ["-hls_fmp4_init_filename", hls_init_name(work)]
        if layout.single_file:
            args += ["-hls_flags", "single_file"]
    return args


def _images(
    graph: _Graph,
    work: SnapshotWork | SampleSnapshotWork | ImageSpriteWork,
    branch: str,
    aspect: float,
) -> tuple[WorkFiles, list[str]]:
    template = work.template
    filters = []
    if isinstance(work, SnapshotWork):
        filters.append(_select_times(work.times))
    else:
        filters.append(_select_every(work.interval))
    filters += _fit(work.width, work.height, template.fill_type, aspect)
    filters.append("setsar=1")
    if isinstance(work, ImageSpriteWork):
        filters.append(f"tile={template.column_count}x{template.row_count}")  # type: ignore[union-attr]
    label = graph.label("i")
    graph.chains.append(f"[{branch}]" + ",".join(filters) + f"[{label}]")
    marks = [] if isinstance(work, ImageSpriteWork) else work.watermarks
    label = _overlay_marks(graph, label, marks, work.index, (work.width, work.height))
    pattern = graph.work_dir / f"w{work.index}_%d.{template.format}"
    args = ["-map", f"[{label}]", "-fps_mode", "passthrough"]
    if isinstance(work, SnapshotWork):
        args += ["-frames:v", str(len(work.times))]
    args += [*IMAGE_CODECS[template.format], "-f", "image2", "-start_number", "0", str(pattern)]
    return WorkFiles(pattern=pattern), args


def _animated(graph: _Graph, work: AnimatedWork, branch: str) -> tuple[WorkFiles, list[str]]:
    template = work.template
    head = (
        f"[{branch}]trim=start={_num(work.start)}:end={_num(work.end)},setpts=PTS-STARTPTS,"
        f"fps={template.fps},scale={work.width}:{work.height}:flags=lanczos,setsar=1"
    )
    label = graph.label("g")
    main = graph.work_dir / f"w{work.index}.{template.format}"
    if template.format == "gif":
        a, b, p = graph.label("ga"), graph.label("gb"), graph.label("gp")
        graph.chains.append(f"{head},split[{a}][{b}]")
        graph.chains.append(f"[{a}]palettegen=stats_mode=diff[{p}]")
        graph.chains.append(f"[{b}][{p}]paletteuse=dither=bayer:bayer_scale=4[{label}]")
        codec = ["-c:v", "gif", "-f", "gif"]
    else:
        graph.chains.append(f"{head}[{label}]")
        codec = ["-c:v", "libwebp_anim", "-quality", _num(template.quality), "-f", "webp"]
    args = ["-map", f"[{label}]", *codec, "-loop", "0", str(main)]
    return WorkFiles(main=main), args


__all__ = [
    "Command",
    "VideoGraph",
    "WorkFiles",
    "build_command",
    "muxer_args",
    "rendition_video_graph",
]
