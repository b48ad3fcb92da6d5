"""target_size: the compatible API's sizing rules plus never-upscale and even dimensions."""

from __future__ import annotations

import pytest

from reelflow.errors import InvalidMedia
from reelflow.planner.geometry import Size, even, target_size

FHD = Size(1920, 1080)
FHD_PORTRAIT = Size(1080, 1920)


class TestAdaptiveOpen:
    """``open``: width is the long side and height the short side, whatever the source."""

    def test_landscape_short_side(self) -> None:
        assert target_size(FHD, 0, 720, adaptive=True) == Size(1280, 720)

    def test_portrait_short_side_is_the_width(self) -> None:
        assert target_size(FHD_PORTRAIT, 0, 720, adaptive=True) == Size(720, 1280)

    def test_portrait_long_side_is_the_height(self) -> None:
        assert target_size(FHD_PORTRAIT, 1280, 0, adaptive=True) == Size(720, 1280)

    def test_portrait_box_is_turned(self) -> None:
        assert target_size(FHD_PORTRAIT, 1280, 720, adaptive=True) == Size(720, 1280)

    def test_square_source_counts_as_landscape(self) -> None:
        assert target_size(Size(1000, 1000), 800, 400, adaptive=True) == Size(800, 400)


class TestAdaptiveClose:
    """``close``: width and height are literal."""

    def test_landscape(self) -> None:
        assert target_size(FHD, 0, 720, adaptive=False) == Size(1280, 720)

    def test_portrait_height_is_literal(self) -> None:
        # 1080 * 720 / 1920 = 405 -> the nearest even width.
        assert target_size(FHD_PORTRAIT, 0, 720, adaptive=False) == Size(404, 720)

    def test_portrait_box_is_not_turned(self) -> None:
        assert target_size(FHD_PORTRAIT, 640, 360, adaptive=False) == Size(640, 360)


class TestZeroes:
    def test_both_zero_is_the_source_size(self) -> None:
        assert target_size(Size(640, 360), 0, 0, adaptive=True) == Size(640, 360)

    def test_width_only_keeps_aspect(self) -> None:
        assert target_size(FHD, 640, 0, adaptive=False) == Size(640, 360)

    def test_height_only_keeps_aspect(self) -> None:
        assert target_size(Size(1440, 1080), 0, 480, adaptive=False) == Size(640, 480)


class TestUpscale:
    @pytest.mark.parametrize("short_side", [540, 720, 1080])
    def test_360p_source_is_never_upscaled(self, short_side: int) -> None:
        assert target_size(Size(640, 360), 0, short_side, adaptive=True) == Size(640, 360)

    def test_360p_portrait_source_is_never_upscaled(self) -> None:
        assert target_size(Size(360, 640), 0, 720, adaptive=True) == Size(360, 640)

    def test_box_larger_than_the_source_shrinks_to_fit_keeping_its_shape(self) -> None:
        # 1280x720 box on 640x480: scaled by 0.5 so neither side exceeds the source.
        assert target_size(Size(640, 480), 1280, 720, adaptive=False) == Size(640, 360)

    def test_smaller_target_is_kept(self) -> None:
        assert target_size(Size(640, 360), 0, 240, adaptive=True) == Size(426, 240)

    def test_allow_upscale(self) -> None:
        size = target_size(Size(640, 360), 0, 720, adaptive=True, allow_upscale=True)
        assert size == Size(1280, 720)


class TestEven:
    def test_odd_source_gives_even_output(self) -> None:
        size = target_size(Size(321, 241), 0, 0, adaptive=True)
        assert (size.width % 2, size.height % 2) == (0, 0)
        assert size == Size(320, 240)

    def test_rounding_to_even_never_exceeds_an_odd_source(self) -> None:
        # 323 / 2 = 161.5 rounds (half to even) to 162 -> 324 > 323: a 1-pixel upscale.
        assert target_size(Size(323, 243), 0, 0, adaptive=True) == Size(322, 242)
        assert target_size(Size(323, 243), 0, 360, adaptive=True) == Size(322, 242)

    def test_odd_scaled_size_is_made_even(self) -> None:
        # 1000 * 640 / 1920 = 333.3 -> 334.
        assert target_size(Size(1920, 1000), 640, 0, adaptive=False) == Size(640, 334)

    def test_force_even_off_keeps_exact_sizes(self) -> None:
        size = target_size(Size(321, 241), 0, 0, adaptive=True, force_even=False)
        assert size == Size(321, 241)

    @pytest.mark.parametrize(("value", "expected"), [(0.4, 2), (1.0, 2), (3.0, 4), (405.0, 404)])
    def test_even_helper(self, value: float, expected: int) -> None:
        assert even(value) == expected


@pytest.mark.parametrize("source", [Size(0, 0), Size(0, 1080), Size(1920, 0)])
def test_a_source_of_unknown_size_is_invalid_media_not_a_division_by_zero(source: Size) -> None:
    with pytest.raises(InvalidMedia) as caught:
        target_size(source, 0, 720, adaptive=True)
    assert caught.value.code == "InvalidInput.NotMedia"
