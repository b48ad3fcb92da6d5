"""The workflow form and the ``WorkflowSpec`` it stands for.

The form offers what an admin usually sets: renditions (any number of transcode templates,
with the same watermarks on each), one screenshot set at time offsets, one sampled
screenshot set, one image sprite, one animated image with its time range. A workflow made
through the API that the form cannot express (two GIFs, raw parameters, custom paths) is
edited as JSON instead (``subtasks_mode = "json"``), so saving it never drops anything.

Each sub-task may also be a node of the task graph (``reelflow.specs.graph``): an optional
``id`` (control ``id_<node>``) and an ``input`` (control ``input_<node>``: the source, or
the id of a transcode whose rendition it reads). ``<node>`` is ``transcode_<definition>``,
``snapshot``, ``sample``, ``sprite`` or ``gif``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from reelflow.console.forms import FormData
from reelflow.console.validation import FieldMap, FormErrors, validated
from reelflow.specs.tasks import MediaProcessTask
from reelflow.specs.workflows import WorkflowSpec

NOTIFY_TYPES = ("", "queue", "url", "redis", "amqp")
DEFAULT_OFFSETS = "25%, 50%, 75%"

FIELDS: FieldMap = (
    ("name", "name"),
    ("trigger.bucket", "trigger_bucket"),
    ("trigger.dir", "trigger_dir"),
    ("trigger.formats", "formats"),
    ("trigger", "trigger_bucket"),
    ("media_process_task.transcode_task_set.watermark_set", "watermarks"),
    ("media_process_task.transcode_task_set", "transcodes"),
    ("media_process_task.snapshot_by_time_offset_task_set", "snapshot"),
    ("media_process_task.sample_snapshot_task_set", "sample"),
    ("media_process_task.image_sprite_task_set", "sprite"),
    ("media_process_task.animated_graphic_task_set", "gif"),
    ("media_process_task", "subtasks"),
    ("output_bucket", "output_bucket"),
    ("output_dir", "output_dir"),
    ("notify", "notify"),
    ("priority", "priority"),
)
JSON_FIELDS: FieldMap = (("media_process_task", "advanced"), *FIELDS)

# What each sub-task input may set for the form to show it (beyond these: JSON mode).
_NODE_KEYS = {"id", "input"}
_SIMPLE_KEYS = {
    "transcode_task_set": {"definition", "watermark_set", *_NODE_KEYS},
    "snapshot_by_time_offset_task_set": {"definition", "ext_time_offset_set", *_NODE_KEYS},
    "sample_snapshot_task_set": {"definition", *_NODE_KEYS},
    "image_sprite_task_set": {"definition", *_NODE_KEYS},
    "animated_graphic_task_set": {
        "definition",
        "start_time_offset",
        "end_time_offset",
        *_NODE_KEYS,
    },
}
# The form's one-item sub-task sets: node name -> set name.
_SINGLE_NODES = {
    "snapshot": "snapshot_by_time_offset_task_set",
    "sample": "sample_snapshot_task_set",
    "sprite": "image_sprite_task_set",
    "gif": "animated_graphic_task_set",
}
SOURCE_LABEL = "The source"


def transcode_node(definition: int) -> str:
    """The node name of the transcode of template ``definition`` in the form."""
    return f"transcode_{definition}"


def _set(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_defaults=True)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _number(text: str) -> str:
    """``3.0`` -> ``3``; other values as written."""
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else str(value)


@dataclass
class WorkflowForm:
    name: str = ""
    enabled: bool = False
    trigger_bucket: str = ""
    trigger_dir: str = ""
    formats: str = ""
    transcodes: list[int] = field(default_factory=list)
    watermarks: list[int] = field(default_factory=list)
    snapshot: int = 0
    snapshot_offsets: str = DEFAULT_OFFSETS
    sample: int = 0
    sprite: int = 0
    gif: int = 0
    gif_start: str = "0"
    gif_end: str = "3"
    output_bucket: str = ""
    output_dir: str = ""
    notify_type: str = ""
    notify_mode: str = "Finish"
    notify_name: str = ""
    notify_url: str = ""
    notify_secret: str = ""
    notify_stream: str = ""
    notify_queue: str = ""
    priority: str = "0"
    subtasks_mode: str = "form"
    advanced: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)

    @property
    def json_mode(self) -> bool:
        return self.subtasks_mode == "json"

    @property
    def field_map(self) -> FieldMap:
        """Where each spec field's messages show: the graph controls, then ``FIELDS``."""
        if self.json_mode:
            return JSON_FIELDS
        nodes: list[tuple[str, str]] = []
        for position, definition in enumerate(self.transcodes):
            path = f"media_process_task.transcode_task_set[{position}]"
            nodes += [
                (f"{path}.{key}", f"{key}_{transcode_node(definition)}") for key in ("id", "input")
            ]
        for node, set_name in _SINGLE_NODES.items():
            path = f"media_process_task.{set_name}"
            nodes += [(f"{path}.{key}", f"{key}_{node}") for key in ("id", "input")]
        return (*nodes, *FIELDS)

    def nodes(self) -> list[str]:
        """The node names of the sub-tasks the form holds, transcodes first."""
        singles = [node for node in _SINGLE_NODES if getattr(self, node)]
        return [*map(transcode_node, self.transcodes), *singles]

    def input_choices(self, node: str) -> list[tuple[str, str]]:
        """(value, label) of what ``node`` may read: the source or a named transcode."""
        found = [("", SOURCE_LABEL)]
        for definition in self.transcodes:
            other = transcode_node(definition)
            node_id = self.ids.get(other, "")
            if node_id and other != node and node_id not in dict(found):
                found.append((node_id, f"{node_id} (transcode {definition})"))
        current = self.inputs.get(node, "")
        if current not in dict(found):
            found.append((current, current))  # kept as saved, so its error shows
        return found

    # -- reading ------------------------------------------------------------------------

    @classmethod
    def from_form(cls, form: FormData) -> WorkflowForm:
        made = cls(
            name=form.get("name"),
            enabled=form.checked("enabled"),
            trigger_bucket=form.get("trigger_bucket"),
            trigger_dir=form.get("trigger_dir"),
            formats=form.get("formats"),
            transcodes=[d for d in map(_int, form.getlist("transcodes")) if d],
            watermarks=[d for d in map(_int, form.getlist("watermarks")) if d],
            snapshot=_int(form.get("snapshot")),
            snapshot_offsets=form.get("snapshot_offsets"),
            sample=_int(form.get("sample")),
            sprite=_int(form.get("sprite")),
            gif=_int(form.get("gif")),
            gif_start=form.get("gif_start", "0"),
            gif_end=form.get("gif_end"),
            output_bucket=form.get("output_bucket"),
            output_dir=form.get("output_dir"),
            notify_type=form.get("notify_type"),
            notify_mode=form.get("notify_mode", "Finish"),
            notify_name=form.get("notify_name"),
            notify_url=form.get("notify_url"),
            notify_secret=form.get("notify_secret"),
            notify_stream=form.get("notify_stream"),
            notify_queue=form.get("notify_queue"),
            priority=form.get("priority", "0"),
            subtasks_mode="json" if form.get("subtasks_mode") == "json" else "form",
            advanced=form.raw("advanced"),
        )
        for node in made.nodes():
            if node_id := form.get(f"id_{node}").strip():
                made.ids[node] = node_id
            if upstream := form.get(f"input_{node}").strip():
                made.inputs[node] = upstream
        return made

    @classmethod
    def from_spec(cls, spec: WorkflowSpec, *, enabled: bool) -> WorkflowForm:
        trigger = spec.trigger
        form = cls(
            name=spec.name,
            enabled=enabled,
            trigger_bucket=trigger.bucket,
            trigger_dir=trigger.dir,
            formats=", ".join(trigger.formats),
            output_bucket=spec.output_bucket,
            output_dir=spec.output_dir,
            priority=str(spec.priority),
        )
        if spec.notify is not None:
            target = spec.notify
            form.notify_type = target.type
            form.notify_mode = target.mode
            form.notify_name = target.name
            form.notify_url = target.url
            form.notify_secret = target.secret
            form.notify_stream = target.stream
            form.notify_queue = target.queue
        if not form._take_subtasks(spec.media_process_task):
            form.subtasks_mode = "json"
            form.advanced = json.dumps(_set(spec.media_process_task), indent=2)
        return form

    def _take_subtasks(self, mpt: MediaProcessTask) -> bool:
        """Fill the sub-task controls from ``mpt``; False if the form cannot express it."""
        if mpt.adaptive_dynamic_streaming_task_set:
            return False  # no controls for ladders yet: edited as JSON
        sets = {name: [_set(item) for item in getattr(mpt, name)] for name in _SIMPLE_KEYS}
        for name, items in sets.items():
            if any(set(item) - _SIMPLE_KEYS[name] for item in items):
                return False
            if name != "transcode_task_set" and len(items) > 1:
                return False
        transcodes = sets["transcode_task_set"]
        marks = [item.get("watermark_set", []) for item in transcodes]
        if any(m != marks[0] for m in marks) or any(
            set(w) != {"definition"} for w in (marks[0] if marks else [])
        ):
            return False
        if any(not item.get("definition") for item in transcodes):
            return False  # raw parameters
        definitions = [item["definition"] for item in transcodes]
        if len(set(definitions)) < len(definitions) and any(
            set(item) & _NODE_KEYS for item in transcodes
        ):
            return False  # the form names a transcode's node by its template
        for item in transcodes:
            self._take_node(transcode_node(item["definition"]), item)
        for node, set_name in _SINGLE_NODES.items():
            for item in sets[set_name]:
                self._take_node(node, item)
        self.transcodes = [item["definition"] for item in transcodes]
        self.watermarks = [w["definition"] for w in (marks[0] if marks else [])]
        for snap in sets["snapshot_by_time_offset_task_set"]:
            self.snapshot = snap["definition"]
            self.snapshot_offsets = ", ".join(snap.get("ext_time_offset_set", []))
        for sample in sets["sample_snapshot_task_set"]:
            self.sample = sample["definition"]
        for sprite in sets["image_sprite_task_set"]:
            self.sprite = sprite["definition"]
        for gif in sets["animated_graphic_task_set"]:
            self.gif = gif["definition"]
            self.gif_start = _number(str(gif.get("start_time_offset", 0)))
            self.gif_end = _number(str(gif.get("end_time_offset", 0)))
        return True

    def _take_node(self, node: str, item: dict[str, Any]) -> None:
        if item.get("id"):
            self.ids[node] = item["id"]
        if item.get("input"):
            self.inputs[node] = item["input"]

    # -- building -----------------------------------------------------------------------

    def to_spec(self) -> WorkflowSpec:
        """The spec the form describes; ``FormErrors`` naming the controls at fault."""
        errors: dict[str, str] = {}
        try:
            priority = int(self.priority or "0")
        except ValueError:
            errors["priority"] = "a whole number from -10 to 10"
            priority = 0
        mpt: object = None
        if self.json_mode:
            try:
                mpt = json.loads(self.advanced)
            except ValueError as exc:
                errors["advanced"] = f"this is not valid JSON: {exc}"
        else:
            mpt = self._media_process_task(errors)
        if errors:
            raise FormErrors(errors)
        data: dict[str, Any] = {
            "name": self.name,
            "trigger": {
                "bucket": self.trigger_bucket,
                "dir": self.trigger_dir,
                "formats": [f for f in (p.strip() for p in self.formats.split(",")) if f],
            },
            "media_process_task": mpt,
            "output_bucket": self.output_bucket,
            "output_dir": self.output_dir,
            "priority": priority,
            "notify": self._notify(),
        }
        return validated(lambda: WorkflowSpec.model_validate(data), self.field_map)

    def _media_process_task(self, errors: dict[str, str]) -> dict[str, Any]:
        marks = [{"definition": d} for d in self.watermarks]
        mpt: dict[str, Any] = {
            "transcode_task_set": [
                self._node(transcode_node(d), {"definition": d, "watermark_set": marks})
                for d in self.transcodes
            ],
        }
        if self.snapshot:
            offsets = [p.strip() for p in self.snapshot_offsets.split(",") if p.strip()]
            mpt["snapshot_by_time_offset_task_set"] = [
                self._node(
                    "snapshot", {"definition": self.snapshot, "ext_time_offset_set": offsets}
                )
            ]
        if self.sample:
            mpt["sample_snapshot_task_set"] = [self._node("sample", {"definition": self.sample})]
        if self.sprite:
            mpt["image_sprite_task_set"] = [self._node("sprite", {"definition": self.sprite})]
        if self.gif:
            try:
                start = float(self.gif_start or "0")
                end = float(self.gif_end or "0")
            except ValueError:
                errors["gif"] = "start and end are seconds, like 0 and 3.5"
            else:
                gif = {"definition": self.gif, "start_time_offset": start, "end_time_offset": end}
                mpt["animated_graphic_task_set"] = [self._node("gif", gif)]
        return mpt

    def _node(self, node: str, item: dict[str, Any]) -> dict[str, Any]:
        """``item`` with the ``id`` and ``input`` the form gives ``node`` (if any)."""
        if node in self.ids:
            item["id"] = self.ids[node]
        if node in self.inputs:
            item["input"] = self.inputs[node]
        return item

    def _notify(self) -> dict[str, Any] | None:
        kind = self.notify_type
        if kind not in NOTIFY_TYPES or not kind:
            return None
        target: dict[str, Any] = {"type": kind, "mode": self.notify_mode or "Finish"}
        if kind == "queue":
            target["name"] = self.notify_name
        else:
            target["url"] = self.notify_url
        if kind == "url" and self.notify_secret:
            target["secret"] = self.notify_secret
        if kind == "redis":
            target["stream"] = self.notify_stream
        if kind == "amqp":
            target["queue"] = self.notify_queue
        return target
