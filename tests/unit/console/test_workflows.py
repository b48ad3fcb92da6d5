"""The workflow form: create, validate with field messages, edit, enable, delete."""

from __future__ import annotations

from reelflow.console.forms import FormData
from reelflow.console.workflow_form import WorkflowForm
from reelflow.specs.workflows import WorkflowSpec
from reelflow.wiring.server import ServerServices
from tests.unit.console.conftest import Console

GOOD = {
    "name": "previews",
    "trigger_bucket": "media",
    "trigger_dir": "in/",
    "formats": "mp4, .MOV",
    "transcodes": ["100010", "100020"],
    "snapshot": "10",
    "snapshot_offsets": "25%, 3.5s",
    "gif": "20000",
    "gif_start": "0",
    "gif_end": "2",
    "output_dir": "out/",
    "notify_type": "queue",
    "notify_name": "events",
    "priority": "3",
    "enabled": "1",
}


def _form(**changes: str | list[str]) -> FormData:
    fields = {**GOOD, **changes}
    pairs = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return FormData(pairs)


def test_the_form_becomes_a_spec() -> None:
    spec = WorkflowForm.from_form(_form()).to_spec()
    assert spec.trigger.dir == "in/" and spec.trigger.formats == ["mp4", "mov"]
    mpt = spec.media_process_task
    assert [t.definition for t in mpt.transcode_task_set] == [100010, 100020]
    assert mpt.snapshot_by_time_offset_task_set[0].ext_time_offset_set == ["25%", "3.5s"]
    assert mpt.animated_graphic_task_set[0].end_time_offset == 2.0
    assert spec.notify is not None and spec.notify.name == "events"
    assert spec.priority == 3


def test_a_spec_round_trips_through_the_form() -> None:
    spec = WorkflowForm.from_form(_form(watermarks=["1000000"])).to_spec()
    again = WorkflowForm.from_spec(spec, enabled=True)
    assert not again.json_mode
    assert again.to_spec() == spec


def test_what_the_form_cannot_show_is_edited_as_json() -> None:
    spec = WorkflowSpec.model_validate(
        {
            "name": "two gifs",
            "trigger": {"bucket": "media"},
            "media_process_task": {
                "animated_graphic_task_set": [
                    {"definition": 20000, "end_time_offset": 1},
                    {"definition": 20001, "end_time_offset": 2},
                ]
            },
        }
    )
    form = WorkflowForm.from_spec(spec, enabled=False)
    assert form.json_mode and '"definition": 20001' in form.advanced
    assert form.to_spec() == spec


def test_a_workflow_with_a_ladder_is_edited_as_json() -> None:
    """The form has no ladder controls: it must not drop the ladder."""
    spec = WorkflowSpec.model_validate(
        {
            "name": "abr",
            "trigger": {"bucket": "media"},
            "media_process_task": {
                "transcode_task_set": [{"definition": 100010}],
                "adaptive_dynamic_streaming_task_set": [{"definition": 10}],
            },
        }
    )
    form = WorkflowForm.from_spec(spec, enabled=False)
    assert form.json_mode and "adaptive_dynamic_streaming_task_set" in form.advanced
    assert form.to_spec() == spec


def test_each_message_is_next_to_its_field(console: Console) -> None:
    page = console.post(
        "/console/workflows",
        {**GOOD, "formats": "m p4", "priority": "11", "gif_end": "x", "transcodes": []},
    )
    assert page.status_code == 400
    for control in ("gif",):
        assert f'data-error-for="{control}"' in page.text
    page = console.post("/console/workflows", {**GOOD, "formats": "m p4", "priority": "11"})
    assert 'data-error-for="formats"' in page.text
    assert 'data-error-for="priority"' in page.text
    page = console.post("/console/workflows", {**GOOD, "trigger_bucket": "nope"})
    assert 'data-error-for="trigger_bucket"' in page.text
    page = console.post("/console/workflows", {**GOOD, "transcodes": ["424242"]})
    assert 'data-error-for="transcodes"' in page.text


def test_create_edit_disable_delete(console: Console, runtime: ServerServices) -> None:
    created = console.post("/console/workflows", GOOD)
    assert created.status_code == 303, created.text
    (record,), _ = runtime.workflows.list(runtime.admin_account.id)
    assert record.enabled and record.spec.priority == 3
    listing = console.client.get("/console/workflows")
    assert "previews" in listing.text and "created (enabled)" in listing.text
    edit = console.client.get(f"/console/workflows/{record.id}")
    assert 'value="in/"' in edit.text
    saved = console.post(
        f"/console/workflows/{record.id}", {**GOOD, "priority": "-2", "enabled": ""}
    )
    assert saved.status_code == 303
    record = runtime.workflows.get(runtime.admin_account.id, record.id)
    assert record.spec.priority == -2 and not record.enabled
    assert console.post(f"/console/workflows/{record.id}/enable").status_code == 303
    assert runtime.workflows.get(runtime.admin_account.id, record.id).enabled
    # Delete is offered on disabled workflows only; posted anyway, it is refused.
    row = console.client.get("/console/workflows").text
    assert f'action="/console/workflows/{record.id}/delete"' not in row
    assert console.post(f"/console/workflows/{record.id}/delete").status_code == 303
    assert runtime.workflows.list(runtime.admin_account.id)[1] == 1
    assert "disable it before deleting it" in console.client.get("/console/workflows").text
    assert console.post(f"/console/workflows/{record.id}/disable").status_code == 303
    row = console.client.get("/console/workflows").text
    assert f'action="/console/workflows/{record.id}/delete"' in row
    assert console.post(f"/console/workflows/{record.id}/delete").status_code == 303
    assert runtime.workflows.list(runtime.admin_account.id)[1] == 0
    assert console.client.get(f"/console/workflows/{record.id}").status_code == 404


