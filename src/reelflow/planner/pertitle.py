"""Per-title ladder decisions: probe-encode measurements -> each rung's size and bitrate.

Pure (no I/O): the measurements come from ``reelflow.media.pertitle``. Rules:

- **Curves.** The points of one size, by bitrate, each keeping only points that score higher
  than every cheaper one (a noisy probe never makes a curve fall). VMAF between two points is
  interpolated linearly in log2(bitrate), as rate-quality curves are close to straight there;
  above a curve's last point it stays at that point's score; below its first point it is
  extrapolated along the first segment (floored at 0).
- **Hull.** The upper convex hull of every point in (log2 kbps, VMAF), rising part only: the
  best quality any size reaches at each bitrate. Only sizes with a point on the hull are
  candidates for a rung.
- **Top rung.** The lowest bitrate at which a candidate size's curve reaches ``target_vmaf``
  (that size); if none reaches it, the best-scoring point (the prediction then says so).
  The curve is never extrapolated below its cheapest probe for this: the probes' quality
  range (their CRFs) must cover the target.
- **Lower rungs** are spaced along the hull in quality, not in bitrate: each step down aims
  ``STEP_VMAF`` (6, about one just-noticeable difference) below the rung above (the top
  rung's aim being ``target_vmaf``, or the best score reached when no size reaches it), and
  gets the lowest bitrate at which a size no larger than the rung above's reaches that aim
  (that size). So an easy title's whole ladder is cheap and a hard title's rich, where a
  fixed ladder's bitrate ratios would put an easy title's low rungs below anything measured.
  A rung is kept at most ``MAX_STEP_RATIO`` of the bitrate of the rung above, so that
  neighbours stay far enough apart for a player to switch between (its prediction then
  drops below its aim).
- The predicted VMAF of a rung is its own size's curve at its bitrate (never the hull's
  chord between two sizes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

from reelflow.specs.ladders import VideoRendition
from reelflow.specs.pertitle import DEFAULT_TARGET_VMAF, RatePoint, RungChoice

STEP_VMAF = 6.0  # quality between two rungs: about one just-noticeable difference
MAX_STEP_RATIO = 0.85  # a rung's bitrate at most this share of the rung above's

Size = tuple[int, int]


def curves(points: Iterable[RatePoint]) -> dict[Size, list[RatePoint]]:
    """Per size, its points by bitrate, each scoring above every cheaper one."""
    by_size: dict[Size, list[RatePoint]] = {}
    for point in sorted(points, key=lambda p: (p.kbps, -p.vmaf)):
        curve = by_size.setdefault(point.size, [])
        if point.kbps > 0 and (not curve or point.vmaf > curve[-1].vmaf):
            curve.append(point)
    return by_size


def _lerp(x: float, x0: float, x1: float, y0: float, y1: float) -> float:
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def vmaf_at(curve: Sequence[RatePoint], kbps: float) -> float:
    """The curve's VMAF at ``kbps`` (module rules)."""
    if not curve:
        raise ValueError("an empty curve")
    x = math.log2(max(kbps, 1e-6))
    if kbps >= curve[-1].kbps:
        return curve[-1].vmaf
    if len(curve) == 1:
        return curve[0].vmaf if kbps >= curve[0].kbps else 0.0
    i = next((k for k in range(1, len(curve)) if curve[k].kbps >= kbps), 1)
    a, b = curve[i - 1], curve[i]
    value = _lerp(x, math.log2(a.kbps), math.log2(b.kbps), a.vmaf, b.vmaf)
    return max(0.0, min(100.0, value))


def rate_for(curve: Sequence[RatePoint], target: float) -> float | None:
    """The lowest bitrate at which the curve reaches ``target``; None if it never does."""
    if not curve or curve[-1].vmaf < target:
        return None
    if curve[0].vmaf >= target:
        return curve[0].kbps
    i = next(k for k in range(1, len(curve)) if curve[k].vmaf >= target)
    a, b = curve[i - 1], curve[i]
    return float(2 ** _lerp(target, a.vmaf, b.vmaf, math.log2(a.kbps), math.log2(b.kbps)))


