"""The fused FFmpeg command builder and the encoder tables: pure, compared as lists."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from reelflow.media.command import Command, WorkFiles, build_command
from reelflow.media.encoders import audio_args, video_args
from reelflow.media.ladder import build_ladder_command
from reelflow.planner.ladder import select_rungs
from reelflow.presets.catalog import get_preset
from reelflow.specs.ladders import LadderTemplate, PackageNames
from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo
from reelflow.specs.subtasks import ResolvedWatermark
from reelflow.specs.templates import (
    AnimatedGraphicsTemplate,
    AudioTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
    SnapshotTemplate,
    TemplateKind,
    TranscodeTemplate,
    VideoTemplate,
    WatermarkTemplate,
)
from reelflow.specs.units import AudioCodec, VideoCodec
from reelflow.specs.works import (
    AnimatedWork,
    ImageSpriteWork,
    LadderWork,
    SampleSnapshotWork,
    SnapshotWork,
    TranscodeWork,
    Work,
)
from tests.clips import TINY_PNG

WORK_DIR = Path("/w")
SOURCE = "/media/in.mp4"
PNG = TINY_PNG


def media_info(*, audio: bool = True, video: bool = True, interlaced: bool = False) -> MediaInfo:
    videos = ()
    if video:
        videos = (
            VideoStreamInfo(
                index=0, codec="h264", width=320, height=240, rotation=0, fps=25.0, fps_num=25,
                fps_den=1, pix_fmt="yuv420p", bitrate=500_000, duration=4.0,
                interlaced=interlaced, frame_count=100,
            ),
        )  # fmt: skip
    audios = ()
    if audio:
        audios = (
            AudioStreamInfo(
                index=len(videos), codec="aac", sample_rate=48000, channels=2,
                bitrate=128_000, duration=4.0,
            ),
        )  # fmt: skip
    return MediaInfo(
        container="mov,mp4,m4a,3gp,3g2,mj2", duration=4.0, size=300_000, bitrate=628_000,
        video=videos, audio=audios,
    )  # fmt: skip


def transcode_preset(definition: int) -> TranscodeTemplate:
    template = get_preset(TemplateKind.TRANSCODE, definition)
    assert isinstance(template, TranscodeTemplate)
    return template


def rendition(index: int, definition: int = 100010, **fields: Any) -> TranscodeWork:
    template = fields.pop("template", None) or transcode_preset(definition)
    values: dict[str, Any] = {"width": 320, "height": 240, "fps": 25.0} | fields
    if not template.needs_video:
        values |= {"width": 0, "height": 0, "fps": 0.0}
    return TranscodeWork(
        index=index,
        definition=definition,
        bucket="out",
        template=template,
        key=f"r{index}.{template.format}",
        **values,
    )


def snapshot(index: int, times: list[float], **fields: Any) -> SnapshotWork:
    return SnapshotWork(
        index=index,
        definition=10,
        bucket="out",
        template=fields.pop("template", SnapshotTemplate(format="jpg", fill_type="stretch")),
        width=fields.pop("width", 320),
        height=fields.pop("height", 240),
        times=times,
        keys=[f"s{index}_{i}.jpg" for i in range(len(times))],
        **fields,
    )


def animated(index: int, fmt: str = "gif") -> AnimatedWork:
    return AnimatedWork(
        index=index,
        definition=20000,
        bucket="out",
        template=AnimatedGraphicsTemplate(fps=5, quality=60, format=fmt),  # type: ignore[arg-type]
        width=160,
        height=120,
        start=0.5,
        end=2.5,
        key=f"a{index}.{fmt}",
    )


def command(works: list[Work], info: MediaInfo | None = None, **kwargs: Any) -> Command:
    return build_command(SOURCE, info or media_info(), works, WORK_DIR, **kwargs)


def chains(cmd: Command) -> list[str]:
    return cmd.args[cmd.args.index("-filter_complex") + 1].split(";")


class TestFixedCase:
    def test_one_rendition_and_one_snapshot(self) -> None:
        cmd = command([rendition(0), snapshot(1, [1.0, 2.5])], video_preset="veryfast")
        assert cmd.args == [
            "-y",
            "-i", SOURCE,
            "-filter_complex",
            "[0:v:0]split=2[b0][b1];"
            "[b0]fps=25,scale=320:240:flags=bicubic,setsar=1,format=yuv420p[v1];"
            "[b1]select='if(lt(ld(0),2)*gte(t,if(eq(ld(0),0),1,2.5)),st(0,ld(0)+1),0)',"
            "scale=320:240:flags=bicubic,setsar=1[i2]",
            "-map", "[v1]",
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
            "-b:v", "400k", "-maxrate", "600k", "-bufsize", "800k",
            "-map", "0:a:0",
            "-c:a", "aac", "-b:a", "64k", "-ar", "44100", "-ac", "2",
            "-map_metadata", "-1", "-sn", "-dn",
            "-f", "mp4", "-movflags", "+faststart", "/w/w0.mp4",
            "-map", "[i2]", "-fps_mode", "passthrough", "-frames:v", "2",
            "-c:v", "mjpeg", "-q:v", "2",
            "-f", "image2", "-start_number", "0", "/w/w1_%d.jpg",
        ]  # fmt: skip
        assert cmd.outputs == {
            0: WorkFiles(main=Path("/w/w0.mp4")),
            1: WorkFiles(pattern=Path("/w/w1_%d.jpg")),
        }
        assert cmd.files == {}
        assert cmd.duration == 4.0

    def test_template_preset_wins_over_the_global_one(self) -> None:
        base = transcode_preset(100010)
        assert base.video_template is not None
        video = base.video_template.model_copy(update={"preset": "slow"})
        work = rendition(0, template=base.model_copy(update={"video_template": video}))
        args = command([work], video_preset="ultrafast").args
        assert args[args.index("-preset") + 1] == "slow"


class TestSplit:
    def test_split_feeds_every_visual_work_once(self) -> None:
        works: list[Work] = [
            rendition(0, 100010),
            rendition(1, 100020),
            rendition(2, 1010),  # audio only: not a branch
            snapshot(3, [1.0]),
            animated(4),
        ]
        cmd = command(works)
        assert chains(cmd)[0] == "[0:v:0]split=4[b0][b1][b3][b4]"
        # One output file per work, in order (what a loopback decoder's -dec names).
        assert cmd.output_files == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4}
        outputs = [a for a in cmd.args if a.startswith("/w/w")]
        assert [Path(o).name.split("_")[0].split(".")[0] for o in outputs] == [
            "w0", "w1", "w2", "w3", "w4"
        ]  # fmt: skip

    def test_audio_only_works_need_no_filter_graph(self) -> None:
        cmd = command([rendition(0, 1010), rendition(1, 1110)], media_info(video=False))
        assert "-filter_complex" not in cmd.args
        assert cmd.args == [
            "-y", "-i", SOURCE,
            "-vn", "-map", "0:a:0", "-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100",
            "-ac", "2", "-map_metadata", "-1", "-sn", "-dn", "-f", "mp3", "/w/w0.mp3",
            "-vn", "-map", "0:a:0", "-c:a", "aac", "-b:a", "48k", "-ar", "44100",
            "-ac", "2", "-map_metadata", "-1", "-sn", "-dn", "-f", "ipod",
            "-movflags", "+faststart", "/w/w1.m4a",
        ]  # fmt: skip


class TestDeinterlace:
    def test_yadif_for_an_interlaced_source(self) -> None:
        works: list[Work] = [rendition(0, deinterlace=True), snapshot(1, [1.0], deinterlace=True)]
        cmd = command(works, media_info(interlaced=True))
        assert chains(cmd)[0] == "[0:v:0]yadif=deint=interlaced,split=2[b0][b1]"

    def test_no_yadif_for_a_progressive_source(self) -> None:
        cmd = command([rendition(0), snapshot(1, [1.0])])
        assert not any("yadif" in chain for chain in chains(cmd))


class TestAudio:
    def test_remove_audio_gives_an(self) -> None:
        template = transcode_preset(100010).model_copy(update={"remove_audio": True})
        args = command([rendition(0, template=template)]).args
        assert "-an" in args
        assert "0:a:0" not in args
        assert "-c:a" not in args

    def test_source_without_audio_gives_an(self) -> None:
        args = command([rendition(0)], media_info(audio=False)).args
        assert "-an" in args
        assert "-c:a" not in args
        assert "-map" in args and "[v1]" in args

    def test_trimmed_rendition_trims_video_and_audio(self) -> None:
        cmd = command([rendition(0, start=1.0, end=3.5), rendition(1)])
        graph = chains(cmd)
        assert graph[1] == (
            "[b0]trim=start=1:end=3.5,setpts=PTS-STARTPTS,fps=25,"
            "scale=320:240:flags=bicubic,setsar=1,format=yuv420p[v1]"
        )
        assert "[0:a:0]atrim=start=1:end=3.5,asetpts=PTS-STARTPTS[a2]" in graph
        first = cmd.args[: cmd.args.index("/w/w0.mp4")]
        assert first[first.index("-map", first.index("[v1]")) + 1] == "[a2]"
        # The untrimmed rendition takes the source audio as is.
        second = cmd.args[cmd.args.index("/w/w0.mp4") : cmd.args.index("/w/w1.mp4")]
        assert "0:a:0" in second
        assert sum("atrim" in chain for chain in graph) == 1

    def test_start_only_trim_has_no_end(self) -> None:
        graph = chains(command([rendition(0, start=2.0)]))
        assert graph[1].startswith("[b0]trim=start=2,setpts=PTS-STARTPTS,fps=25,")
        assert "[0:a:0]atrim=start=2,asetpts=PTS-STARTPTS[a2]" in graph


class TestContainers:
    def test_hls(self) -> None:
        work = rendition(0, 100210)
        cmd = command([work])
        tail = cmd.args[cmd.args.index("-map_metadata") :]
        assert tail == [
            "-map_metadata", "-1", "-sn", "-dn",
            "-f", "hls", "-hls_time", "10", "-hls_playlist_type", "vod",
            "-hls_segment_filename", "/w/w0_%d.ts", "/w/w0.m3u8",
        ]  # fmt: skip
        assert cmd.outputs[0] == WorkFiles(main=Path("/w/w0.m3u8"), segments=Path("/w/w0_%d.ts"))


class TestImages:
    def test_gif_palette_chain(self) -> None:
        cmd = command([animated(0)])
        assert chains(cmd) == [
            "[0:v:0]split=1[b0]",
            "[b0]trim=start=0.5:end=2.5,setpts=PTS-STARTPTS,fps=5,"
            "scale=160:120:flags=lanczos,setsar=1,split[ga2][gb3]",
            "[ga2]palettegen=stats_mode=diff[gp4]",
            "[gb3][gp4]paletteuse=dither=bayer:bayer_scale=4[g1]",
        ]
        assert cmd.args[cmd.args.index("-filter_complex") + 2 :] == [
            "-map", "[g1]", "-c:v", "gif", "-f", "gif", "-loop", "0", "/w/w0.gif",
        ]  # fmt: skip

    def test_animated_webp(self) -> None:
        cmd = command([animated(0, "webp")])
        assert chains(cmd)[1] == (
            "[b0]trim=start=0.5:end=2.5,setpts=PTS-STARTPTS,fps=5,"
            "scale=160:120:flags=lanczos,setsar=1[g1]"
        )
        assert cmd.args[cmd.args.index("-filter_complex") + 2 :] == [
            "-map", "[g1]", "-c:v", "libwebp_anim", "-quality", "60", "-f", "webp",
            "-loop", "0", "/w/w0.webp",
        ]  # fmt: skip

    def test_sprite_sheet_tiles(self) -> None:
        template = ImageSpriteTemplate(
            width=128, height=128, sample_type="Time", sample_interval=2, row_count=2,
            column_count=3, fill_type="stretch", format="png",
        )  # fmt: skip
        work = ImageSpriteWork(
            index=0, definition=5, bucket="out", template=template, width=128, height=96,
            interval=2.0, cells=2, keys=["k_0.png"], vtt_key="k.vtt", duration=4.0,
        )  # fmt: skip
        cmd = command([work])
        assert chains(cmd)[1] == (
            "[b0]select='isnan(prev_selected_t)+gt(floor((t+0.0005)/2),"
            "floor((prev_selected_t+0.0005)/2))',scale=128:96:flags=bicubic,setsar=1,"
            "tile=3x2[i1]"
        )
        assert cmd.args[cmd.args.index("[i1]") + 1 :] == [
            "-fps_mode", "passthrough", "-c:v", "png", "-f", "image2", "-start_number", "0",
            "/w/w0_%d.png",
        ]  # fmt: skip

    def test_sampled_webp_with_letterbox(self) -> None:
        template = SampleSnapshotTemplate(
            width=256, height=256, sample_type="Percent", sample_interval=25, format="webp",
            fill_type="white",
        )  # fmt: skip
        work = SampleSnapshotWork(
            index=0, definition=5, bucket="out", template=template, width=256, height=256,
            interval=1.0, keys=["k_0.webp"],
        )  # fmt: skip
        cmd = command([work])
        assert chains(cmd)[1] == (
            "[b0]select='isnan(prev_selected_t)+gt(floor((t+0.0005)/1),"
            "floor((prev_selected_t+0.0005)/1))',"
            "scale=256:256:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            "pad=256:256:(ow-iw)/2:(oh-ih)/2:color=white,setsar=1[i1]"
        )
        assert "-frames:v" not in cmd.args
        assert cmd.args[-9:-5] == ["-c:v", "libwebp", "-quality", "85"]


def image_mark(origin: str = "TopLeft", **fields: Any) -> ResolvedWatermark:
    image = {"image_content": base64.b64encode(PNG).decode(), "width": "10%"}
    template = WatermarkTemplate.model_validate(
        {
            "type": "image",
            "coordinate_origin": origin,
            "x_pos": "10px",
            "y_pos": "5%",
            "image_template": image | fields.pop("image", {}),
        }
    )
    return ResolvedWatermark(definition=501, template=template, **fields)


def text_mark(origin: str = "TopLeft", **fields: Any) -> ResolvedWatermark:
    template = WatermarkTemplate.model_validate(
        {
            "type": "text",
            "coordinate_origin": origin,
            "x_pos": "10px",
            "y_pos": "5%",
            "text_template": {"font_size": "24px", "font_color": "0xFF8800", "font_alpha": 0.5},
        }
    )
    return ResolvedWatermark(definition=502, template=template, text_content="hello", **fields)


class TestWatermarks:
    def test_image_watermark_is_an_extra_input_and_an_overlay(self) -> None:
        cmd = command([rendition(0, watermarks=[image_mark()])])
        assert cmd.args[:5] == ["-y", "-i", SOURCE, "-i", "/w/wm0_0.img"]
        assert cmd.files == {Path("/w/wm0_0.img"): PNG}
        graph = chains(cmd)
        assert graph[2] == "[1:v]scale=32:-1[logo3]"  # 10% of 320
        assert graph[3] == "[v1][logo3]overlay=x=10:y=H*0.05[wm2]"
        assert cmd.args[cmd.args.index("-map") + 1] == "[wm2]"

    def test_image_height_in_percent_is_of_the_video(self) -> None:
        mark = image_mark(image={"width": "20%", "height": "10%"})
        graph = chains(command([rendition(0, watermarks=[mark])]))
        assert graph[2] == "[1:v]scale=64:24[logo3]"  # 20% of 320 x 10% of 240

    def test_image_size_in_pixels(self) -> None:
        mark = image_mark(image={"width": "48px", "height": "16px"})
        graph = chains(command([rendition(0, watermarks=[mark])]))
        assert graph[2] == "[1:v]scale=48:16[logo3]"

    def test_text_watermark_uses_drawtext_with_a_text_file(self) -> None:
        cmd = command([rendition(0, watermarks=[text_mark()])], font_file="/fonts/a.ttf")
        assert cmd.files == {Path("/w/wm0_0.txt"): b"hello"}
        assert "-i" not in cmd.args[3:]
        assert chains(cmd)[2] == (
            "[v1]drawtext=fontfile=/fonts/a.ttf:textfile=/w/wm0_0.txt:fontsize=24:"
            "fontcolor=0xFF8800@0.5:x=10:y=H*0.05[wm2]"
        )

    def test_text_without_font_file_lets_fontconfig_choose(self) -> None:
        graph = chains(command([rendition(0, watermarks=[text_mark()])]))
        assert graph[2].startswith("[v1]drawtext=textfile=/w/wm0_0.txt:")

    @pytest.mark.parametrize(
        ("origin", "x", "y"),
        [
            ("TopLeft", "10", "H*0.05"),
            ("TopRight", "(W-w-10)", "H*0.05"),
            ("BottomLeft", "10", "(H-h-H*0.05)"),
            ("BottomRight", "(W-w-10)", "(H-h-H*0.05)"),
        ],
    )
    def test_image_positions(self, origin: str, x: str, y: str) -> None:
        graph = chains(command([rendition(0, watermarks=[image_mark(origin)])]))
        assert graph[3] == f"[v1][logo3]overlay=x={x}:y={y}[wm2]"

    @pytest.mark.parametrize(
        ("origin", "x", "y"),
        [
            ("TopLeft", "10", "H*0.05"),
            ("TopRight", "(W-tw-10)", "H*0.05"),
            ("BottomLeft", "10", "(H-th-H*0.05)"),
            ("BottomRight", "(W-tw-10)", "(H-th-H*0.05)"),
        ],
    )
    def test_text_positions(self, origin: str, x: str, y: str) -> None:
        graph = chains(command([rendition(0, watermarks=[text_mark(origin)])]))
        assert graph[2].endswith(f":x={x}:y={y}[wm2]")

    def test_time_range_enables_the_overlay(self) -> None:
        mark = image_mark(start_time_offset=1.0, end_time_offset=2.5)
        graph = chains(command([rendition(0, watermarks=[mark])]))
        assert graph[3] == "[v1][logo3]overlay=x=10:y=H*0.05:enable='between(t,1,2.5)'[wm2]"

    def test_open_ended_time_range(self) -> None:
        mark = text_mark(start_time_offset=2.0)
        graph = chains(command([rendition(0, watermarks=[mark])]))
        assert graph[2].endswith(":enable='between(t,2,1e9)'[wm2]")

    def test_two_watermarks_chain_and_each_image_gets_its_input(self) -> None:
        cmd = command([rendition(0, watermarks=[image_mark(), image_mark("BottomRight")])])
        assert cmd.args[:7] == ["-y", "-i", SOURCE, "-i", "/w/wm0_0.img", "-i", "/w/wm0_1.img"]
        graph = chains(cmd)
        assert graph[3].startswith("[v1][logo3]overlay=")
        assert graph[4] == "[2:v]scale=32:-1[logo5]"
        assert graph[5].startswith("[wm2][logo5]overlay=")
        assert cmd.args[cmd.args.index("-map") + 1] == "[wm4]"

    def test_snapshots_carry_watermarks(self) -> None:
        graph = chains(command([snapshot(0, [1.0], watermarks=[text_mark()])]))
        assert graph[2].startswith("[i1]drawtext=textfile=/w/wm0_0.txt:")
        assert graph[2].endswith("[wm2]")


class TestEncoders:
    def test_h265_in_mp4_gets_the_hvc1_tag(self) -> None:
        video = VideoTemplate(codec=VideoCodec.H265, bitrate=1000)
        assert video_args(video, fps=25, preset="fast", container="mp4") == [
            "-c:v", "libx265", "-preset", "fast", "-x265-params", "log-level=error",
            "-tag:v", "hvc1", "-b:v", "1000k", "-maxrate", "1500k", "-bufsize", "2000k",
        ]  # fmt: skip

    def test_h265_in_ts_has_no_tag(self) -> None:
        video = VideoTemplate(codec=VideoCodec.H265)
        args = video_args(video, fps=25, preset="fast", container="ts")
        assert "-tag:v" not in args
        assert args[-2:] == ["-crf", "28"]

    def test_vp9_without_bitrate_is_constant_quality(self) -> None:
        video = VideoTemplate(codec=VideoCodec.VP9)
        assert video_args(video, fps=25, preset="ultrafast", container="webm") == [
            "-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "8", "-row-mt", "1",
            "-crf", "33", "-b:v", "0",
        ]  # fmt: skip

    def test_av1_preset_and_explicit_crf(self) -> None:
        video = VideoTemplate(codec=VideoCodec.AV1, vcrf=40)
        assert video_args(video, fps=25, preset="medium", container="mp4") == [
            "-c:v", "libsvtav1", "-preset", "7", "-crf", "40",
        ]  # fmt: skip

    @pytest.mark.parametrize(("unit", "gop", "frames"), [("frame", 50, "50"), ("second", 2, "60")])
    def test_gop(self, unit: str, gop: int, frames: str) -> None:
        video = VideoTemplate.model_validate({"codec": "h264", "gop": gop, "gop_unit": unit})
        args = video_args(video, fps=30, preset="fast", container="mp4")
        assert args[args.index("-g") + 1] == frames

    def test_opus_forces_48000(self) -> None:
        audio = AudioTemplate(codec=AudioCodec.OPUS, bitrate=96, sample_rate=44100)
        assert audio_args(audio) == ["-c:a", "libopus", "-b:a", "96k", "-ar", "48000", "-ac", "2"]

    def test_opus_keeps_a_rate_it_supports(self) -> None:
        audio = AudioTemplate(codec=AudioCodec.OPUS, sample_rate=24000, audio_channel=1)
        assert audio_args(audio) == ["-c:a", "libopus", "-ar", "24000", "-ac", "1"]

    def test_fdk_aac_maps_to_the_builtin_encoder(self) -> None:
        audio = AudioTemplate.model_validate({"codec": "libfdk_aac", "bitrate": 64})
        assert audio_args(audio)[:2] == ["-c:a", "aac"]

    def test_lossless_audio_has_no_bitrate(self) -> None:
        audio = AudioTemplate(codec=AudioCodec.FLAC, bitrate=128, audio_channel=0)
        assert audio_args(audio) == ["-c:a", "flac"]


class TestOutputLength:
    """``Command.duration`` is what FFmpeg's progress ``out_time`` runs to."""

    def test_uncut_work_runs_with_the_source(self) -> None:
        assert command([rendition(0), animated(1)]).duration == 4.0

    def test_clipped_rendition_counts_from_its_start(self) -> None:
        assert command([rendition(0, start=1.0, end=3.5)]).duration == 2.5
        assert command([rendition(0, start=1.5)]).duration == 2.5

    def test_animation_alone_is_its_clip_length(self) -> None:
        assert command([animated(0)]).duration == 2.0

    def test_snapshots_keep_source_times(self) -> None:
        assert command([snapshot(0, [1.0, 2.5])]).duration == 2.5
        assert command([snapshot(0, [1.0, 9.0])]).duration == 4.0  # past the end: capped

    def test_longest_output_wins(self) -> None:
        works: list[Work] = [rendition(0, start=1.0, end=2.0), snapshot(1, [3.0]), animated(2)]
        assert command(works).duration == 3.0


