"""The ``objectkey`` path convertor: the rest of the path, newlines included.

Starlette's ``path`` convertor is ``.*``, which stops at a newline, so a key with ``%0A``
would match no route (404) instead of reaching key validation (400
``InvalidParameterValue.Key``, which names the control character). Registering a convertor
is Starlette's only hook for this; it happens once, when the objects router is imported,
because routes compile their path patterns when they are declared.
"""

from __future__ import annotations

from starlette.convertors import CONVERTOR_TYPES, PathConvertor, register_url_convertor

OBJECT_KEY = "objectkey"


class ObjectKeyConvertor(PathConvertor):
    regex = r"[\s\S]*"


def register() -> None:
    if OBJECT_KEY not in CONVERTOR_TYPES:
        register_url_convertor(OBJECT_KEY, ObjectKeyConvertor())
