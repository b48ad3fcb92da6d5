"""TC3-HMAC-SHA256: the module against an independent signer, a pinned vector, the SDK's own
signing function, and each failure code."""

from __future__ import annotations

import hashlib

import pytest
from tencentcloud.common.sign import Sign

from reelflow.api.mps import signature
from reelflow.api.mps.envelope import MpsError
from tests.unit.mps.tc3 import signed_headers, tc3_signature

SECRET_ID = "AKIDtest0000000000000000000000000000"
SECRET_KEY = "secret-key-for-tests"
BODY = b'{"Status": "FINISH", "Limit": 5}'
NOW = 1_700_000_000  # 2023-11-14T22:13:20Z
# Computed once with tests/unit/mps/tc3.py and checked against the SDK's Sign.sign_tc3.
PINNED = "2a6f43754a67eca14c5417a3d0f1eb080f66a3e6cc4ace3094b6989826deeb43"


def headers(**options: object) -> dict[str, str]:
    raw = signed_headers(
        "DescribeTasks",
        BODY,
        SECRET_ID,
        SECRET_KEY,
        host="127.0.0.1:8080",
        timestamp=NOW,
        **options,
    )  # type: ignore[arg-type]
    return {name.lower(): value for name, value in raw.items()}


def lookup(secret_id: str) -> tuple[str, str] | None:
    return ("account", SECRET_KEY) if secret_id == SECRET_ID else None


def verify(h: dict[str, str], body: bytes = BODY, now: float = NOW) -> str:
    return signature.verify("POST", "", h, body, lookup, now)


def test_matches_the_independent_signer() -> None:
    date = signature.utc_date(NOW)
    canonical = signature.canonical_request("POST", "", headers(), ("content-type", "host"), BODY)
    ours = signature.signature(
        SECRET_KEY, date, "mps", signature.string_to_sign(NOW, date, "mps", canonical)
    )
    assert ours == tc3_signature(SECRET_KEY, NOW, "127.0.0.1:8080", BODY)


def test_matches_the_sdk_signing_function() -> None:
    date = signature.utc_date(NOW)
    canonical = signature.canonical_request("POST", "", headers(), ("content-type", "host"), BODY)
    to_sign = signature.string_to_sign(NOW, date, "mps", canonical)
    assert signature.signature(SECRET_KEY, date, "mps", to_sign) == Sign.sign_tc3(
        SECRET_KEY, date, "mps", to_sign
    )


def test_pinned_vector() -> None:
    assert tc3_signature(SECRET_KEY, NOW, "127.0.0.1:8080", BODY) == PINNED


def test_canonical_request_layout() -> None:
    canonical = signature.canonical_request("POST", "", headers(), ("content-type", "host"), BODY)
    assert canonical.split("\n") == [
        "POST",
        "/",
        "",
        "content-type:application/json",
        "host:127.0.0.1:8080",
        "",  # the canonical headers end in a newline
        "content-type;host",
        hashlib.sha256(BODY).hexdigest(),
    ]


def test_a_good_signature_gives_the_owner() -> None:
    assert verify(headers()) == "account"


def test_unsigned_payload() -> None:
    h = headers()
    h["x-tc-content-sha256"] = "UNSIGNED-PAYLOAD"
    canonical = signature.canonical_request("POST", "", h, ("content-type", "host"), b"ignored")
    assert canonical.endswith(hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest())


def code_of(h: dict[str, str], body: bytes = BODY, now: float = NOW) -> str:
    with pytest.raises(MpsError) as caught:
        verify(h, body, now)
    return caught.value.code


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h.update(host="127.0.0.1:9090"),  # Host as received, port included
        lambda h: h.update({"content-type": "application/json; charset=utf-8"}),
    ],
)
def test_changed_signed_header_fails(change: object) -> None:
    h = headers()
    change(h)  # type: ignore[operator]
    assert code_of(h) == "AuthFailure.SignatureFailure"


def test_changed_body_fails() -> None:
    # The exact bytes: the same JSON with other spacing is another body.
    assert code_of(headers(), body=b'{"Status":"FINISH","Limit":5}') == (
        "AuthFailure.SignatureFailure"
    )


def test_wrong_key_fails() -> None:
    raw = signed_headers(
        "DescribeTasks", BODY, SECRET_ID, "not-the-key", host="127.0.0.1:8080", timestamp=NOW
    )
    assert code_of({k.lower(): v for k, v in raw.items()}) == "AuthFailure.SignatureFailure"


def test_scope_of_another_service_fails() -> None:
    h = headers()
    h["authorization"] = h["authorization"].replace("/mps/", "/cvm/")
    assert code_of(h) == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("skew", [301, -301, 3600])
def test_skew_over_five_minutes_expires(skew: int) -> None:
    assert code_of(headers(), now=NOW + skew) == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize("skew", [300, -300, 0])
def test_skew_within_five_minutes_is_accepted(skew: int) -> None:
    assert verify(headers(), now=NOW + skew) == "account"


def test_unknown_secret_id() -> None:
    h = headers()
    h["authorization"] = h["authorization"].replace(SECRET_ID, "AKIDunknown")
    assert code_of(h) == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer abc",
        "TC3-HMAC-SHA256 Credential=x",
        "HMAC-SHA1 Credential=a/b/mps/tc3_request, SignedHeaders=content-type;host, "
        "Signature=" + "0" * 64,
        "TC3-HMAC-SHA256 Credential=a/b, SignedHeaders=content-type;host, Signature=" + "0" * 64,
        "TC3-HMAC-SHA256 Credential=a/b/mps/tc3_request, SignedHeaders=host, Signature=" + "0" * 64,
        "TC3-HMAC-SHA256 Credential=a/b/mps/tc3_request, SignedHeaders=content-type;host, "
        "Signature=xyz",
    ],
)
def test_malformed_authorization(authorization: str) -> None:
    h = headers()
    h["authorization"] = authorization
    assert code_of(h) == "AuthFailure.InvalidAuthorization"


@pytest.mark.parametrize("stamp", [None, "", "soon", "-5"])
def test_malformed_timestamp(stamp: str | None) -> None:
    h = headers()
    if stamp is None:
        del h["x-tc-timestamp"]
    else:
        h["x-tc-timestamp"] = stamp
    assert code_of(h) == "AuthFailure.InvalidAuthorization"


def test_other_signed_headers_are_lowercased() -> None:
    h = headers()
    h["x-tc-action"] = " DescribeTasks "
    canonical = signature.canonical_request(
        "POST", "", h, ("content-type", "host", "x-tc-action"), BODY
    )
    assert "x-tc-action:describetasks\n" in canonical
