"""Rung selection: a ladder template + a probed source -> the ladder this source gets.

Rules (pure; no I/O):

- **Size.** Each rung's size follows the transcode sizing rules (``geometry.target_size``).
  A rung larger than the source is never upscaled unless its video template opts in with
  ``allow_upscale`` and the template does not set ``disable_higher_video_resolution``.
  Otherwise it is capped to the source's size, and a capped rung whose size another rung
  already has is dropped: a 540p source against the 360/540/720/1080 ladder gets 360 and 540.
- **Bitrate.** With ``disable_higher_video_bitrate`` a rung's bitrate is capped at the
  source's video bitrate (when the probe knows it). A rung left with the size and bitrate of
  a rung already kept is dropped.
- **Frame rate.** One constant rate for every rung (segment boundaries must line up): the
  first video rung's ``fps``, never above a constant-rate source's; 0 = the source's rate.
- **Keyframes.** An IDR at every segment boundary; ``keyint`` is the segment's frame count,
  or the template's GOP when that is shorter.
- **Audio.** One audio rendition per distinct audio setting (codec, bitrate, rate, channels),
  shared by the rungs that use it. A source without audio gets video-only rungs; an
  audio-only ladder on such a source is refused.

Rungs come out smallest first (by pixels, then bitrate); ``stream_info`` keeps each one's
position in the template.
"""

from __future__ import annotations

from reelflow.errors import UnsupportedMedia
from reelflow.planner.geometry import Size, target_size
from reelflow.specs.ladders import (
    AudioRendition,
    LadderTemplate,
    ResolvedLadder,
    StreamInfo,
    VideoRendition,
)
from reelflow.specs.media import MediaInfo
from reelflow.specs.templates import AudioTemplate

DEFAULT_FPS = 25.0


def source_video_kbps(info: MediaInfo) -> int | None:
    """The source's video bitrate in kbps: the stream's, else the container's minus its
    audio; None when the probe cannot tell."""
    video = info.primary_video
    if video is None:
        return None
    if video.bitrate:
        return video.bitrate // 1000
    if info.bitrate:
        audio = sum(a.bitrate or 0 for a in info.audio)
        return max(0, info.bitrate - audio) // 1000 or None
    return None


def _fps(template: LadderTemplate, info: MediaInfo) -> float:
    video = info.primary_video
    source = (video.fps or 0.0) if video else 0.0
    first = next(s.video for s in template.stream_infos if s.video is not None)
    wanted = float(first.fps) if first.fps else 0.0
    vfr = bool(video and video.is_vfr)
    if wanted and source and source < wanted and not vfr:
        wanted = source  # never invent frames a constant-rate source does not have
    return round(wanted or source or DEFAULT_FPS, 3)


def _keyint(template: LadderTemplate, fps: float) -> int:
    segment = max(1, round(template.segment_seconds * fps))
    first = next(s.video for s in template.stream_infos if s.video is not None)
    if first.gop:
        gop = first.gop if first.gop_unit == "frame" else round(first.gop * fps)
        return max(1, min(segment, gop))
    return segment


def _audio(audio: AudioTemplate, info: MediaInfo) -> tuple[str, int, int, int]:
    source = info.primary_audio
    rate = audio.sample_rate or (source.sample_rate if source else 0) or 48000
    channels = audio.audio_channel or (source.channels if source else 0) or 2
    return audio.codec.value, audio.bitrate or 128, rate, min(channels, 6)


def select_rungs(template: LadderTemplate, info: MediaInfo, definition: int = 0) -> ResolvedLadder:
    """The ladder ``template`` makes of a source described by ``info``.

    Raises:
        UnsupportedMedia: an audio-only ladder on a source without audio, or a video ladder
            on a source without video.
    """
    groups: dict[tuple[str, int, int, int], AudioRendition] = {}

    def group_of(stream: StreamInfo) -> str:
        if not stream.has_audio or not info.has_audio:
            return ""
        assert stream.audio is not None
        key = _audio(stream.audio, info)
        if key not in groups:
            _codec, kbps, rate, channels = key
            groups[key] = AudioRendition(
                group=f"audio{len(groups)}",
                codec=stream.audio.codec,
                bitrate=kbps,
                sample_rate=rate,
                channels=channels,
            )
        return groups[key].group

    common = {
        "definition": definition,
        "format": template.format,
        "segment_type": template.segments,
        "segment_seconds": template.segment_seconds,
    }
    if template.pure_audio:
        if not info.has_audio:
            raise UnsupportedMedia(
                "the source has no audio stream, so an audio-only ladder cannot be made",
                code="UnsupportedOperation.NoAudioStream",
            )
        for stream in template.stream_infos:
            group_of(stream)
        return ResolvedLadder(**common, audio=list(groups.values()))

    video = info.primary_video
    if video is None:
        raise UnsupportedMedia(
            "the source has no video stream, so a video ladder cannot be made; "
            "use an audio-only (pure_audio) template",
            code="UnsupportedOperation.NoVideoStream",
        )
    source = Size(video.display_width, video.display_height)
    source_kbps = source_video_kbps(info)
    fps = _fps(template, info)
    candidates: list[tuple[int, int, int, int, StreamInfo]] = []  # pixels, kbps, index, capped
    sizes: dict[int, Size] = {}
    for index, stream in enumerate(template.stream_infos):
        assert stream.video is not None
        spec = stream.video
        adaptive = spec.resolution_adaptive == "open"
        wanted = target_size(source, spec.width, spec.height, adaptive=adaptive, allow_upscale=True)
        upscale = spec.allow_upscale and not template.disable_higher_video_resolution
        size = target_size(
            source, spec.width, spec.height, adaptive=adaptive, allow_upscale=upscale
        )
        capped = int(size != wanted)
        kbps = spec.bitrate
        if template.disable_higher_video_bitrate and source_kbps and kbps > source_kbps:
            kbps = source_kbps
        sizes[index] = size
        candidates.append((size.width * size.height, kbps, index, capped, stream))

    rungs: list[VideoRendition] = []
    dropped: list[int] = []
    seen_sizes: set[tuple[int, int]] = set()
    seen: set[tuple[int, int, int]] = set()
    # Uncapped rungs first, so a capped rung yields to a rung that asked for that size.
    for _pixels, kbps, index, capped, stream in sorted(
        candidates, key=lambda c: (c[3], c[0], c[1])
    ):
        size = sizes[index]
        box = (size.width, size.height)
        if (capped and box in seen_sizes) or (*box, kbps) in seen:
            dropped.append(index)
            continue
        seen_sizes.add(box)
        seen.add((*box, kbps))
        assert stream.video is not None
        rungs.append(
            VideoRendition(
                stream_info=index,
                codec=stream.video.codec,
                width=size.width,
                height=size.height,
                bitrate=kbps,
                crf=stream.video.vcrf,
                preset=stream.video.preset,
                audio_group=group_of(stream),
                fill_type=stream.video.fill_type,
            )
        )
    rungs.sort(key=lambda r: (r.width * r.height, r.bitrate))
    used = {r.audio_group for r in rungs}
    return ResolvedLadder(
        **common,
        fps=fps,
        keyint=_keyint(template, fps),
        video=rungs,
        audio=[a for a in groups.values() if a.group in used],
        dropped=sorted(dropped),
    )
