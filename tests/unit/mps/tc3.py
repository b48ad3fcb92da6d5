"""An independent TC3-HMAC-SHA256 signer for tests (written from mps-api.md §2.2, sharing
no code with ``reelflow.api.mps.signature``)."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(
    secret_key: str, timestamp: int, host: str, body: bytes, content_type: str = "application/json"
) -> str:
    date = datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/mps/tc3_request",
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        ]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), "mps"), "tc3_request")
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_headers(
    action: str,
    body: bytes,
    secret_id: str,
    secret_key: str,
    *,
    host: str = "testserver",
    timestamp: int | None = None,
    version: str = "2019-06-12",
    region: str = "ap-guangzhou",
) -> dict[str, str]:
    """Every header the official SDK sends, signed."""
    stamp = int(time.time()) if timestamp is None else timestamp
    date = datetime.fromtimestamp(stamp, tz=UTC).date().isoformat()
    signature = tc3_signature(secret_key, stamp, host, body)
    headers = {
        "Content-Type": "application/json",
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(stamp),
        "X-TC-Region": region,
        "Authorization": (
            f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/mps/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        ),
    }
    if not region:
        del headers["X-TC-Region"]
    return headers
