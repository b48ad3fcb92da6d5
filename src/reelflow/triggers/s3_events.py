"""The S3 event receiver behind ``POST /v1/hooks/s3``.

Accepts the S3 event notification JSON that AWS S3, MinIO (webhook target) and compatible
stores send: ``{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name"},
"object": {"key", "eTag", "versionId", "sequencer"}}}]}``. The same JSON wrapped in an SNS
notification (``{"Type": "Notification", "Message": "<json>"}``) is unwrapped; S3's test
event is accepted and ignored. Keys arrive URL-encoded (``+`` for a space) and are decoded.
Only ``ObjectCreated:*`` records fire; others (removals...) are ignored.

**Authentication** (``Authorization: Bearer <token>``), either of:

* the bucket's ``hook_token`` from ``reelflow.toml`` (what a MinIO webhook target's
  ``auth_token`` sends), good for the buckets configured with that token;
* an API key's secret, good for the buckets its account owns.

A record for a configured bucket the credential does not cover refuses the whole request
(403, nothing fired). A record for no configured bucket (another S3 bucket, or outside the
bucket's ``prefix``) is ignored with a reason.

An S3 bucket name maps to the reelflow bucket(s) configured with it; with a ``prefix`` the
key must start with it, and the reelflow key is the rest.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from reelflow.errors import SpecError
from reelflow.triggers.base import ObjectNotice, Origin


@dataclass(frozen=True)
class S3Record:
    """One record of an event: which S3 object, which event."""

    event: str
    s3_bucket: str
    key: str  # decoded
    etag: str
    version_id: str = ""
    sequencer: str = ""


@dataclass(frozen=True)
class S3Target:
    """How an S3 bucket+prefix maps to a reelflow bucket, and its shared hook token."""

    name: str
    s3_bucket: str
    prefix: str = ""
    hook_token: str = ""


@dataclass
class Resolved:
    """Records sorted into notices to fire and ignored ones (index, reason)."""

    notices: list[ObjectNotice] = field(default_factory=list)
    ignored: list[tuple[int, str]] = field(default_factory=list)
    buckets: set[str] = field(default_factory=set)


def parse_event(body: Any) -> list[S3Record]:
    """The records of an S3 event notification; ``SpecError`` for anything else."""
    if isinstance(body, Mapping) and body.get("Type") == "Notification":
        try:
            body = json.loads(str(body.get("Message", "")))
        except json.JSONDecodeError:
            raise SpecError("the SNS Message is not JSON", field="Message") from None
    if isinstance(body, Mapping) and body.get("Event") == "s3:TestEvent":
        return []
    if not isinstance(body, Mapping) or not isinstance(body.get("Records"), list):
        raise SpecError(
            "expected an S3 event notification: an object with a 'Records' list",
            field="Records",
        )
    return [_record(i, raw) for i, raw in enumerate(body["Records"])]


def _record(index: int, raw: Any) -> S3Record:
    where = f"Records[{index}]"
    try:
        s3 = raw["s3"]
        bucket = s3["bucket"]["name"]
        obj = s3["object"]
        key = obj["key"]
    except (KeyError, TypeError):
        raise SpecError(
            f"{where}: needs s3.bucket.name and s3.object.key", field=f"{where}.s3"
        ) from None
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise SpecError(f"{where}: bucket name and key must be strings", field=f"{where}.s3")
    return S3Record(
        event=str(raw.get("eventName", "")),
        s3_bucket=bucket,
        key=unquote_plus(key),
        etag=str(obj.get("eTag") or obj.get("ETag") or "").strip('"'),
        version_id=str(obj.get("versionId") or ""),
        sequencer=str(obj.get("sequencer") or ""),
    )


def is_created(event: str) -> bool:
    """``ObjectCreated:Put`` (AWS) and ``s3:ObjectCreated:Put`` (MinIO) both count."""
    return event.removeprefix("s3:").startswith("ObjectCreated:")


def resolve(records: Sequence[S3Record], targets: Sequence[S3Target]) -> Resolved:
    """Map records to reelflow buckets and keys."""
    out = Resolved()
    for index, record in enumerate(records):
        if not is_created(record.event):
            out.ignored.append((index, f"event {record.event or '(none)'} is not ObjectCreated"))
            continue
        hits = [
            t
            for t in targets
            if t.s3_bucket == record.s3_bucket and record.key.startswith(t.prefix)
        ]
        if not hits:
            out.ignored.append((index, f"no bucket is configured for s3://{record.s3_bucket}"))
            continue
        for target in hits:
            key = record.key[len(target.prefix) :]
            version = record.etag or None
            out.notices.append(ObjectNotice(target.name, key, version, Origin.S3_EVENT))
            out.buckets.add(target.name)
    return out


def token_buckets(token: str, targets: Sequence[S3Target]) -> set[str]:
    """The buckets whose configured ``hook_token`` is ``token`` (compared in constant time)."""
    return {
        t.name
        for t in targets
        if t.hook_token and hmac.compare_digest(t.hook_token.encode(), token.encode())
    }
