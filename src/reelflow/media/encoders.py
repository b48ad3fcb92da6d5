"""Codec, container and encoder-option tables: spec names -> FFmpeg names."""

from __future__ import annotations

import math

from reelflow.specs.templates import AudioTemplate, VideoTemplate

VIDEO_ENCODERS = {"h264": "libx264", "h265": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1"}
AUDIO_ENCODERS = {
    "aac": "aac",  # libfdk_aac is absent from the shipped FFmpeg: the built-in AAC encoder
    "mp3": "libmp3lame",
    "opus": "libopus",
    "vorbis": "libvorbis",
    "flac": "flac",
    "pcm16": "pcm_s16le",
}
MUXERS = {
    "mp4": "mp4",
    "mov": "mov",
    "mkv": "matroska",
    "webm": "webm",
    "flv": "flv",
    "ts": "mpegts",
    "hls": "hls",
    "mp3": "mp3",
    "m4a": "ipod",
    "ogg": "ogg",
    "flac": "flac",
    "wav": "wav",
}
FASTSTART = frozenset({"mp4", "mov", "m4a"})
OPUS_RATES = frozenset({8000, 12000, 16000, 24000, 48000})
LOSSLESS_AUDIO = frozenset({"flac", "pcm16"})

# x264/x265 preset names -> the nearest speed setting of the other encoders.
_VPX_CPU_USED = {
    "ultrafast": 8,
    "superfast": 8,
    "veryfast": 7,
    "faster": 6,
    "fast": 5,
    "medium": 4,
    "slow": 3,
    "slower": 2,
    "veryslow": 1,
    "placebo": 0,
}
_SVT_PRESET = {
    "ultrafast": 12,
    "superfast": 11,
    "veryfast": 10,
    "faster": 9,
    "fast": 8,
    "medium": 7,
    "slow": 6,
    "slower": 5,
    "veryslow": 4,
    "placebo": 3,
}
# A VBR rendition's peak rate (``-maxrate``), times its target; its buffer is twice the target.
VBR_PEAK = 1.5
_DEFAULT_CRF = {"h264": 23, "h265": 28, "vp9": 33, "av1": 35}


def video_args(
    video: VideoTemplate,
    *,
    fps: float,
    preset: str,
    container: str,
    capped_crf: float | None = None,
    rate_factor: float = 1.0,
) -> list[str]:
    """Encoder options for one video output (without -map).

    ``preset`` is the global x264-style preset, used when the template names none: this is
    the only place that fallback is applied. ``capped_crf`` (a per-title transcode, issue
    18): that CRF with a VBV cap of twice ``video.bitrate`` over four seconds of it, as a
    per-title ladder's rungs (``reelflow.media.ladder``), whatever the template's mode.
    ``rate_factor``: a chunk's share of a rendition at a bitrate (VBR, ABR): its target is
    the template's times this, its peak and buffer the template's (``rate_headroom``).
    """
    codec = video.codec.value
    args = ["-c:v", VIDEO_ENCODERS[codec]]
    chosen = video.preset or preset
    x265_params = ["log-level=error"]
    if capped_crf is not None and video.bitrate:
        kbps = video.bitrate
        rate = ["-crf", f"{capped_crf:g}", "-maxrate", f"{kbps * 2}k", "-bufsize", f"{kbps * 4}k"]
    else:
        rate = _rate_args(video, codec, x265_params, rate_factor)
    if codec == "h264":
        profile = video.video_profile if video.video_profile not in ("", "default") else "high"
        args += ["-preset", chosen, "-profile:v", profile]
        if video.video_level:
            args += ["-level:v", video.video_level]
        if video.bframes is not None:
            args += ["-bf", str(video.bframes)]
    elif codec == "h265":
        if video.video_level:
            x265_params.append(f"level-idc={video.video_level}")
        if video.bframes is not None:
            x265_params.append(f"bframes={video.bframes}")
        args += ["-preset", chosen, "-x265-params", ":".join(x265_params)]
        if container in FASTSTART:
            args += ["-tag:v", "hvc1"]  # the tag Apple players require for HEVC in MP4
    elif codec == "vp9":
        args += ["-deadline", "good", "-cpu-used", str(_VPX_CPU_USED[chosen]), "-row-mt", "1"]
    else:
        args += ["-preset", str(_SVT_PRESET[chosen])]
    args += rate
    if video.gop:
        frames = video.gop if video.gop_unit == "frame" else round(video.gop * (fps or 25.0))
        args += ["-g", str(max(1, frames))]
    if container == "hls":
        # A keyframe at each segment boundary, so segments last the asked duration.
        seconds = hls_seconds(video)
        args += ["-force_key_frames", f"expr:gte(t,n_forced*{seconds})"]
    return args


def at_bitrate(video: VideoTemplate) -> bool:
    """Whether the rendition's rate control aims at a bitrate (VBR, ABR, CBR), not a CRF."""
    kbps = video.bitrate
    mode = video.mode or ("VBR" if kbps else "VCRF")
    return bool(kbps) and mode != "VCRF"


def two_pass(video: VideoTemplate) -> bool:
    """Whether an encode of part of the timeline (a chunk) takes two passes: H.264 at a
    bitrate (VBV), whose rate control a single pass restarts at every chunk with a visible
    dip (docs/chunking.md); CRF and the other encoders take one."""
    return video.codec.value == "h264" and at_bitrate(video)


def rate_headroom(video: VideoTemplate) -> float | None:
    """How far a part of the timeline (a chunk) may raise its target above the template's
    bitrate (``video_args``'s ``rate_factor``): up to the peak at VBR (1.5x), without bound
    at ABR; ``None`` for a rendition whose rate is not a target to share out (CRF, CBR: the
    target is also the floor and the ceiling)."""
    kbps = video.bitrate
    mode = video.mode or ("VBR" if kbps else "VCRF")
    if not kbps or mode in ("VCRF", "CBR"):
        return None
    return VBR_PEAK if mode == "VBR" else math.inf


def hls_seconds(video: VideoTemplate | None) -> int:
    """The HLS segment duration: the template's ``HlsTime``, else 10 s."""
    return video.hls_time if video is not None and video.hls_time else 10


def _rate_args(
    video: VideoTemplate, codec: str, x265_params: list[str], factor: float = 1.0
) -> list[str]:
    """Rate control by ``mode``: VBR (target, 1.5x peak), ABR (target only), CBR (the
    target as floor and ceiling, padded with filler where the encoder can), VCRF (CRF).
    ``factor`` scales a VBR or ABR target (within VBR's peak)."""
    kbps = video.bitrate
    mode = video.mode or ("VBR" if kbps else "VCRF")
    if mode == "VCRF" or not kbps:
        crf = video.vcrf if video.vcrf is not None else _DEFAULT_CRF[codec]
        args = ["-crf", str(crf)]
        if codec == "vp9":
            args += ["-b:v", "0"]  # constant quality mode
        return args
    peak = int(kbps * VBR_PEAK)
    target = kbps if mode == "CBR" else max(1, round(kbps * factor))
    args = ["-b:v", f"{min(target, peak) if mode == 'VBR' else target}k"]
    if mode == "VBR":
        args += ["-maxrate", f"{peak}k", "-bufsize", f"{kbps * 2}k"]
    elif mode == "CBR":
        args += ["-minrate", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k"]
        if codec == "h264":
            args += ["-x264-params", "nal-hrd=cbr:force-cfr=1"]
        elif codec == "h265":
            x265_params.append("strict-cbr=1")
    return args


def input_thread_args(threads: int) -> list[str]:
    """Options before the first ``-i`` capping one FFmpeg process at ``threads`` threads
    (``REELFLOW_FFMPEG_THREADS``; 0 = FFmpeg's own choice): the filter graphs' threads
    (global options) and the source decoder's (an input option, so it precedes the
    source's ``-i``). Each output adds :func:`output_thread_args` for its encoders."""
    if threads <= 0:
        return []
    n = str(threads)
    return ["-filter_threads", n, "-filter_complex_threads", n, "-threads", n]


def output_thread_args(threads: int) -> list[str]:
    """The output option capping the threads of every encoder of one output file (x264's
    frame threads and lookahead among them); empty for 0 (FFmpeg's default)."""
    return ["-threads", str(threads)] if threads > 0 else []


def audio_args(audio: AudioTemplate) -> list[str]:
    """Encoder options for one audio output (without -map)."""
    codec = audio.codec.value
    args = ["-c:a", AUDIO_ENCODERS[codec]]
    if audio.bitrate and codec not in LOSSLESS_AUDIO:
        args += ["-b:a", f"{audio.bitrate}k"]
    rate = audio.sample_rate
    if codec == "opus" and rate and rate not in OPUS_RATES:
        rate = 48000  # Opus encodes only these rates
    if rate:
        args += ["-ar", str(rate)]
    if audio.audio_channel:
        args += ["-ac", str(audio.audio_channel)]
    return args
