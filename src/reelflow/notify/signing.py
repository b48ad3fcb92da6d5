"""Signatures a receiver checks.

- reelflow's webhook signature: ``X-Reelflow-Signature: t=<unix seconds>,v1=<hex>`` where
  the hex is HMAC-SHA256 with the target's secret over ``f"{t}.{body}"`` (the exact bytes
  sent). ``t`` is the send time: a receiver rejects old values to stop replays.
- the compatible API's: ``Sign = md5_hex(str(Timestamp) + NotifyKey)`` inside the body,
  where ``Timestamp`` is an expiry (send time + 10 minutes).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Reelflow-Signature"
EVENT_ID_HEADER = "X-Reelflow-Event-Id"
MPS_EXPIRY_SECONDS = 600


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Reelflow-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_webhook_signature(
    header: str, secret: str, body: bytes, *, now: float, tolerance: float = 300.0
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` s old."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = webhook_signature(secret, timestamp, body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))


def mps_sign(timestamp: int, notify_key: str) -> str:
    """The compatible API's ``Sign``: lower-case hex MD5 of ``str(Timestamp) + NotifyKey``."""
    # MD5 is what the compatible API specifies for this field; it is not used for security
    # decisions inside reelflow.
    return hashlib.md5(f"{timestamp}{notify_key}".encode(), usedforsecurity=False).hexdigest()


def verify_mps_sign(document: dict[str, object], notify_key: str, *, now: float) -> bool:
    """Whether an event body carries a valid, unexpired ``Sign`` for ``notify_key``."""
    timestamp, sign = document.get("Timestamp"), document.get("Sign")
    if not isinstance(timestamp, int) or not isinstance(sign, str) or now > timestamp:
        return False
    return hmac.compare_digest(mps_sign(timestamp, notify_key), sign)