def upper_hull(points: Iterable[RatePoint]) -> list[RatePoint]:
    """The rising upper convex hull of ``points`` in (log2 kbps, VMAF), cheapest first:
    bitrate and VMAF both strictly increase along it, and its slope never increases."""
    ordered = sorted((p for p in points if p.kbps > 0), key=lambda p: (p.kbps, -p.vmaf))
    hull: list[RatePoint] = []
    for point in ordered:
        if hull and point.vmaf <= hull[-1].vmaf:
            continue  # no better than something cheaper
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], point) >= 0:
            hull.pop()  # hull[-1] lies on or under the chord: not on the hull
        hull.append(point)
    return hull


def _cross(a: RatePoint, b: RatePoint, c: RatePoint) -> float:
    ax, bx, cx = math.log2(a.kbps), math.log2(b.kbps), math.log2(c.kbps)
    return (bx - ax) * (c.vmaf - a.vmaf) - (b.vmaf - a.vmaf) * (cx - ax)


def _reach(by_size: dict[Size, list[RatePoint]], aim: float, cap: int) -> tuple[Size, float] | None:
    """The size (pixels at most ``cap``) reaching ``aim`` at the lowest bitrate, and that
    bitrate (the larger size on a tie)."""
    reach = {
        s: r
        for s, c in by_size.items()
        if s[0] * s[1] <= cap and (r := rate_for(c, aim)) is not None
    }
    if not reach:
        return None
    size = min(reach, key=lambda s: (reach[s], -s[0] * s[1]))
    return size, reach[size]


def choose_rungs(
    points: Iterable[RatePoint],
    rungs: Sequence[VideoRendition],
    target_vmaf: float = DEFAULT_TARGET_VMAF,
    *,
    aims: Sequence[float] | None = None,
) -> list[RungChoice]:
    """One choice per rung of ``rungs`` (a ``ResolvedLadder``'s video, smallest first, the
    fixed ladder), in the same order (module rules). ``aims``: one VMAF per rung (same
    order) aimed at instead of ``target_vmaf`` and ``STEP_VMAF`` steps below it, each
    held to the best score reached (the benchmark aims each rung at the fixed ladder's
    achieved score: bits saved at equal quality; not offered to users).

    Raises:
        ValueError: no rung, or no usable point, or ``aims`` not one per rung.
    """
    if not rungs:
        raise ValueError("no rung to choose for")
    if aims is not None and len(aims) != len(rungs):
        raise ValueError("one aim per rung")
    measured = list(points)
    hull_sizes = {p.size for p in upper_hull(measured)}
    by_size = {s: c for s, c in curves(measured).items() if s in hull_sizes and c}
    if not by_size:
        raise ValueError("no probe encode to choose from")
    best = max((c[-1] for c in by_size.values()), key=lambda p: (p.vmaf, -p.kbps))
    aim = min(target_vmaf, best.vmaf)
    cap = max(s[0] * s[1] for s in by_size)
    choices: list[RungChoice] = []
    above: float | None = None
    for k, rung in enumerate(reversed(rungs)):
        if aims is not None:
            aim = min(aims[len(rungs) - 1 - k], best.vmaf)
        found = _reach(by_size, aim, cap)
        if found is None:  # the best point within the cap (only ``aims`` can ask above it)
            top = max((c[-1] for s, c in by_size.items() if s[0] * s[1] <= cap),
                      key=lambda p: (p.vmaf, -p.kbps))  # fmt: skip
            found = (top.size, top.kbps)
        size, kbps = found
        if above is not None and kbps > above * MAX_STEP_RATIO:
            kbps = above * MAX_STEP_RATIO
        choices.append(_choice(rung, size, kbps, by_size))
        cap, above, aim = size[0] * size[1], kbps, aim - STEP_VMAF
    return choices[::-1]


