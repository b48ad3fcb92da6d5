"""The per-title step of a ladder's job (issue 18): analyse the source before the encode,
replace each video rung's size and bitrate with the analysis' choice, and after the
encode and its scoring re-encode once a ladder whose rungs missed their target.

1. **Analysis** (before the job's one FFmpeg command): sampled scenes of the source,
   probe encodes at the fixed ladder's rung sizes (not the smallest of four or more) and
   a few CRFs, each scored with VMAF (``reelflow.media.pertitle``), and, if
   ``PROBE_EXTEND_CRFS`` names any (none by default), more CRFs past the last for the
   sizes whose cheapest probe still reaches the target (``probe_title``), with fewer
   scenes and sizes on a short title (``fit_probes``); the rungs
   chosen on the hull (``reelflow.planner.pertitle.choose_rungs``) replace
   ``VideoRendition.width/height/bitrate`` of the work's ladder, each rung encoded at the
   probes' CRF for its bitrate, capped (VBV) at twice it: an average-bitrate encode at
   the same mean rate scored far below the CRF probe on easy content (docs/quality.md).
   The source is read once more, only its sampled scenes. If the analysis fails, the
   ladder keeps its fixed rungs (logged), as a score never fails a rendition.
2. **Achieved VMAF**: a per-title ladder is always scored (``LadderWork.quality``), with
   the job's other renditions, on the full output.
3. **Re-encode on a miss**: a rung whose achieved VMAF is more than ``MISS_VMAF`` off its
   target (the prediction at its chosen bitrate: ``target_vmaf`` for a top rung that
   reaches it) gets a corrected CRF (``corrected_crf``: the probes' VMAF-by-CRF shifted
   by the error seen). Only the missed rungs are encoded once more (alone, without the
   audio) and scored again; their raw playlists and segments stand in for the first
   encode's in the ladder's ``LadderCommand`` (the packager measures each raw playlist on
   its own and writes the master playlist and the MPD's figures from its measurements;
   the rungs keep their sizes and keyframe rule); no second re-encode. The
   encode whose missed rungs land nearer their targets is delivered: on near-static
   content VMAF is not smooth in CRF (the easy test clip scored 94.8 at CRF 29.67 and
   91.5 at 31, 91.7 at 32), so a correction can land further off than the first try.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from reelflow.errors import MediaError
from reelflow.executors.quality import Scored
from reelflow.media.command import Command, build_command
from reelflow.media.ladder import LadderCommand, build_ladder_command
from reelflow.media.pertitle import ProbeOptions, measure_points
from reelflow.media.quality import QualityOptions, Rendition, score_renditions
from reelflow.media.quality_pictures import extract_frames
from reelflow.media.runner import FFmpegRunner
from reelflow.planner.pertitle import choose_rungs, corrected_crf, crf_at, curves, kbps_at_crf
from reelflow.specs.jobs import JobPayload, SubTaskOutcome
from reelflow.specs.ladders import VideoRendition
from reelflow.specs.media import MediaInfo
from reelflow.specs.outputs import AdaptiveStreamingResult, TranscodeResult
from reelflow.specs.pertitle import RatePoint, RungChoice
from reelflow.specs.quality import PerTitleRung
from reelflow.specs.works import LadderWork, TranscodeWork, Work

log = logging.getLogger(__name__)

MISS_VMAF = 1.0  # a rung scoring further than this from its target is re-encoded once

# Chooser of the rungs: ``choose_rungs``; a test replaces it to force a wrong prediction.
Chooser = Callable[[list[RatePoint], list[VideoRendition], float], list[RungChoice]]


@dataclass
class PerTitlePlan:
    """One ladder's analysis: the probes' points, the choice per rung (the work's video
    order), the analysis' wall seconds, and after the scoring which rungs (``stream_info``)
    were re-encoded and what their first encode scored (``discarded``: the rungs whose
    re-encode scored further from the target and was not kept, with that score)."""

    points: list[RatePoint]
    choices: list[RungChoice]
    seconds: float
    first_vmaf: dict[int, float] = field(default_factory=dict)
    discarded: dict[int, float] = field(default_factory=dict)


# The analysis' probes (bench/pertitle_bench.py measured the choice): PROBE_SCENES scenes
# of PROBE_SCENE_SECONDS, x264 at PROBE_CRFS with PROBE_PRESET ("" = the job's own, which
# the rungs are encoded with), each probe scored on every PROBE_SUBSAMPLE-th frame. A
# faster probe preset is cheaper but shifts the level: at the same CRF `medium` scored
# 2-3.5 VMAF above `veryfast` on the 1080p moving clip, so every rung over-shot its target.
# PROBE_SKIP_SMALLEST: the smallest rung size is not probed when at least
# PROBE_SKIP_MIN_SIZES other sizes are (its rung is put at the next size: on the bench
# clips the hull never used it). PROBE_EXTEND_CRFS: when the cheapest probe of some size
# still reaches the target, those sizes are probed again at the next of these CRFs (one
# more process each time), so that an easy title's top rung is not held at CRF
# max(PROBE_CRFS)'s rate, above its target. Off: on the easy 1080p bench clip (45, 51)
# took 26 % more analysis CPU for a top rung 4 % cheaper (its keyframes are most of its
# bits at any CRF), which then missed its target (docs/quality.md).
PROBE_SCENES = 3
PROBE_SCENE_SECONDS = 1.0
PROBE_PRESET = ""
PROBE_CRFS = (18, 27, 36)
PROBE_SUBSAMPLE = 12
PROBE_SKIP_SMALLEST = True
PROBE_SKIP_MIN_SIZES = 3
PROBE_EXTEND_CRFS: tuple[int, ...] = ()

# The analysis follows the title's length: a short title must not pay an analysis larger
# than its own encode. The analysis' cost is mostly its probe encodes, counted as seconds
# of the largest probed size (``probe_cost``: scenes x scene seconds x CRFs x the probed
# sizes' pixels over the largest's); the top rung's encode is the title's seconds at that
# size. ``fit_probes`` keeps the probes within PROBE_SHARE of the title's seconds: fewer
# scenes first (down to one), then the middle sizes (the smallest and the largest probed
# stay: the hull's two ends, the lowest and the top rung's). The CRFs stay: two CRFs or shorter
# scenes moved the choice more than 1 VMAF (docs/quality.md, "lever by lever"). Measured
# before the rule (8 s 1080p bench clips; 3 x 1 s scenes, 3 sizes, 3 CRFs: 15.25 s of
# probes for 8 s of title), the analysis' CPU over the top rung's encode CPU came to about
# 1.6 x probe_cost / the title's seconds (2.7-3.3x), so 0.5 aims near 0.8x; the whole
# analysis fits from 30.5 s of title on the 4-rung 1080p ladder (docs/quality.md, "The
# analysis follows the title's length"). 0 = off.
PROBE_SHARE = 0.5

Size = tuple[int, int]


def probe_cost(scenes: int, scene_seconds: float, sizes: Sequence[Size], crfs: int) -> float:
    """The probes' encoded seconds, counted at the largest of ``sizes`` (a probe of a
    quarter of its pixels counts a quarter)."""
    if not sizes:
        return 0.0
    top = max(w * h for w, h in sizes)
    return scenes * scene_seconds * crfs * sum(w * h for w, h in sizes) / top


def fit_probes(
    duration: float, options: ProbeOptions, sizes: Sequence[Size]
) -> tuple[ProbeOptions, list[Size]]:
    """``options`` and ``sizes`` cut to a ``duration``-second title (the rule above): fewer
    scenes, then fewer middle sizes, until ``probe_cost`` is at most ``PROBE_SHARE`` of
    ``duration``; never under one scene and the smallest and largest of ``sizes`` (a title
    too short for even those gets them). Unchanged when the whole analysis fits or the
    rule is off."""
    kept = list(sizes)
    if PROBE_SHARE <= 0 or duration <= 0 or not kept:
        return options, kept
    budget = PROBE_SHARE * duration
    scenes = options.scenes

    def cost() -> float:
        return probe_cost(scenes, options.scene_seconds, kept, len(options.crfs))

    while scenes > 1 and cost() > budget:
        scenes -= 1
    while len(kept) > 2 and cost() > budget:
        by_pixels = sorted(kept, key=lambda s: s[0] * s[1])
        kept.remove(by_pixels[-2])  # the largest middle size: the most cost, one step
    return (options if scenes == options.scenes else replace(options, scenes=scenes)), kept


def probe_options(job: JobPayload, work: LadderWork) -> ProbeOptions:
    """The probes of a job's analysis (the constants above), with the ladder's keyframe
    interval (in frames of the source's rate: the sample keeps it) and the job's thread
    cap."""
    info = job.media_info
    video = info.primary_video if info is not None else None
    rate = (video.fps if video is not None else 0.0) or work.ladder.fps
    keyint = max(1, round(rate * work.ladder.segment_seconds)) if rate else 0
    return _probe_options(job, keyint)


def _probe_options(job: JobPayload, keyint: int) -> ProbeOptions:
    """The analysis' probes (the constants above) with a keyframe interval (frames of the
    source's rate; 0: the encoder's) and the job's preset and thread cap."""
    return ProbeOptions(
        scenes=PROBE_SCENES,
        scene_seconds=PROBE_SCENE_SECONDS,
        crfs=PROBE_CRFS,
        preset=PROBE_PRESET or job.video_preset or "medium",
        threads=job.ffmpeg_threads,
        keyint=max(0, keyint),
        quality=QualityOptions(subsample=PROBE_SUBSAMPLE, threads=job.ffmpeg_threads or 2),
    )


