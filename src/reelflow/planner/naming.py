"""Output object names: the compatible API's placeholders and defaults (mps-api.md §8)."""

from __future__ import annotations

import re

from reelflow.errors import InvalidKey, SpecError
from reelflow.object_keys import validate_key
from reelflow.specs.tasks import NumberFormat

DEFAULT_PATHS = {
    "Transcode": "{inputName}_transcode_{definition}.{format}",
    "TranscodeSegment": "{inputName}_transcode_{definition}_{number}.{format}",
    "AnimatedGraphics": "{inputName}_animatedGraphic_{definition}.{format}",
    "SnapshotByTimeOffset": "{inputName}_snapshotByTimeOffset_{definition}_{number}.{format}",
    "SampleSnapshot": "{inputName}_sampleSnapshot_{definition}_{number}.{format}",
    "ImageSprites": "{inputName}_imageSprite_{definition}_{number}.{format}",
    "ImageSpritesVtt": "{inputName}_imageSprite_{definition}.{format}",
    "AdaptiveDynamicStreaming": "{inputName}_adaptiveDynamicStreaming_{definition}.{format}",
    "AdaptiveSubStream": "{inputName}_adaptiveDynamicStreaming_{definition}_{subStreamNumber}"
    ".{format}",
    "AdaptiveSegment": "{inputName}_adaptiveDynamicStreaming_{definition}_{subStreamNumber}"
    "_{segmentNumber}.{format}",
}

_DEFAULT_NUMBER = NumberFormat()
_PLACEHOLDER = re.compile(r"\{(inputName|inputFormat|definition|format|number)\}")


def split_name(name: str) -> tuple[str, str]:
    """``"a.b.mp4"`` -> (``"a.b"``, ``"mp4"``); no extension -> (name, "")."""
    base = name.rsplit("/", 1)[-1]
    if "." in base.strip("."):
        stem, ext = base.rsplit(".", 1)
        return stem, ext
    return base, ""


def render(
    pattern: str,
    *,
    input_name: str,
    definition: int,
    fmt: str,
    number: int | str | None = None,
    number_format: NumberFormat | None = None,
) -> str:
    """Fill the placeholders of ``pattern`` in one pass: a value is never scanned again, so
    a source named ``clip{format}.mov`` keeps ``{format}`` in its output name.

    ``number`` is an index written with ``number_format``, or a string used as it is (HLS
    passes ``"%d"`` for the segment number). Without it, ``{number}`` is left in place.
    """
    stem, ext = split_name(input_name)
    values = {
        "inputName": stem,
        "inputFormat": ext,
        "definition": str(definition),
        "format": fmt,
    }
    if isinstance(number, str):
        values["number"] = number
    elif number is not None:
        values["number"] = (number_format or _DEFAULT_NUMBER).format(number)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), pattern)


def object_key(output_dir: str, path: str) -> str:
    """A relative path goes under ``output_dir``; one starting with ``/`` is bucket-absolute."""
    if path.startswith("/"):
        return path.lstrip("/")
    return (output_dir.lstrip("/") + path).lstrip("/")


def key_folder(key: str) -> str:
    """The folder of ``key`` with its trailing ``/`` (``"a/b/c.mp4"`` -> ``"a/b/"``), or ``""``."""
    return key[: key.rfind("/") + 1]


def check_custom_path(path: str, *, numbered: bool, field: str = "output_object_path") -> None:
    """A custom output path must end with ``.{format}``; numbered kinds need ``{number}``.

    ``field`` names the request field holding ``path`` in the ``SpecError`` raised.
    """
    if not path.endswith(".{format}"):
        raise SpecError(f"{field} {path!r} must end with '.{{format}}'", field=field)
    sample = render(path, input_name="name.mp4", definition=1, fmt="mp4", number=0)
    try:
        validate_key(sample.lstrip("/"))
    except InvalidKey as exc:
        raise SpecError(
            f"{field} {path!r} is not a valid object key: {exc.message}", field=field
        ) from None
    if numbered and "{number}" not in path:
        raise SpecError(
            f"{field} {path!r} must contain '{{number}}': this task writes several files",
            field=field,
        )


def check_relative_name(name: str, placeholders: tuple[str, ...], field: str) -> None:
    """A sub-stream or segment name (placed beside the main output): no folder, ending with
    ``.{format}``, holding every placeholder in ``placeholders``; ``SpecError`` otherwise."""
    if "/" in name or "\\" in name:
        raise SpecError(f"{field} {name!r} must be a file name without a folder", field=field)
    if not name.endswith(".{format}"):
        raise SpecError(f"{field} {name!r} must end with '.{{format}}'", field=field)
    missing = [p for p in placeholders if p not in name]
    if missing:
        raise SpecError(f"{field} {name!r} must contain {' and '.join(missing)}", field=field)