def _choice(
    rung: VideoRendition, size: Size, kbps: float, by_size: dict[Size, list[RatePoint]]
) -> RungChoice:
    return RungChoice(
        stream_info=rung.stream_info,
        width=size[0],
        height=size[1],
        kbps=max(1, round(kbps)),
        predicted_vmaf=round(vmaf_at(by_size[size], kbps), 2),
        fixed_kbps=rung.bitrate,
        crf=crf_at(by_size[size], kbps),
    )


MAX_CRF = 51.0
MAX_CRF_STEP = 12.0  # a re-encode's CRF at most this far from the first encode's


def _along(curve: Sequence[RatePoint], x: float, get_x: Callable[[RatePoint], float],
           get_y: Callable[[RatePoint], float]) -> float:  # fmt: skip
    """``get_y`` at ``get_x`` = ``x`` along the curve's points (sorted by ``get_x``),
    linear between two points and along the end segment beyond them."""
    pts = sorted(curve, key=get_x)
    if len(pts) == 1:
        return get_y(pts[0])
    i = next((k for k in range(1, len(pts)) if get_x(pts[k]) >= x), len(pts) - 1)
    a, b = pts[i - 1], pts[i]
    return _lerp(x, get_x(a), get_x(b), get_y(a), get_y(b))


def _log_kbps(p: RatePoint) -> float:
    return math.log2(p.kbps)


def crf_at(curve: Sequence[RatePoint], kbps: float) -> float:
    """The x264 CRF at which ``curve``'s size encodes at about ``kbps``: interpolated
    between its probes in log2(bitrate) (extrapolated along the end segments), 0..51."""
    if not curve:
        raise ValueError("an empty curve")
    crf = _along(curve, math.log2(max(kbps, 1e-6)), _log_kbps, lambda p: float(p.crf))
    return round(min(max(crf, 0.0), MAX_CRF), 2)


def corrected_crf(curve: Sequence[RatePoint], crf: float, achieved: float, target: float) -> float:
    """The CRF to re-encode a rung of ``curve``'s size at, after an encode at ``crf``
    scored ``achieved`` on the full title where ``target`` was wanted.

    The mean of two estimates: (a) the probes' VMAF by CRF (linear between probes, along
    the end segments beyond) shifted by the error seen at ``crf``, which assumes the
    sample is off from the title by the same amount at every CRF; (b) the secant from the
    measurement to the nearest probe on the target's side of it, which trusts both
    measurements and not the straight line between probes. With probes 7-9 CRF apart each
    alone landed more than 1 VMAF off on the test clips, in opposite directions (a forced
    miss 3 CRF high: (a) 91.9 for 93; 6 CRF high: (b) 94.0); without a probe beyond the
    target, (a) only. At most ``MAX_CRF_STEP`` from ``crf``, 0..51.
    """
    if not curve:
        raise ValueError("an empty curve")
    if len(curve) == 1:
        found = crf - (target - achieved) / 1.5  # about 1.5 VMAF per CRF step: x264's
    else:
        seen = _along(curve, crf, lambda p: float(p.crf), lambda p: p.vmaf)
        want = target - (achieved - seen)
        found = _along(curve, want, lambda p: p.vmaf, lambda p: float(p.crf))
        above = achieved > target  # too good: a higher CRF
        side = [
            p
            for p in curve
            if ((p.crf > crf and p.vmaf <= target) if above else (p.crf < crf and p.vmaf >= target))
        ]
        if side and achieved != target:
            p = min(side, key=lambda q: abs(q.crf - crf))
            secant = (
                float(p.crf)
                if p.vmaf == achieved
                else (_lerp(target, achieved, p.vmaf, crf, float(p.crf)))
            )
            found = (found + secant) / 2
    found = min(max(found, crf - MAX_CRF_STEP), crf + MAX_CRF_STEP)
    return round(min(max(found, 0.0), MAX_CRF), 2)


def kbps_at_crf(curve: Sequence[RatePoint], crf: float) -> int:
    """The bitrate ``curve``'s size takes at ``crf`` (log2-linear between probes)."""
    if not curve:
        raise ValueError("an empty curve")
    return max(1, round(2 ** _along(curve, crf, lambda p: float(p.crf), _log_kbps)))