def probe_sizes(rungs: list[VideoRendition]) -> list[tuple[int, int]]:
    """The sizes the analysis probes: the rungs' distinct sizes, without the smallest when
    ``PROBE_SKIP_SMALLEST`` and at least ``PROBE_SKIP_MIN_SIZES`` others remain."""
    sizes = list(dict.fromkeys((r.width, r.height) for r in rungs))
    if PROBE_SKIP_SMALLEST and len(sizes) > PROBE_SKIP_MIN_SIZES:
        sizes.remove(min(sizes, key=lambda s: s[0] * s[1]))
    return sizes


def extend_sizes(points: list[RatePoint], target: float, crf: int) -> list[tuple[int, int]]:
    """The sizes to probe at ``crf`` as well: those whose cheapest probe (highest CRF, below
    ``crf``) still scores ``target`` or more."""
    top: dict[tuple[int, int], RatePoint] = {}
    for p in points:
        if p.crf < crf and (p.size not in top or p.crf > top[p.size].crf):
            top[p.size] = p
    return [s for s, p in top.items() if p.vmaf >= target]


def probe_title(
    runner: FFmpegRunner,
    src: str,
    info: MediaInfo,
    rungs: list[VideoRendition],
    where: Path,
    options: ProbeOptions,
    target_vmaf: float,
    *,
    timeout: float,
    cancel: threading.Event | None = None,
) -> list[RatePoint]:
    """The analysis' points: ``rungs``' sizes (``probe_sizes``) at ``options.crfs``, with
    the scenes and sizes cut to the title's length (``fit_probes``), then at each of
    ``PROBE_EXTEND_CRFS`` in turn the sizes whose cheapest probe still reaches
    ``target_vmaf`` (``extend_sizes``), until none does."""
    wanted = probe_sizes(rungs)
    fitted, sizes = fit_probes(info.duration or 0.0, options, wanted)
    if fitted is not options or sizes != wanted:
        log.info("per-title analysis cut to a %.1f s title: %d scene(s) of %g s at %s",
                 info.duration or 0.0, fitted.scenes, fitted.scene_seconds,
                 ", ".join(f"{w}x{h}" for w, h in sizes))  # fmt: skip
    options = fitted
    points = measure_points(
        runner, src, info, sizes, where, timeout=timeout, options=options, cancel=cancel,
    )  # fmt: skip
    for crf in PROBE_EXTEND_CRFS:
        sizes = extend_sizes(points, target_vmaf, crf)
        if not sizes:
            break
        points += measure_points(
            runner, src, info, sizes, where / f"crf{crf}", timeout=timeout,
            options=replace(options, crfs=(crf,)), cancel=cancel,
        )  # fmt: skip
    return points


