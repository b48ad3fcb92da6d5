"""A resolved watermark's sizes: numbers from its template's strings, JSON unchanged."""

from __future__ import annotations

import base64

import pytest

from reelflow.specs.subtasks import ResolvedWatermark, WatermarkGeometry
from reelflow.specs.templates import WatermarkTemplate
from reelflow.specs.units import Size, SizeUnit
from tests.clips import TINY_PNG


def test_size_parses_percent_px_and_bare_numbers() -> None:
    assert Size.parse("10%", what="w") == Size(10.0, SizeUnit.PERCENT)
    assert Size.parse(" 24PX ", what="w") == Size(24.0, SizeUnit.PX)
    assert Size.parse("7.5", what="w") == Size(7.5, SizeUnit.PX)
    assert Size.parse("10%", what="w").is_percent
    with pytest.raises(ValueError, match="w must be N% or Npx"):
        Size.parse("ten", what="w")
    with pytest.raises(ValueError, match="must not be negative"):
        Size.parse("-1px", what="w")


def test_resolved_watermark_carries_its_geometry_and_keeps_its_json() -> None:
    raw = {
        "type": "image",
        "x_pos": "10px",
        "y_pos": "5%",
        "image_template": {"image_content": base64.b64encode(TINY_PNG).decode(), "width": "12%"},
    }
    mark = ResolvedWatermark(definition=501, template=WatermarkTemplate.model_validate(raw))
    assert mark.geometry == WatermarkGeometry(
        x=Size(10.0, SizeUnit.PX),
        y=Size(5.0, SizeUnit.PERCENT),
        width=Size(12.0, SizeUnit.PERCENT),
        height=Size(0.0, SizeUnit.PX),
        font_size=None,
    )
    data = mark.to_json()
    assert data["template"]["x_pos"] == "10px"
    assert "geometry" not in data and "_geometry" not in data
    again = ResolvedWatermark.model_validate(data)
    assert again == mark and again.geometry == mark.geometry
