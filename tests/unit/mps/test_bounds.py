"""Out-of-bounds input through the action endpoint: every one is refused naming its field
(``InvalidParameterValue.<Field>``) or the request part at fault, never ``InternalError``."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import pytest

from tests.clips import TINY_PNG_B64
from tests.unit.mps.conftest import Call, Credentials, TestClient, error_code
from tests.unit.mps.tc3 import signed_headers
from tests.unit.mps.test_tasks import process
from tests.unit.mps.test_templates import TRANSCODE


def post_raw(
    client: TestClient, creds: Credentials, action: str, body: bytes, **headers: str
) -> dict[str, Any]:
    signed = signed_headers(action, body, creds.secret_id, creds.secret_key)
    response = client.post("/", content=body, headers={**signed, **headers})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()["Response"]
    return answer


# A 1x1 PNG whose compressed picture data is damaged: its header alone looks fine.
BROKEN_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def png_declaring(width: int, height: int) -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()


def test_a_timestamp_of_400_digits_is_an_invalid_authorization(
    client: TestClient, admin: Credentials
) -> None:
    answer = post_raw(client, admin, "DescribeTasks", b"{}", **{"X-TC-Timestamp": "9" * 400})
    assert error_code(answer) == "AuthFailure.InvalidAuthorization"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"WorkflowIds": [10**30]}, "InvalidParameterValue.WorkflowIds"),
        ({"WorkflowIds": [-(10**30)]}, "InvalidParameterValue.WorkflowIds"),
        ({"Offset": 10**30}, "InvalidParameterValue.Offset"),
        ({"Offset": "1" * 30}, "InvalidParameterValue.Offset"),
        ({"Offset": 1e308}, "InvalidParameterValue.Offset"),
        ({"Limit": 2**63}, "InvalidParameterValue.Limit"),
    ],
)
def test_integers_beyond_64_bits_name_their_field(
    call: Call, params: dict[str, Any], code: str
) -> None:
    assert error_code(call("DescribeWorkflows", params)) == code


def test_a_5000_digit_bitrate_names_the_bitrate(client: TestClient, admin: Credentials) -> None:
    # json.dumps cannot write it (Python refuses ints of more than 4300 digits): splice it.
    body = json.dumps(TRANSCODE).replace('"Bitrate": 300', '"Bitrate": ' + "7" * 5000)
    answer = post_raw(client, admin, "CreateTranscodeTemplate", body.encode())
    assert error_code(answer) == "InvalidParameterValue.Bitrate"


def test_a_body_nested_100000_deep_is_an_invalid_parameter(
    client: TestClient, admin: Credentials
) -> None:
    body = b'{"Offset": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert error_code(post_raw(client, admin, "DescribeWorkflows", body)) == "InvalidParameter"


@pytest.mark.parametrize(
    "content",
    [
        "not base64 at all!",
        base64.b64encode(b"GIF89a not a png").decode(),
        png_declaring(30000, 30000),  # 70 bytes declaring 900 megapixels
        png_declaring(5000, 10),  # wider than 4096
        BROKEN_PNG,
    ],
)
def test_a_watermark_image_is_checked_at_creation(call: Call, content: str) -> None:
    template = {"Type": "image", "XPos": "10px", "ImageTemplate": {"ImageContent": content}}
    answer = call("CreateWatermarkTemplate", template)
    assert error_code(answer) == "InvalidParameterValue.ImageContent"
    assert "ImageTemplate.ImageContent" in answer["Error"]["Message"]


def test_a_valid_watermark_image_is_accepted(call: Call) -> None:
    template = {"Type": "image", "XPos": "10px", "ImageTemplate": {"ImageContent": TINY_PNG_B64}}
    assert "Definition" in call("CreateWatermarkTemplate", template)


@pytest.mark.parametrize(
    ("offsets", "field"),
    [
        ({"StartTimeOffset": -5, "EndTimeOffset": 1e308}, "EndTimeOffset"),
        ({"StartTimeOffset": 10, "EndTimeOffset": 2}, "EndTimeOffset"),
        ({"StartTimeOffset": -2, "EndTimeOffset": -5}, "EndTimeOffset"),
        ({"StartTimeOffset": -1e308}, "StartTimeOffset"),
    ],
)
def test_transcode_time_offsets_are_bounded_and_ordered(
    call: Call, offsets: dict[str, float], field: str
) -> None:
    task = {"Definition": 100010, **offsets}
    answer = call("ProcessMedia", process(MediaProcessTask={"TranscodeTaskSet": [task]}))
    assert error_code(answer) == f"InvalidParameterValue.{field}"


def test_watermark_time_offsets_are_ordered(call: Call) -> None:
    image = {"Type": "image", "XPos": "10px", "ImageTemplate": {"ImageContent": TINY_PNG_B64}}
    definition = call("CreateWatermarkTemplate", image)["Definition"]
    mark = {"Definition": definition, "StartTimeOffset": 10, "EndTimeOffset": 2}
    task = {"Definition": 100010, "WatermarkSet": [mark]}
    answer = call("ProcessMedia", process(MediaProcessTask={"TranscodeTaskSet": [task]}))
    assert error_code(answer) == "InvalidParameterValue.EndTimeOffset"
    assert "WatermarkSet.0.EndTimeOffset" in answer["Error"]["Message"]


def test_offsets_counted_from_either_end_are_still_accepted(call: Call) -> None:
    task = {"Definition": 100010, "StartTimeOffset": -5, "EndTimeOffset": -1}
    assert "TaskId" in call("ProcessMedia", process(MediaProcessTask={"TranscodeTaskSet": [task]}))


@pytest.mark.parametrize("definition", [10**30, "1" * 30, 2**63])
def test_a_definition_beyond_64_bits_names_the_definition(call: Call, definition: object) -> None:
    task = {"Definition": definition}
    answer = call("ProcessMedia", process(MediaProcessTask={"TranscodeTaskSet": [task]}))
    assert error_code(answer) == "InvalidParameterValue.Definition"
    answer = call("DescribeTranscodeTemplates", {"Definitions": [definition]})
    assert error_code(answer) == "InvalidParameterValue.Definitions"


@pytest.mark.parametrize("depth", [300, 600, 900])
def test_a_body_nested_just_below_the_parser_limit_is_no_internal_error(
    client: TestClient, admin: Credentials, depth: int
) -> None:
    nested = b"[" * depth + b"]" * depth
    body = b'{"InputInfo": {"Type": "COS", "CosInputInfo": ' + nested + b"}}"
    answer = post_raw(client, admin, "ProcessMedia", body)
    assert error_code(answer) != "InternalError", answer
    answer = post_raw(
        client, admin, "CreateTranscodeTemplate", b'{"VideoTemplate": ' + nested + b"}"
    )
    assert error_code(answer) != "InternalError", answer