def analyse_ladder(
    runner: FFmpegRunner,
    job: JobPayload,
    src: str,
    work: LadderWork,
    work_dir: Path,
    *,
    timeout: float,
    cancel: threading.Event,
    choose: Chooser | None = None,
) -> tuple[LadderWork, PerTitlePlan]:
    """``work`` with its rungs chosen per title, and the analysis.

    Raises:
        MediaError: the analysis could not be made (the caller keeps the fixed ladder).
        JobCancelled, FFmpegTimeout: from the runner.
    """
    info = job.media_info
    assert info is not None
    rungs = list(work.ladder.video)
    began = time.monotonic()
    points = probe_title(
        runner, src, info, rungs, work_dir / f"pertitle{work.index}", probe_options(job, work),
        work.target_vmaf, timeout=timeout, cancel=cancel,
    )  # fmt: skip
    choices = (choose or choose_rungs)(points, rungs, work.target_vmaf)
    by_size = curves(points)
    chosen = [
        rung.model_copy(
            update={
                "width": c.width,
                "height": c.height,
                "bitrate": c.kbps,
                "capped_crf": c.crf or crf_at(by_size[(c.width, c.height)], c.kbps),
            }
        )
        for rung, c in zip(rungs, choices, strict=True)
    ]
    ladder = work.ladder.model_copy(update={"video": chosen})
    plan = PerTitlePlan(points, list(choices), time.monotonic() - began)
    log.info(
        "job %s: per-title ladder %s: %s (fixed %s) in %.1f s",
        job.job_id,
        work.index,
        ", ".join(f"{c.width}x{c.height} {c.kbps}k ({c.predicted_vmaf})" for c in choices),
        ", ".join(f"{r.bitrate}k" for r in rungs),
        plan.seconds,
    )
    return work.model_copy(update={"ladder": ladder}), plan


