"""A scored task on its console page, in Chromium (issue 18): each scored rendition shows its
scores, a plot of VMAF over time (inline SVG drawn by the server) and its worst moment's
frame next to the source's, both loaded from the bucket; a scored ladder, one per rung."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.clips import ClipCache
from tests.integration.console.browser import screenshot_path
from tests.integration.server.process import ServerProcess, wait_finished
from tests.integration.server.test_adaptive import ladder

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_scored_task_shows_vmaf_over_time_and_its_worst_moment(
    admin_page: Page, server: ServerProcess, clips: ClipCache
) -> None:
    source = clips(duration=3.0, width=320, height=240, fps=25)
    with server.client() as api:
        stored = api.put("/v1/buckets/media/objects/in/scored.mp4", content=source.read_bytes())
        assert stored.status_code in (200, 201), stored.text
        body = {
            "input": {"bucket": "media", "key": "in/scored.mp4"},
            "media_process_task": {"transcode_task_set": [{"definition": 100010}]},
            "quality": True,
        }
        created = api.post("/v1/tasks", json=body)
        assert created.status_code == 201, created.text
        task_id = created.json()["task_id"]
        doc = wait_finished(api, task_id, timeout=120)
    assert doc["phase"] == "succeeded", doc
    score = doc["subtasks"][0]["quality"]
    page = admin_page
    page.goto(f"/console/tasks/{task_id}")
    panel = page.locator("#subtask-0 [data-quality]")
    assert panel.locator("[data-score=vmaf-mean]").inner_text() == f"{score['Vmaf']['Mean']:.2f}"
    assert panel.locator("[data-score=vmaf-min]").inner_text() == f"{score['Vmaf']['Min']:.2f}"
    # The plot: one polyline with a point per value of the series, drawn on screen.
    plot = panel.locator("svg[data-plot=vmaf]")
    assert plot.is_visible()
    points = plot.locator("polyline").get_attribute("points") or ""
    assert len(points.split()) == len(score["Series"])
    box = plot.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 40
    # The two frames: loaded (decoded by the browser), side by side, the size they were
    # compared at (the source's 320x240).
    for kind in ("rendition", "source"):
        image = panel.locator(f"figure[data-frame={kind}] img")
        assert image.is_visible()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        size = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size == [320, 240], (kind, size)
    left = panel.locator("figure[data-frame=rendition]").bounding_box()
    right = panel.locator("figure[data-frame=source]").bounding_box()
    assert left is not None and right is not None and left["x"] < right["x"]
    assert score["Worst"]["Frame"].endswith(".worst.jpg")
    page.screenshot(path=str(screenshot_path("40-task-quality")), full_page=True)


def test_a_scored_ladder_shows_one_plot_per_rung(
    admin_page: Page, server: ServerProcess, clips: ClipCache
) -> None:
    source = clips(duration=4.0, width=320, height=180, fps=25)
    with server.client() as api:
        made = api.post("/v1/templates/AdaptiveDynamicStreaming", json=ladder("HLS"))
        assert made.status_code == 201, made.text
        api.put("/v1/buckets/media/objects/in/ladder.mp4", content=source.read_bytes())
        body = {
            "input": {"bucket": "media", "key": "in/ladder.mp4"},
            "media_process_task": {
                "adaptive_dynamic_streaming_task_set": [{"definition": made.json()["definition"]}]
            },
            "quality": True,
        }
        created = api.post("/v1/tasks", json=body)
        assert created.status_code == 201, created.text
        task_id = created.json()["task_id"]
        doc = wait_finished(api, task_id, timeout=120)
    assert doc["phase"] == "succeeded", doc
    page = admin_page
    page.goto(f"/console/tasks/{task_id}")
    panels = page.locator("#subtask-0 [data-quality]")
    assert panels.count() == 2
    assert [panels.nth(i).get_attribute("data-rung") for i in range(2)] == [
        "144p · 294 kbps",
        "180p · 330 kbps",
    ]
    for i in range(2):
        assert panels.nth(i).locator("svg[data-plot=vmaf] polyline").is_visible()
        for kind in ("rendition", "source"):
            image = panels.nth(i).locator(f"figure[data-frame={kind}] img")
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
            )
    page.screenshot(path=str(screenshot_path("41-task-ladder-quality")), full_page=True)


def test_a_per_title_ladder_shows_each_rungs_target_and_saving(
    admin_page: Page, server: ServerProcess, clips: ClipCache
) -> None:
    source = clips(duration=4.0, width=320, height=180, fps=25)
    with server.client() as api:
        made = api.post("/v1/templates/AdaptiveDynamicStreaming", json=ladder("HLS", ladder="auto"))
        assert made.status_code == 201, made.text
        api.put("/v1/buckets/media/objects/in/auto.mp4", content=source.read_bytes())
        body = {
            "input": {"bucket": "media", "key": "in/auto.mp4"},
            "media_process_task": {
                "adaptive_dynamic_streaming_task_set": [{"definition": made.json()["definition"]}]
            },
        }
        created = api.post("/v1/tasks", json=body)
        assert created.status_code == 201, created.text
        task_id = created.json()["task_id"]
        doc = wait_finished(api, task_id, timeout=240)
    assert doc["phase"] == "succeeded", doc
    rungs = doc["subtasks"][0]["quality"]["Rungs"]
    page = admin_page
    page.goto(f"/console/tasks/{task_id}")
    panels = page.locator("#subtask-0 [data-quality]")
    assert panels.count() == len(rungs) == 2
    for i, rung in enumerate(rungs):
        chosen = rung["PerTitle"]
        shown = panels.nth(i).locator("[data-per-title-panel]")
        assert shown.is_visible()
        target = shown.locator("[data-per-title=target]").inner_text()
        assert target == f"VMAF {chosen['TargetVmaf']:.1f}"
        achieved = shown.locator("[data-per-title=achieved]").inner_text()
        assert achieved.startswith(f"{chosen['AchievedVmaf']:.1f} (")
        fixed = shown.locator("[data-per-title=fixed]").inner_text()
        assert fixed.startswith(f"{chosen['FixedBitrate']} kbps: ")
        assert str(abs(chosen["SavedBitrate"])) in fixed
    page.screenshot(path=str(screenshot_path("42-task-per-title")), full_page=True)
