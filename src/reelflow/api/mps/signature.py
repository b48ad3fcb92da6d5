"""TC3-HMAC-SHA256: the compatible API's request signature (mps-api.md §2.2).

    Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<YYYY-MM-DD>/mps/tc3_request,
                   SignedHeaders=content-type;host, Signature=<hex>

The server recomputes the signature over the **exact received body bytes** and the
**received header values verbatim** (``Host`` with its port): a proxy that rewrites either
breaks every signature. Checks, each with its own code:

    Authorization or X-TC-Timestamp missing or malformed   AuthFailure.InvalidAuthorization
    |X-TC-Timestamp - now| > 5 minutes                     AuthFailure.SignatureExpire
    SecretId unknown or revoked                            AuthFailure.SecretIdNotFound
    signature (or credential scope) does not match         AuthFailure.SignatureFailure

The functions here are pure; looking up the SecretKey is the caller's (``verify`` takes a
``secret_for`` callable).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from reelflow.api.mps.envelope import MpsError

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "mps"
TERMINATOR = "tc3_request"
MAX_SKEW_SECONDS = 300
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

INVALID_AUTHORIZATION = "AuthFailure.InvalidAuthorization"
SIGNATURE_EXPIRE = "AuthFailure.SignatureExpire"
SECRET_ID_NOT_FOUND = "AuthFailure.SecretIdNotFound"
SIGNATURE_FAILURE = "AuthFailure.SignatureFailure"

_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+)\s+"
    r"Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-fA-F]{64})\s*$"
)
# Headers whose value is signed verbatim (the SDK does not normalize them); any other
# signed header is lower-cased, as Tencent's TC3 documentation specifies.
_VERBATIM = frozenset({"content-type", "host"})

A = TypeVar("A")


@dataclass(frozen=True)
class Authorization:
    """A parsed ``Authorization`` header."""

    secret_id: str
    date: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> Authorization:
    """``MpsError(InvalidAuthorization)`` for anything but a well-formed TC3 header."""
    match = _AUTHORIZATION.match(header.strip())
    if match is None:
        raise MpsError(
            INVALID_AUTHORIZATION,
            "the Authorization header must be 'TC3-HMAC-SHA256 Credential=<SecretId>/<date>/"
            "mps/tc3_request, SignedHeaders=content-type;host, Signature=<hex>'",
        )
    if match["algorithm"] != ALGORITHM:
        raise MpsError(
            INVALID_AUTHORIZATION,
            f"signature algorithm {match['algorithm']!r} is not supported; use {ALGORITHM}",
        )
    parts = match["credential"].split("/")
    if len(parts) != 4 or not all(parts):
        raise MpsError(
            INVALID_AUTHORIZATION,
            "Credential must be '<SecretId>/<YYYY-MM-DD>/<service>/tc3_request'",
        )
    signed = tuple(match["signed"].lower().split(";"))
    if "content-type" not in signed or "host" not in signed:
        raise MpsError(INVALID_AUTHORIZATION, "SignedHeaders must include content-type and host")
    return Authorization(
        secret_id=parts[0],
        date=parts[1],
        service=parts[2],
        terminator=parts[3],
        signed_headers=signed,
        signature=match["signature"].lower(),
    )


_TIMESTAMP_DIGITS = 12


def parse_timestamp(value: str | None, now: float) -> int:
    """The request's ``X-TC-Timestamp``; ``SignatureExpire`` if it is off by > 5 minutes."""
    # Unix seconds have 10 digits until 2286; a longer value is not a time (and a huge one
    # would overflow the float comparison below).
    if value is None or not value.strip().isdigit() or len(value.strip()) > _TIMESTAMP_DIGITS:
        raise MpsError(
            INVALID_AUTHORIZATION, "X-TC-Timestamp must be the request time in Unix seconds"
        )
    timestamp = int(value.strip())
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise MpsError(
            SIGNATURE_EXPIRE,
            f"the request timestamp {timestamp} is more than {MAX_SKEW_SECONDS} s away from "
            f"the server time {int(now)}; check the client's clock",
        )
    return timestamp


def utc_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def canonical_request(
    method: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str:
    """The canonical request. ``headers`` are keyed by lower-case name; ``query`` is the raw
    query string (empty for POST)."""
    lines = []
    for name in signed_headers:
        value = headers.get(name, "")
        lines.append(f"{name}:{value if name in _VERBATIM else value.strip().lower()}\n")
    if headers.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD:
        payload_hash = hashlib.sha256(UNSIGNED_PAYLOAD.encode()).hexdigest()
    else:
        payload_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([method, "/", query, "".join(lines), ";".join(signed_headers), payload_hash])


def string_to_sign(timestamp: int, date: str, service: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/{TERMINATOR}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signature(secret_key: str, date: str, service: str, to_sign: str) -> str:
    """``hex(HMAC(kSigning, StringToSign))`` with the TC3 key derivation."""
    k_date = _hmac(("TC3" + secret_key).encode(), date)
    k_service = _hmac(k_date, service)
    k_signing = _hmac(k_service, TERMINATOR)
    return hmac.new(k_signing, to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    method: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_for: Callable[[str], tuple[A, str] | None],
    now: float,
) -> A:
    """Check a request's TC3 signature; returns what ``secret_for(secret_id)`` gave with the
    key (the account). ``headers`` are keyed by lower-case name. Raises ``MpsError`` with one
    of the four ``AuthFailure`` codes of the module docstring.
    """
    header = headers.get("authorization")
    if not header:
        raise MpsError(
            INVALID_AUTHORIZATION, "this request needs a TC3-HMAC-SHA256 Authorization header"
        )
    auth = parse_authorization(header)
    timestamp = parse_timestamp(headers.get("x-tc-timestamp"), now)
    found = secret_for(auth.secret_id)
    if found is None:
        raise MpsError(
            SECRET_ID_NOT_FOUND, f"no active API key has the SecretId {auth.secret_id!r}"
        )
    owner, secret_key = found
    date = utc_date(timestamp)
    if (auth.date, auth.service, auth.terminator) != (date, SERVICE, TERMINATOR):
        raise MpsError(
            SIGNATURE_FAILURE,
            f"the credential scope must be {date}/{SERVICE}/{TERMINATOR} (the UTC date of "
            f"X-TC-Timestamp), got {auth.date}/{auth.service}/{auth.terminator}",
        )
    canonical = canonical_request(method, query, headers, auth.signed_headers, body)
    expected = signature(
        secret_key, date, SERVICE, string_to_sign(timestamp, date, SERVICE, canonical)
    )
    if not hmac.compare_digest(expected, auth.signature):
        raise MpsError(
            SIGNATURE_FAILURE,
            "the signature does not match: sign the exact body bytes sent, with the Host "
            "header as sent (host:port) and the key's SecretKey",
        )
    return owner
