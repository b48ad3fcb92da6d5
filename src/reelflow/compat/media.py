"""A probe in the compatible API's ``MediaMetaData`` shape (a task's ``MetaData``, and the
media fields of a transcode's output item).

Widths and heights are display sizes (after rotation), in the stream lists too; a stream
without its own duration reports the container's; ``None`` where the source did not say.
"""

from __future__ import annotations

from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo


def media_metadata(info: MediaInfo) -> dict[str, object]:
    """The compatible API's ``MediaMetaData`` of ``info``."""
    video, audio = info.primary_video, info.primary_audio
    return {
        "Size": info.size,
        "Container": info.container,
        "Bitrate": info.bitrate,
        "Height": video.display_height if video else None,
        "Width": video.display_width if video else None,
        "Duration": info.duration,
        "Rotate": video.rotation if video else None,
        "VideoStreamSet": [_video(v) for v in info.video],
        "AudioStreamSet": [_audio(a) for a in info.audio],
        "VideoDuration": _or(video.duration, info.duration) if video else None,
        "AudioDuration": _or(audio.duration, info.duration) if audio else None,
    }


def _video(v: VideoStreamInfo) -> dict[str, object]:
    return {
        "Bitrate": v.bitrate,
        "Height": v.display_height,
        "Width": v.display_width,
        "Codec": v.codec,
        "Fps": round(v.fps) if v.fps is not None else None,
        "ColorPrimaries": v.color_primaries,
        "ColorSpace": v.color_space,
        "ColorTransfer": v.color_transfer,
        "HdrType": v.hdr_type,
        "Codecs": v.codec_tag,
        "FpsNumerator": v.fps_num,
        "FpsDenominator": v.fps_den,
    }


def _audio(a: AudioStreamInfo) -> dict[str, object]:
    return {
        "Bitrate": a.bitrate,
        "SamplingRate": a.sample_rate,
        "Codec": a.codec,
        "Channel": a.channels,
        "Codecs": a.codec_tag,
        "Loudness": None,  # measuring it means decoding all audio: not a probe's job
    }


def _or(value: float | None, fallback: float | None) -> float | None:
    return value if value is not None else fallback