def misses(
    work: LadderWork, plan: PerTitlePlan, found: list[Scored]
) -> dict[int, tuple[float, int]]:
    """The rungs (``stream_info``) whose achieved VMAF is more than ``MISS_VMAF`` off their
    target, and the corrected CRF and bitrate of each."""
    by_size = curves(plan.points)
    targets = {c.stream_info: c.predicted_vmaf for c in plan.choices}
    out: dict[int, tuple[float, int]] = {}
    for scored in found:
        rung = scored.rung
        if rung is None or rung.stream_info not in targets or rung.capped_crf is None:
            continue
        achieved, target = scored.score.vmaf.mean, targets[rung.stream_info]
        curve = by_size.get((rung.width, rung.height))
        if abs(achieved - target) > MISS_VMAF and curve:
            crf = corrected_crf(curve, rung.capped_crf, achieved, target)
            out[rung.stream_info] = (crf, kbps_at_crf(curve, crf))
    return out


def reencode_misses(
    runner: FFmpegRunner,
    job: JobPayload,
    src: str,
    command: Command,
    work: LadderWork,
    plan: PerTitlePlan,
    found: list[Scored],
    work_dir: Path,
    *,
    timeout: float,
    cancel: threading.Event,
) -> tuple[LadderWork, list[Scored]]:
    """Re-encode ``work``'s ladder once if some rung missed its target (module doc): the
    work with the corrected rates and its new scores; ``command.ladders`` then names the
    new raw output. Unchanged when nothing missed. A failed re-encode keeps the first
    (logged)."""
    fixes = misses(work, plan, found)
    if not fixes:
        return work, found
    info = job.media_info
    assert info is not None
    video = [
        r.model_copy(
            update={"capped_crf": fixes[r.stream_info][0], "bitrate": fixes[r.stream_info][1]}
        )
        if r.stream_info in fixes
        else r
        for r in work.ladder.video
    ]
    redone = work.model_copy(update={"ladder": work.ladder.model_copy(update={"video": video})})
    # Only the missed rungs, alone (no audio): the packager measures every raw playlist on
    # its own and writes the master playlist and the MPD's figures from what it measures,
    # so the re-encoded rungs' playlists stand in for the first encode's (same sizes, same
    # keyframe rule: the same segments' times).
    missed = [i for i, r in enumerate(video) if r.stream_info in fixes]
    alone = redone.ladder.model_copy(
        update={"video": [video[i].model_copy(update={"audio_group": ""}) for i in missed],
                "audio": []}
    )  # fmt: skip
    again = build_ladder_command(
        src,
        info,
        alone,
        work_dir / f"ladder{work.index}.again",
        video_preset=job.video_preset,
        threads=job.ffmpeg_threads,
    )
    again.raw_dir.mkdir(parents=True, exist_ok=True)
    first = command.ladders[work.index]
    swapped = {missed[s.index]: s for s in again.streams if s.kind == "video"}
    raw = replace(
        first,
        args=again.args,
        streams=[
            replace(swapped[s.index], index=s.index)
            if s.kind == "video" and s.index in swapped
            else s
            for s in first.streams
        ],
    )
    log.info(
        "job %s: per-title ladder %s: rungs %s missed their target; re-encoding at %s",
        job.job_id, work.index, sorted(fixes), fixes,
    )  # fmt: skip
    try:
        runner.run(again.args, timeout=timeout, cancel=cancel)
    except MediaError as exc:
        log.warning("job %s: per-title re-encode failed, first encode kept: %s",
                    job.job_id, exc.message)  # fmt: skip
        return work, found
    command.ladders[work.index] = raw
    rescored = rescore(runner, job, src, redone, raw, work_dir / f"again{work.index}",
                       timeout=timeout, cancel=cancel, only=set(missed))  # fmt: skip
    new = {f.rung.stream_info: f for f in rescored if f.rung is not None}
    scores = (
        [new.get(f.rung.stream_info, f) if f.rung is not None else f for f in found]
        if rescored
        else []
    )
    targets = {c.stream_info: c.predicted_vmaf for c in plan.choices}

    def off(scores: list[Scored]) -> float:
        return sum(
            abs(f.score.vmaf.mean - targets[f.rung.stream_info])
            for f in scores
            if f.rung is not None and f.rung.stream_info in fixes
        )

    if not scores or off(scores) > off(found):
        # The re-encode landed further from the targets (VMAF is not smooth in CRF on
        # near-static content): the first encode is delivered.
        log.info("job %s: per-title re-encode of ladder %s scored further off; first kept",
                 job.job_id, work.index)  # fmt: skip
        for scored in scores or []:
            if scored.rung is not None and scored.rung.stream_info in fixes:
                plan.discarded[scored.rung.stream_info] = scored.score.vmaf.mean
        command.ladders[work.index] = first
        return work, found
    for scored in found:
        if scored.rung is not None and scored.rung.stream_info in fixes:
            plan.first_vmaf[scored.rung.stream_info] = scored.score.vmaf.mean
    return redone, scores


