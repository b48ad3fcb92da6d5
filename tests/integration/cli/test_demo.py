"""``reelflow demo``: every feature at its best on the sample clip (a sprite sheet the clip
fills), ending with what was made and where."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from reelflow.cli.demo import DEMO_SPRITE

pytestmark = pytest.mark.integration

BLACK = 16  # mean luma of a cell the sprite left empty (black fill) is ~0


def test_demo_fills_its_sprite_and_lists_what_it_made(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFLOW_")}
    env |= {"REELFLOW_VIDEO_PRESET": "ultrafast", "COLUMNS": "200"}
    out = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "reelflow.cli.main", "demo", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # The closing list: every file made, with its path and size, all of them real.
    listed = re.findall(r"^  \S+ \d+\s+(/\S+)  \d+ (?:KiB|B)$", done.stdout, re.M)
    made = sorted(str(p) for p in (out / "outputs").iterdir())
    assert sorted(listed) == made, done.stdout[-3000:]
    assert len(made) >= 19
    assert f"made {len(made)} files in {(out / 'outputs').resolve()}" in done.stdout
    assert str(out / "result.json") in done.stdout
    result = json.loads((out / "result.json").read_text())
    assert {r["Type"] for r in result["MediaProcessResultSet"]} >= {"ImageSprites", "Transcode"}

    [sheet] = [p for p in out.glob("outputs/*imageSprite*") if p.suffix == ".jpg"]
    with Image.open(sheet) as image:
        width, height = DEMO_SPRITE.width, DEMO_SPRITE.height
        assert image.size == (width * DEMO_SPRITE.column_count, height * DEMO_SPRITE.row_count)
        luma = image.convert("L")
        means = [
            ImageStat.Stat(
                luma.crop((c * width, r * height, (c + 1) * width, (r + 1) * height))
            ).mean[0]
            for r in range(DEMO_SPRITE.row_count)
            for c in range(DEMO_SPRITE.column_count)
        ]
    assert all(mean > BLACK for mean in means), means
    vtt = next(out.glob("outputs/*.vtt")).read_text()
    assert vtt.count("#xywh=") == DEMO_SPRITE.row_count * DEMO_SPRITE.column_count
