"""Templates: presets are read-only, custom ones are made and edited with validation."""

from __future__ import annotations

from reelflow.specs.templates import TemplateKind
from reelflow.wiring.server import ServerServices
from tests.unit.console.conftest import Console

TRANSCODE = {
    "name": "Small",
    "container": "mp4",
    "video_codec": "h264",
    "video_height": "240",
    "video_bitrate": "300",
    "audio_codec": "aac",
    "audio_bitrate": "64",
    "audio_sample_rate": "44100",
    "audio_channel": "2",
}


def test_presets_are_listed_and_shown_read_only(console: Console) -> None:
    listing = console.client.get("/console/templates?kind=Transcode")
    assert 'data-definition="100010"' in listing.text
    preset = console.client.get("/console/templates/Transcode/100010")
    assert preset.status_code == 200 and "<form" not in preset.text.split("</aside>")[1]


def test_transcode_form_creates_and_edits(console: Console, runtime: ServerServices) -> None:
    done = console.post("/console/templates/new?kind=Transcode", TRANSCODE)
    assert done.status_code == 303, done.text
    records, _ = runtime.templates.list(
        runtime.admin_account.id, kind=TemplateKind.TRANSCODE, type="Custom"
    )
    (record,) = records
    page = console.client.get(f"/console/templates/Transcode/{record.definition}")
    assert 'value="240"' in page.text
    edited = console.post(
        f"/console/templates/Transcode/{record.definition}", {**TRANSCODE, "video_height": "360"}
    )
    assert edited.status_code == 303
    again = runtime.templates.get(
        runtime.admin_account.id, TemplateKind.TRANSCODE, record.definition
    )
    assert again.template.video_template is not None
    assert again.template.video_template.height == 360  # type: ignore[union-attr]


def test_transcode_messages_name_the_field(console: Console) -> None:
    page = console.post(
        "/console/templates/new?kind=Transcode",
        {**TRANSCODE, "video_bitrate": "50", "video_fps": "x"},
    )
    assert page.status_code == 400
    assert 'data-error-for="video_fps"' in page.text  # not a number
    page = console.post(
        "/console/templates/new?kind=Transcode", {**TRANSCODE, "video_bitrate": "50"}
    )
    assert 'data-error-for="video_bitrate"' in page.text


def test_json_editor_for_other_kinds(console: Console, runtime: ServerServices) -> None:
    bad = console.post("/console/templates/new?kind=AnimatedGraphics", {"body": '{"fps": 99}'})
    assert bad.status_code == 400 and 'data-error-for="body"' in bad.text and "fps" in bad.text
    broken = console.post("/console/templates/new?kind=AnimatedGraphics", {"body": "{"})
    assert "not valid JSON" in broken.text
    good = console.post(
        "/console/templates/new?kind=AnimatedGraphics", {"body": '{"fps": 5, "name": "g"}'}
    )
    assert good.status_code == 303
    records, _ = runtime.templates.list(
        runtime.admin_account.id, kind=TemplateKind.ANIMATED_GRAPHICS, type="Custom"
    )
    assert [r.name for r in records] == ["g"]
    deleted = console.post(f"/console/templates/AnimatedGraphics/{records[0].definition}/delete")
    assert deleted.status_code == 303