CHAIN = {
    **GOOD,
    "transcodes": ["100030", "1010"],
    "id_transcode_100030": "wm720",
    "id_transcode_1010": "audio",
    "input_snapshot": "wm720",
    "id_gif": "preview",
    "input_gif": "wm720",
}


def test_a_chained_form_carries_ids_and_inputs_as_the_api_does() -> None:
    form = WorkflowForm.from_form(_form(**CHAIN))
    spec = form.to_spec()
    native = WorkflowSpec.model_validate(
        {
            **spec.model_dump(mode="json", exclude={"media_process_task"}),
            "media_process_task": {
                "transcode_task_set": [
                    {"definition": 100030, "id": "wm720"},
                    {"definition": 1010, "id": "audio"},
                ],
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["25%", "3.5s"], "input": "wm720"}
                ],
                "animated_graphic_task_set": [
                    {
                        "definition": 20000,
                        "start_time_offset": 0,
                        "end_time_offset": 2,
                        "id": "preview",
                        "input": "wm720",
                    }
                ],
            },
        }
    )
    assert spec == native
    sent = spec.media_process_task.model_dump(mode="json", exclude_defaults=True)
    assert sent["snapshot_by_time_offset_task_set"][0] == {
        "definition": 10,
        "ext_time_offset_set": ["25%", "3.5s"],
        "input": "wm720",
    }
    again = WorkflowForm.from_spec(spec, enabled=True)
    assert not again.json_mode and again.to_spec() == spec
    assert again.ids == {"transcode_100030": "wm720", "transcode_1010": "audio", "gif": "preview"}
    assert again.inputs == {"snapshot": "wm720", "gif": "wm720"}
    # What a sub-task may read: the source or another named transcode, never itself.
    assert again.input_choices("transcode_100030") == [
        ("", "The source"),
        ("audio", "audio (transcode 1010)"),
    ]
    assert [v for v, _ in again.input_choices("snapshot")] == ["", "wm720", "audio"]


def test_a_form_without_edges_sends_no_graph_members() -> None:
    mpt = WorkflowForm.from_form(_form()).to_spec().media_process_task.to_json()
    assert all("id" not in i and "input" not in i for items in mpt.values() for i in items)


def test_a_chained_workflow_is_saved_and_shown(console: Console, runtime: ServerServices) -> None:
    created = console.post("/console/workflows", CHAIN)
    assert created.status_code == 303, created.text
    (record,), _ = runtime.workflows.list(runtime.admin_account.id)
    snapshot = record.spec.media_process_task.snapshot_by_time_offset_task_set[0]
    assert snapshot.input == "wm720"
    edit = console.client.get(f"/console/workflows/{record.id}").text
    assert 'name="id_transcode_100030" type="text" value="wm720"' in edit
    assert '<option value="wm720" selected>wm720 (transcode 100030)</option>' in edit


def test_graph_errors_show_next_to_the_node(console: Console) -> None:
    # An input that names no sub-task (a transcode unchecked since, or a forged post).
    page = console.post("/console/workflows", {**CHAIN, "input_snapshot": "gone"})
    assert page.status_code == 400
    assert 'data-error-for="input_snapshot"' in page.text
    assert "&#39;gone&#39; is not the id of a sub-task" in page.text
    # A screenshot set cannot read an audio-only rendition.
    page = console.post("/console/workflows", {**CHAIN, "input_snapshot": "audio"})
    assert 'data-error-for="input_snapshot"' in page.text and "audio-only" in page.text
    # A cycle between two transcodes, reported on the transcode where it closes.
    cycle = {
        **CHAIN,
        "transcodes": ["100030", "100020"],
        "id_transcode_100020": "sd",
        "input_transcode_100030": "sd",
        "input_transcode_100020": "wm720",
    }
    page = console.post("/console/workflows", cycle)
    assert "in a cycle" in page.text and 'data-error-for="input_transcode_' in page.text
    # An id the spec refuses, next to the id of that transcode (the second one).
    page = console.post("/console/workflows", {**CHAIN, "id_transcode_1010": "a b"})
    assert page.status_code == 400
    assert 'data-error-for="id_transcode_1010"' in page.text
    # Two sub-tasks with one id.
    page = console.post("/console/workflows", {**CHAIN, "id_gif": "wm720"})
    assert 'data-error-for="id_gif"' in page.text and "already the id of" in page.text
