"""Output sizes: the compatible API's sizing rules, made concrete for a given source.

Rules (``VideoTemplateInfo``): with ``resolution_adaptive="open"`` width means the long side
and height the short side, so one template serves landscape and portrait sources; with
``"close"`` they are literal. Both 0 = the source size; one 0 = keep the aspect ratio.
reelflow adds: never upscale unless asked, and always even dimensions (4:2:0 needs them).
"""

from __future__ import annotations

from dataclasses import dataclass

from reelflow.errors import InvalidMedia


@dataclass(frozen=True, slots=True)
class Size:
    width: int
    height: int


def even(value: float) -> int:
    """Nearest even integer, at least 2."""
    return max(2, round(value / 2) * 2)


def even_floor(value: int) -> int:
    """The largest even integer not above ``value``, at least 2."""
    return max(2, value - value % 2)


def target_size(
    source: Size,
    width: int,
    height: int,
    *,
    adaptive: bool,
    allow_upscale: bool = False,
    force_even: bool = True,
) -> Size:
    """The output frame size for a source of ``source`` (display) size.

    When both dimensions are given the result is that box (the fill type decides how the
    picture fits it); otherwise the source's aspect ratio is kept.

    Raises:
        InvalidMedia: the source's size is unknown (0), so no aspect ratio can be kept.
    """
    src_w, src_h = source.width, source.height
    if src_w <= 0 or src_h <= 0:
        raise InvalidMedia(
            f"the source's frame size is unknown ({src_w}x{src_h}): it cannot be scaled",
            code="InvalidInput.NotMedia",
        )
    portrait = src_h > src_w
    req_w, req_h = width, height
    if adaptive and portrait:
        # width = long side, height = short side: for a portrait source, swap.
        req_w, req_h = height, width
    if req_w == 0 and req_h == 0:
        out_w, out_h = float(src_w), float(src_h)
    elif req_w == 0:
        out_h = float(req_h)
        out_w = src_w * out_h / src_h
    elif req_h == 0:
        out_w = float(req_w)
        out_h = src_h * out_w / src_w
    else:
        out_w, out_h = float(req_w), float(req_h)
    if not allow_upscale and (out_w > src_w or out_h > src_h):
        scale = min(src_w / out_w, src_h / out_h)
        out_w, out_h = out_w * scale, out_h * scale
    if force_even:
        out = Size(even(out_w), even(out_h))
        if allow_upscale:
            return out
        # Rounding an odd size to even may step one pixel past the source (323 -> 324).
        return Size(min(out.width, even_floor(src_w)), min(out.height, even_floor(src_h)))
    return Size(max(1, round(out_w)), max(1, round(out_h)))