def rescore(
    runner: FFmpegRunner,
    job: JobPayload,
    src: str,
    work: LadderWork,
    raw: LadderCommand,
    folder: Path,
    *,
    timeout: float,
    cancel: threading.Event,
    only: set[int] | None = None,
) -> list[Scored]:
    """The re-encoded ladder's video rungs (``only``: those of these indices in
    ``work.ladder.video``) scored against the source in one process (the source decoded
    once), each with its worst moment drawn; empty when FFmpeg cannot score them
    (logged)."""
    info = job.media_info
    assert info is not None
    items = [
        (Rendition(s.playlist, rung.width, rung.height, work.ladder.fps), rung)
        for s in raw.streams
        if s.kind == "video" and (only is None or s.index in only)
        for rung in (work.ladder.video[s.index],)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        scores = score_renditions(runner, src, info, [r for r, _ in items], folder,
                                  timeout=timeout, cancel=cancel)  # fmt: skip
    except MediaError as exc:
        log.warning("job %s: re-encoded ladder not scored: %s", job.job_id, exc.message)
        return []
    found = []
    for i, ((rendition, rung), score) in enumerate(zip(items, scores, strict=True)):
        pictures = None
        if score.worst is not None:
            pair = (folder / f"worst{i}.jpg", folder / f"worst{i}-source.jpg")
            try:
                pictures = extract_frames(runner, src, info, rendition, score.worst.time, pair,
                                          timeout=timeout, cancel=cancel)  # fmt: skip
            except MediaError as exc:
                log.warning("job %s: worst moment of rung %s not drawn: %s",
                            job.job_id, rung.stream_info, exc.message)  # fmt: skip
        found.append(Scored(score, pictures, rung))
    return found


def chosen_rung(plan: PerTitlePlan, choice: RungChoice, *, bitrate: int = 0) -> PerTitleRung:
    """What was chosen for one rung or transcode of ``plan`` (its ``PerTitle`` figures):
    aimed at its prediction, re-encoded or not, a discarded re-encode's score."""
    first = plan.first_vmaf.get(choice.stream_info)
    return PerTitleRung(
        target_vmaf=choice.predicted_vmaf,
        predicted_vmaf=choice.predicted_vmaf,
        fixed_bitrate=choice.fixed_kbps,
        reencoded=first is not None,
        first_vmaf=first,
        discarded_vmaf=plan.discarded.get(choice.stream_info),
        bitrate=bitrate,
    )


def annotate(output: object, plan: PerTitlePlan) -> object:
    """A stored per-title ladder's result with, on each scored rung, what was chosen for it
    (``RungScore.per_title``)."""
    if not isinstance(output, AdaptiveStreamingResult):
        return output
    by_rung = {c.stream_info: c for c in plan.choices}
    rungs = []
    for scored in output.quality:
        rung = scored
        choice = by_rung.get(rung.stream_info)
        if choice is not None:
            rung = rung.model_copy(update={"per_title": chosen_rung(plan, choice)})
        rungs.append(rung)
    return output.model_copy(update={"quality": rungs})


def per_title_outcome(outcome: SubTaskOutcome, plan: PerTitlePlan | None) -> SubTaskOutcome:
    """A ladder sub-task's outcome with its per-title choices on its rungs (``annotate``);
    unchanged for a fixed ladder or a failed sub-task."""
    if plan is None or not outcome.ok:
        return outcome
    return outcome.model_copy(update={"output": annotate(outcome.output, plan)})


# A set of per-title transcodes (issue 18: ``VideoTemplate.content_adapt_stream``): the
# transcodes of one job (one input) asking for it are a ladder whose fixed rungs are their
# templates' sizes and bitrates. One analysis (the ladder's: ``probe_title`` then
# ``choose_rungs``) picks each one's size and bitrate, the top one (the most pixels, then
# the highest bitrate) aiming at its ``target_vmaf``; each is encoded at the probes' CRF
# for its bitrate, capped at twice it (``TranscodeWork.capped_crf``), in the job's one
# FFmpeg command, scored, and re-encoded once, alone, when it missed its target by more
# than ``MISS_VMAF`` (the better of the two encodes delivered, as a ladder's rung).


def per_title_set(works: Sequence[Work]) -> list[TranscodeWork]:
    """The works of a job forming its per-title set: video transcodes asking for it."""
    return [
        w
        for w in works
        if isinstance(w, TranscodeWork)
        and w.target_vmaf > 0
        and w.template.video_template is not None
        and w.width > 0
        and w.height > 0
    ]


def _set_rungs(works: Sequence[TranscodeWork]) -> list[VideoRendition]:
    """The set as a fixed ladder, smallest first; ``stream_info`` is each work's index."""
    rungs = []
    for w in works:
        video = w.template.video_template
        assert video is not None
        rungs.append(VideoRendition(stream_info=w.index, codec=video.codec, width=w.width,
                                    height=w.height, bitrate=video.bitrate))  # fmt: skip
    return sorted(rungs, key=lambda r: (r.width * r.height, r.bitrate, r.stream_info))


def set_probe_options(job: JobPayload, top: TranscodeWork) -> ProbeOptions:
    """The probes of a set's analysis (the ladder's constants), with the top template's
    keyframe interval when it gives one (frames of the source's rate)."""
    info = job.media_info
    video = info.primary_video if info is not None else None
    rate = top.fps or ((video.fps or 0.0) if video is not None else 0.0)
    template = top.template.video_template
    keyint = 0
    if template is not None and template.gop:
        keyint = template.gop if template.gop_unit == "frame" else round(rate * template.gop)
    return _probe_options(job, keyint)


def _chosen(work: TranscodeWork, kbps: int, width: int, height: int, crf: float) -> TranscodeWork:
    template = work.template
    video = template.video_template
    assert video is not None
    video = video.model_copy(update={"bitrate": kbps})
    return work.model_copy(
        update={
            "template": template.model_copy(update={"video_template": video}),
            "width": width,
            "height": height,
            "capped_crf": crf,
            "quality": True,
        }
    )


def analyse_set(
    runner: FFmpegRunner,
    job: JobPayload,
    src: str,
    works: Sequence[TranscodeWork],
    work_dir: Path,
    *,
    timeout: float,
    cancel: threading.Event,
    choose: Chooser | None = None,
) -> tuple[list[TranscodeWork], PerTitlePlan]:
    """``works`` (a per-title set) with their sizes and bitrates chosen, in their order,
    and the analysis (its choices' ``stream_info`` are the works' indices).

    Raises:
        MediaError: the analysis could not be made (the caller keeps the templates').
        JobCancelled, FFmpegTimeout: from the runner.
    """
    info = job.media_info
    assert info is not None
    rungs = _set_rungs(works)
    by_index = {w.index: w for w in works}
    top = by_index[rungs[-1].stream_info]
    began = time.monotonic()
    points = probe_title(
        runner, src, info, rungs, work_dir / "pertitle-set", set_probe_options(job, top),
        top.target_vmaf, timeout=timeout, cancel=cancel,
    )  # fmt: skip
    choices = (choose or choose_rungs)(points, rungs, top.target_vmaf)
    by_size = curves(points)
    picked = {
        c.stream_info: _chosen(
            by_index[c.stream_info],
            c.kbps,
            c.width,
            c.height,
            c.crf or crf_at(by_size[(c.width, c.height)], c.kbps),
        )
        for c in choices
    }
    plan = PerTitlePlan(points, list(choices), time.monotonic() - began)
    log.info(
        "job %s: per-title transcodes %s: %s (fixed %s) in %.1f s",
        job.job_id,
        ",".join(str(c.stream_info) for c in choices),
        ", ".join(f"{c.width}x{c.height} {c.kbps}k ({c.predicted_vmaf})" for c in choices),
        ", ".join(f"{r.bitrate}k" for r in rungs),
        plan.seconds,
    )
    return [picked[w.index] for w in works], plan


def _score_alone(
    runner: FFmpegRunner, job: JobPayload, src: str, work: TranscodeWork, path: Path,
    folder: Path, *, timeout: float, cancel: threading.Event,
) -> Scored | None:  # fmt: skip
    """``path`` (``work`` encoded again) scored against the source, its worst moment
    drawn; None when FFmpeg cannot score it (logged)."""
    info = job.media_info
    assert info is not None
    rendition = Rendition(path, work.width, work.height, work.fps, work.start, work.end)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        [score] = score_renditions(runner, src, info, [rendition], folder,
                                   timeout=timeout, cancel=cancel)  # fmt: skip
    except MediaError as exc:
        log.warning("job %s: re-encoded %s not scored: %s", job.job_id, work.index, exc.message)
        return None
    pictures = None
    if score.worst is not None:
        pair = (folder / "worst.jpg", folder / "worst-source.jpg")
        try:
            pictures = extract_frames(runner, src, info, rendition, score.worst.time, pair,
                                      timeout=timeout, cancel=cancel)  # fmt: skip
        except MediaError as exc:
            log.warning("job %s: worst moment of %s not drawn: %s",
                        job.job_id, work.index, exc.message)  # fmt: skip
    return Scored(score, pictures)


def reencode_set_miss(
    runner: FFmpegRunner,
    job: JobPayload,
    src: str,
    command: Command,
    work: TranscodeWork,
    plan: PerTitlePlan,
    found: list[Scored],
    work_dir: Path,
    *,
    font_file: str = "",
    timeout: float,
    cancel: threading.Event,
) -> tuple[TranscodeWork, list[Scored]]:
    """A per-title transcode re-encoded once, alone, at a corrected CRF when its achieved
    VMAF is more than ``MISS_VMAF`` off its target, and its new score; ``command.outputs``
    then holds the new files. Unchanged when it did not miss, when the re-encode failed
    or when it scored further off (then ``plan.discarded`` has that score)."""
    choice = next((c for c in plan.choices if c.stream_info == work.index), None)
    if choice is None or work.capped_crf is None or len(found) != 1:
        return work, found
    achieved, target = found[0].score.vmaf.mean, choice.predicted_vmaf
    curve = curves(plan.points).get((work.width, work.height))
    if abs(achieved - target) <= MISS_VMAF or not curve:
        return work, found
    info = job.media_info
    assert info is not None
    crf = corrected_crf(curve, work.capped_crf, achieved, target)
    redone = _chosen(work, kbps_at_crf(curve, crf), work.width, work.height, crf)
    folder = work_dir / f"again{work.index}"
    folder.mkdir(parents=True, exist_ok=True)
    again = build_command(src, info, [redone], folder, video_preset=job.video_preset,
                          font_file=font_file, threads=job.ffmpeg_threads)  # fmt: skip
    for path, data in again.files.items():
        path.write_bytes(data)
    log.info("job %s: per-title transcode %s scored %.2f for %.2f; re-encoding at CRF %s",
             job.job_id, work.index, achieved, target, crf)  # fmt: skip
    try:
        runner.run(again.args, timeout=timeout, cancel=cancel)
    except MediaError as exc:
        log.warning("job %s: per-title re-encode failed, first encode kept: %s",
                    job.job_id, exc.message)  # fmt: skip
        return work, found
    files = again.outputs[work.index]
    if files.main is None:
        return work, found
    scored = _score_alone(runner, job, src, redone, files.main, folder / "score",
                          timeout=timeout, cancel=cancel)  # fmt: skip
    if scored is None or abs(scored.score.vmaf.mean - target) > abs(achieved - target):
        if scored is not None:
            plan.discarded[work.index] = scored.score.vmaf.mean
        log.info("job %s: per-title re-encode of %s scored further off; first kept",
                 job.job_id, work.index)  # fmt: skip
        return work, found
    command.outputs[work.index] = files
    plan.first_vmaf[work.index] = achieved
    return redone, [scored]


def annotate_transcode(
    outcome: SubTaskOutcome, plan: PerTitlePlan | None, work: TranscodeWork
) -> SubTaskOutcome:
    """A per-title transcode's outcome with what was chosen for it (``work``: as delivered,
    re-encoded or not) on its score (``QualityScore.per_title``); unchanged otherwise."""
    if plan is None or not outcome.ok or not isinstance(outcome.output, TranscodeResult):
        return outcome
    score = outcome.output.quality
    choice = next((c for c in plan.choices if c.stream_info == outcome.index), None)
    if score is None or choice is None:
        return outcome
    video = work.template.video_template
    chosen = chosen_rung(plan, choice, bitrate=video.bitrate if video else 0)
    output = outcome.output.model_copy(
        update={"quality": score.model_copy(update={"per_title": chosen})}
    )
    return outcome.model_copy(update={"output": output})
