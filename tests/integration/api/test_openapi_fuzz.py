"""Property-based fuzzing of the REST API from its own OpenAPI document (schemathesis).

Every operation of ``/openapi.json`` is called in-process on the real app over a fresh data
dir (SQLite, the local bucket ``media``, the admin's API key), with schema-valid and
schema-invalid requests and methods the paths do not have. Every response must be no 5xx
and conform to the document: a documented status code, content type, headers and body;
invalid requests refused (4xx), valid ones not refused, unknown methods 405 with the right
``Allow``, and auth enforced. No workflow exists in the data dir, so uploads start nothing
and no FFmpeg runs.

Some bodies have rules JSON Schema cannot state (one of two fields, a size that is 0 or
128..4096, a cursor that must be one the API gave): for those operations a schema-valid
body may be refused, but only with a 400 that names the offending field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from reelflow.config import Settings
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server

pytestmark = pytest.mark.integration

# Small on purpose: 53 operations, each with its coverage cases (boundaries, missing and
# wrong-typed values, other methods) and this many generated ones, every response checked
# with a few probes (no key, a wrong key): about 2500 requests, under a minute on 2 cores.
EXAMPLES = 10

# Operations whose bodies or parameters have rules JSON Schema cannot state.
CROSS_FIELD_RULES = frozenset(
    {
        "POST /v1/tasks",  # one source; workflow_id xor media_process_task; notify per type
        "GET /v1/tasks",  # a cursor must be one the API gave
        "POST /v1/workflows",  # at least one sub-task; notify per type
        "PUT /v1/workflows/{workflow_id}",
        "POST /v1/hooks/s3",  # the S3 event's records
        # no '.'/'..' or empty segments, at most 1024 UTF-8 bytes...
        *(
            f"{method} /v1/buckets/{{bucket}}/objects/{{key}}"
            for method in ("GET", "PUT", "HEAD", "DELETE")
        ),
        *(
            f"{method} /v1/templates/{kind}{suffix}"
            for kind in (
                "Transcode",
                "Watermark",
                "SnapshotByTimeOffset",
                "SampleSnapshot",
                "ImageSprite",
                "AnimatedGraphics",
                "AdaptiveDynamicStreaming",  # a stream info's video xor remove_video...
            )
            for method, suffix in (("POST", ""), ("PUT", "/{definition}"))
        ),
    }
)
RECEIVE = "POST /v1/queues/{queue}/messages:receive"


@pytest.fixture(scope="module")
def fuzz_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerServices]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    with build_server(Settings(data_dir=data_dir, workers=1, max_attempts=1)) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def api_schema(fuzz_runtime: ServerServices) -> schemathesis.BaseSchema:
    assert fuzz_runtime.admin_key is not None
    secret = fuzz_runtime.admin_key.secret_key
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(fuzz_runtime))

    # An auth provider rather than fixed headers: schemathesis then knows the key is real,
    # and checks that requests without it or with a wrong one are refused.
    @schema.auth()
    class AdminKey:
        def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
            return secret

        def set(
            self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext
        ) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 reads ``Node._nodeid``, which pytest 9.2 no longer has.
    request.node._nodeid = request.node.nodeid


def refusals_name_the_field(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Where a schema-valid request may be refused, it is a 400 naming the field (in
    ``fields``, or in the code: ``InvalidParameterValue.Key``)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    if case.method.upper() == "HEAD":
        return None  # no body to name it in
    error = response.json()["error"]
    code = str(error["code"])
    quota = code.startswith("LimitExceeded")  # not a matter of the schema
    named = error.get("fields") or code.startswith("InvalidParameterValue.")
    assert quota or named, f"a valid request was refused naming no field: {error}"
    return None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    if case.operation.label == RECEIVE and isinstance(case.body, dict):
        # A valid long poll of an empty queue waits its full wait_seconds (up to 20 s): ask
        # for no wait instead, which is as valid (an invalid value is left as it is).
        wait = case.body.get("wait_seconds")
        if type(wait) in (int, float) and 0 < wait <= 20 and wait == int(wait):
            case.body = {**case.body, "wait_seconds": 0}
    if case.operation.label in CROSS_FIELD_RULES:
        case.call_and_validate(
            excluded_checks=[positive_data_acceptance],
            additional_checks=[refusals_name_the_field],
        )
    else:
        case.call_and_validate()
