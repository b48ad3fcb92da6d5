"""The task page's quality panel: the VMAF plot's geometry and the worst moment's links."""

from __future__ import annotations

from reelflow.console.quality import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    moment,
    quality_panel,
    quality_panels,
)
from reelflow.specs.quality import PerTitleRung, QualityScore, RungScore, VmafScores, WorstFrame


def score(series: list[float], worst: WorstFrame | None = None) -> QualityScore:
    return QualityScore(
        model="vmaf_v0.6.1", subsample=2, frames=len(series), psnr_mean=40.0, ssim_mean=0.98,
        vmaf=VmafScores(mean=90.0, harmonic_mean=89.9, min=min(series), p1=min(series)),
        series=series, interval=0.08, worst=worst,
    )  # fmt: skip


def test_the_plot_spans_the_box_and_marks_the_dip() -> None:
    panel = quality_panel(score([96.0, 94.0, 71.5, 95.0, 97.0]))
    assert panel is not None and panel.plot is not None
    plot = panel.plot
    xs = [float(p.split(",")[0]) for p in plot.points.split()]
    ys = [float(p.split(",")[1]) for p in plot.points.split()]
    assert xs[0] == LEFT and xs[-1] == WIDTH - RIGHT
    # The axis runs from 100 (top) down to 70, the ten under the lowest score (bottom).
    assert [t.label for t in plot.y_ticks] == ["100", "85", "70"]
    assert min(ys) > TOP and max(ys) < HEIGHT - BOTTOM
    assert (plot.worst_x, plot.worst_y) == (xs[2], max(ys))
    # Five scored frames, 0.08 s apart: the axis ends at the last one, 0.32 s.
    assert [t.label for t in plot.x_ticks] == ["0 s", "0.16 s", "0.32 s"]


def test_pictures_are_linked_only_when_stored() -> None:
    stored = WorstFrame(time=0.8, vmaf=71.5, bucket="media", frame_key="o/a.worst.jpg",
                        source_key="o/a.worst-source.jpg")  # fmt: skip
    panel = quality_panel(score([90.0, 71.5], stored))
    assert panel is not None
    assert panel.frame_url == "/console/buckets/media/objects/o/a.worst.jpg"
    assert panel.source_frame_url == "/console/buckets/media/objects/o/a.worst-source.jpg"
    assert panel.worst_text == "VMAF 71.5 at 0.8 s"
    bare = quality_panel(score([90.0, 71.5], WorstFrame(time=0.8, vmaf=71.5)))
    assert bare is not None and bare.frame_url == "" and bare.worst_text
    assert quality_panel(score([90.0])) is not None
    assert quality_panel(None) is None
    assert moment(62.5) == "1:02.5"


def test_a_ladder_gets_one_panel_per_rung() -> None:
    rungs = [
        RungScore(stream_info=i, width=w, height=h, bitrate=b, score=score([90.0, 80.0]))
        for i, (w, h, b) in enumerate([(256, 144, 294), (1280, 720, 0)])
    ]
    panels = quality_panels(None, rungs)
    assert [p.label for p in panels] == ["144p · 294 kbps", "720p · constant quality"]
    assert quality_panels(None, []) == []
    assert [p.label for p in quality_panels(score([90.0, 80.0]), [])] == [""]


def test_a_per_title_rung_says_what_it_aimed_at_and_what_it_saved() -> None:
    def rung(bitrate: int, chosen: PerTitleRung | None) -> RungScore:
        return RungScore(stream_info=0, width=1280, height=720, bitrate=bitrate,
                         score=score([90.0, 80.0]), per_title=chosen)  # fmt: skip

    # The score's mean is 90.0 (see score()).
    cheaper = PerTitleRung(target_vmaf=89.5, predicted_vmaf=89.2, fixed_bitrate=2000)
    [panel] = quality_panels(None, [rung(1600, cheaper)])
    view = panel.per_title
    assert view is not None
    assert (view.target, view.predicted, view.achieved) == (89.5, 89.2, 90.0)
    assert view.verdict == "on target"
    assert view.saved == "saved 400 kbps (20 %)"
    assert view.history == ""
    richer = PerTitleRung(target_vmaf=93.0, predicted_vmaf=93.1, fixed_bitrate=2000,
                          reencoded=True, first_vmaf=88.7)  # fmt: skip
    [panel] = quality_panels(None, [rung(2600, richer)])
    view = panel.per_title
    assert view is not None
    assert view.verdict == "3.0 under target"
    assert view.saved == "spent 600 kbps more (+30 %)"
    assert view.history == "re-encoded: the first encode scored 88.7"
    kept = PerTitleRung(target_vmaf=88.0, predicted_vmaf=88.0, fixed_bitrate=0,
                        discarded_vmaf=86.2)  # fmt: skip
    [panel] = quality_panels(None, [rung(900, kept)])
    view = panel.per_title
    assert view is not None
    assert (view.verdict, view.saved) == ("2.0 over target", "")
    assert view.history == "a re-encode scored 86.2 and was not kept"
    [fixed] = quality_panels(None, [rung(900, None)])
    assert fixed.per_title is None


def test_a_per_title_transcode_says_what_it_aimed_at_and_what_it_saved() -> None:
    chosen = PerTitleRung(target_vmaf=91.5, predicted_vmaf=91.4, fixed_bitrate=400, bitrate=300)
    scored = score([90.0, 80.0]).model_copy(update={"per_title": chosen})
    [panel] = quality_panels(scored, [])
    view = panel.per_title
    assert view is not None
    assert (view.target, view.achieved, view.verdict) == (91.5, 90.0, "1.5 under target")
    assert view.saved == "saved 100 kbps (25 %)"
    shown = scored.to_json()["PerTitle"]
    assert (shown["FixedBitrate"], shown["SavedBitrate"], shown["AchievedVmaf"]) == (400, 100, 90.0)
    [plain] = quality_panels(score([90.0, 80.0]), [])
    assert plain.per_title is None and "PerTitle" not in score([90.0]).to_json()