class TestPresetFallback:
    def test_global_preset_when_the_template_has_none(self) -> None:
        work = rendition(0)
        assert work.template.video_template is not None
        assert work.template.video_template.preset is None
        args = command([work], video_preset="superfast").args
        assert args[args.index("-preset") + 1] == "superfast"

    def test_video_args_prefers_the_template_preset(self) -> None:
        video = VideoTemplate(codec=VideoCodec.H264, preset="slow")
        args = video_args(video, fps=25, preset="ultrafast", container="mp4")
        assert args[args.index("-preset") + 1] == "slow"


class TestLadderInTheFusedCommand:
    """A ladder is one more output of the job's command: a branch of the shared split."""

    @staticmethod
    def ladder_work(index: int) -> LadderWork:
        template = LadderTemplate.model_validate(
            {
                "format": "HLS",
                "segment_seconds": 2,
                "stream_infos": [
                    {"video": {"codec": "h264", "height": h, "bitrate": 300, "fps": 25},
                     "audio": {"codec": "aac", "bitrate": 64, "sample_rate": 44100}}
                    for h in (180, 240)
                ],
            }
        )  # fmt: skip
        info = media_info()
        return LadderWork(
            index=index,
            definition=1_000_001,
            bucket="media",
            ladder=select_rungs(template, info, 1_000_001),
            names=PackageNames.default("in", 1_000_001),
        )

    def test_the_ladder_reads_a_branch_of_the_one_decode(self) -> None:
        cmd = command([rendition(0), self.ladder_work(1)])

        assert cmd.args.count("-i") == 1
        assert chains(cmd)[0] == "[0:v:0]split=2[b0][b1]"
        assert "[b1]fps=25,split=2[l1b0][l1b1]" in chains(cmd)
        assert any(c.startswith("[l1b1]scale=320:240") for c in chains(cmd))
        ladder = cmd.ladders[1]
        assert ladder.raw_dir == WORK_DIR / "ladder1.raw"
        assert cmd.args[-1] == str(ladder.raw_dir / "%v.m3u8")  # the ladder's output last
        assert cmd.args.count("-var_stream_map") == 1

    def test_the_ladder_alone_is_the_standalone_command(self) -> None:
        work = self.ladder_work(0)
        fused = command([work])
        alone = build_ladder_command(SOURCE, media_info(), work.ladder, WORK_DIR / "ladder0.raw")
        labels = {"[l0b0]": "[b0]", "[l0b1]": "[b1]", "[l0v0]": "[v0]", "[l0v1]": "[v1]"}

        def unlabel(args: list[str]) -> list[str]:
            out = []
            for arg in args:
                text = arg
                for old, new in labels.items():
                    text = text.replace(old, new)
                out.append(text.replace("[0:v:0]split=1[b0];[b0]fps", "[0:v:0]fps"))
            return out

        assert unlabel(fused.args) == alone.args


