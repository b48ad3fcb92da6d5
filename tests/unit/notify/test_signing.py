"""Webhook HMAC signatures and the compatible API's Sign."""

from __future__ import annotations

import hashlib
import hmac

from reelflow.notify.body import render
from reelflow.notify.signing import (
    mps_sign,
    verify_mps_sign,
    verify_webhook_signature,
    webhook_signature,
)

BODY = b'{"EventType":"WorkflowTask","EventId":"ev-1"}'


def test_webhook_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert webhook_signature("s3cret", 1_700_000_000, BODY) == f"t=1700000000,v1={expected}"


def test_a_receiver_verifies_the_signature_and_rejects_tampering_and_age() -> None:
    header = webhook_signature("s3cret", 1_700_000_000, BODY)
    assert verify_webhook_signature(header, "s3cret", BODY, now=1_700_000_010)
    assert not verify_webhook_signature(header, "other", BODY, now=1_700_000_010)
    assert not verify_webhook_signature(header, "s3cret", BODY + b" ", now=1_700_000_010)
    assert not verify_webhook_signature(header, "s3cret", BODY, now=1_700_000_000 + 301)
    assert not verify_webhook_signature("v1=abc", "s3cret", BODY, now=1_700_000_000)
    assert not verify_webhook_signature("t=x,v1=abc", "s3cret", BODY, now=1_700_000_000)


def test_mps_sign_is_md5_of_timestamp_then_key() -> None:
    assert mps_sign(1_700_000_600, "key") == hashlib.md5(b"1700000600key").hexdigest()


def test_render_adds_an_expiring_sign_only_with_a_notify_key() -> None:
    body = {"EventType": "WorkflowTask", "EventId": "ev-1"}
    assert render(body, "", 1_700_000_000.7) == body
    signed = render(body, "key", 1_700_000_000.7)
    assert signed["Timestamp"] == 1_700_000_600  # send time + 10 minutes, an expiry
    assert signed["Sign"] == mps_sign(1_700_000_600, "key")
    assert "Timestamp" not in body  # the stored body is not changed
    assert verify_mps_sign(signed, "key", now=1_700_000_599)
    assert not verify_mps_sign(signed, "key", now=1_700_000_601)  # expired
    assert not verify_mps_sign(signed, "other", now=1_700_000_000)
    assert not verify_mps_sign(body, "key", now=1_700_000_000)
