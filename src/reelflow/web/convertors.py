"""Path convertors of the REST API, registered once before the routers compile their paths.

``objectkey``: the rest of the path, newlines included. Starlette's ``path`` convertor is
``.*``, which stops at a newline, so a key with ``%0A`` would match no route (404) instead
of reaching key validation (400 ``InvalidParameterValue.Key``, which names the control
character).

``segment``: one path segment without ``:``. Custom methods share their resource's path
(``/v1/tasks/{id}`` and ``/v1/tasks/{id}:cancel``): with Starlette's default ``[^/]+``,
``PUT /v1/workflows/1:enable`` would match ``PUT /v1/workflows/{workflow_id}`` with the id
``1:enable`` (a 400) instead of being a method the path does not have (405).

Registering a convertor is Starlette's only hook for this; it happens when a router module
is imported, because routes compile their path patterns when they are declared.
"""

from __future__ import annotations

from starlette.convertors import (
    CONVERTOR_TYPES,
    PathConvertor,
    StringConvertor,
    register_url_convertor,
)

OBJECT_KEY = "objectkey"
SEGMENT = "segment"


class ObjectKeyConvertor(PathConvertor):
    regex = r"[\s\S]*"


class SegmentConvertor(StringConvertor):
    regex = r"[^/:]+"


def register() -> None:
    if OBJECT_KEY not in CONVERTOR_TYPES:
        register_url_convertor(OBJECT_KEY, ObjectKeyConvertor())
    if SEGMENT not in CONVERTOR_TYPES:
        register_url_convertor(SEGMENT, SegmentConvertor())