class TestThreads:
    """``REELFLOW_FFMPEG_THREADS`` caps the decoder, the filter graph and every encoder."""

    def test_no_cap_by_default(self) -> None:
        assert "-threads" not in command([rendition(0), snapshot(1, [1.0])]).args

    def test_the_cap_reaches_decoder_filters_and_each_output(self) -> None:
        args = command([rendition(0), snapshot(1, [1.0])], threads=1).args
        source = args.index(SOURCE)
        assert args[: source + 1] == [
            "-y", "-filter_threads", "1", "-filter_complex_threads", "1", "-threads", "1",
            "-i", SOURCE,
        ]  # fmt: skip
        # One cap per output file, leading its options.
        after_graph = args.index("-filter_complex") + 2
        after_first_output = args.index("/w/w0.mp4") + 1
        for start in (after_graph, after_first_output):
            assert args[start : start + 3] == ["-threads", "1", "-map"]
        assert args.count("-threads") == 3

    def test_a_fused_ladder_gets_the_cap(self) -> None:
        ladder = TestLadderInTheFusedCommand.ladder_work(1)
        args = command([rendition(0), ladder], threads=2).args
        assert args.count("-threads") == 3  # the decoder, the rendition, the ladder
        muxer = args.index("-var_stream_map")
        assert args[args.index("-threads", args.index("/w/w0.mp4")) + 1] == "2"
        assert args.index("-threads", args.index("/w/w0.mp4")) < muxer

    def test_a_standalone_ladder_gets_the_cap(self) -> None:
        work = TestLadderInTheFusedCommand.ladder_work(0)
        args = build_ladder_command(
            SOURCE, media_info(), work.ladder, WORK_DIR / "l.raw", threads=1
        ).args
        assert args[:8] == [
            "-y", "-filter_threads", "1", "-filter_complex_threads", "1", "-threads", "1", "-i",
        ]  # fmt: skip
        assert args.count("-threads") == 2
