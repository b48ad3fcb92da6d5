"""Where media comes from and where it goes: the compatible API's storages on reelflow's
configured buckets.

    CosInputInfo {Bucket, Region, Object}      ->  the configured bucket named Bucket
    S3InputInfo {S3Bucket, S3Region, S3Object} ->  the configured S3 bucket named S3Bucket
    UrlInputInfo {Url}                         ->  an http(s) source
    CosOutputStorage / S3OutputStorage         ->  an output bucket by name ("" = inherit)

A bucket must be configured and owned by the caller's account, else
``ResourceNotFound.CosBucketNotExist``. An S3 bucket's configured region must equal the
request's ``Region``; a local bucket has no region and accepts any. Credentials in the
request (``S3SecretId``/``S3SecretKey``) are refused: reelflow reaches S3 with the
credentials of the bucket's configuration.
"""

from __future__ import annotations

from typing import Any

from reelflow.api.mps.context import ActionContext
from reelflow.api.mps.envelope import MpsError
from reelflow.api.mps.params import Params, invalid, is_empty, missing, unsupported
from reelflow.compat.outputs import storage_info
from reelflow.errors import InvalidKey
from reelflow.object_keys import validate_key
from reelflow.specs.requests import TaskSource

BUCKET_NOT_EXIST = "ResourceNotFound.CosBucketNotExist"
INVALID_URL = "InvalidParameter.InvalidUrl"
_S3_CREDENTIALS = ("S3SecretId", "S3SecretKey")
_S3_HINT = "reelflow reaches S3 with the credentials in the bucket's configuration"


def bucket(ctx: ActionContext, name: str, region: str, path: str) -> str:
    """``name`` if it is a configured bucket of the caller in ``region`` (if given)."""
    services = ctx.services
    if name not in services.storages or services.buckets.owner(name) != ctx.account.id:
        raise MpsError(BUCKET_NOT_EXIST, f"{path}: bucket {name!r} does not exist")
    configured = services.storages.get(name).region
    if configured and region and region != configured:
        raise MpsError(
            BUCKET_NOT_EXIST,
            f"{path}: bucket {name!r} is in region {configured!r}, not {region!r}",
        )
    return name


def s3_bucket(ctx: ActionContext, p: Params) -> str:
    """The configured S3 bucket that an ``S3InputInfo``/``S3OutputStorage`` names."""
    for secret in _S3_CREDENTIALS:
        if not is_empty(p.raw(secret)):
            raise unsupported(p.where(secret), _S3_HINT)
    name = p.text("S3Bucket", required=True)
    region = p.text("S3Region", required=True)
    found = bucket(ctx, name, region, p.where("S3Bucket"))
    if not ctx.services.storages.get(found).region:
        raise unsupported(
            p.where("S3Bucket"), f"bucket {name!r} is not an S3 bucket; use Type COS for it"
        )
    return found


def object_key(value: str, path: str) -> str:
    """``/movie/a.mov`` -> ``movie/a.mov``, validated."""
    try:
        return validate_key(value.removeprefix("/"))
    except InvalidKey as exc:
        raise invalid(path, exc.message) from None


def source(ctx: ActionContext, p: Params) -> TaskSource:
    """The task source of a ``MediaInputInfo``."""
    kind = p.text("Type", required=True)
    if kind == "COS":
        p.only(("Type", "CosInputInfo"))
        cos = p.obj("CosInputInfo", required=True)
        assert cos is not None
        cos.only(("Bucket", "Region", "Object"))
        name = bucket(
            ctx,
            cos.text("Bucket", required=True),
            cos.text("Region", required=True),
            cos.where("Bucket"),
        )
        key = object_key(cos.text("Object", required=True), cos.where("Object"))
        return TaskSource(type="bucket", bucket=name, key=key)
    if kind == "URL":
        p.only(("Type", "UrlInputInfo"))
        url = p.obj("UrlInputInfo", required=True)
        assert url is not None
        url.only(("Url",))
        address = url.text("Url", required=True, max_length=4096)
        if not address.startswith(("http://", "https://")) or any(c.isspace() for c in address):
            raise MpsError(INVALID_URL, f"{url.where('Url')}: must be an http:// or https:// URL")
        return TaskSource(type="url", url=address)
    if kind == "AWS-S3":
        p.only(("Type", "S3InputInfo"))
        s3 = p.obj("S3InputInfo", required=True)
        assert s3 is not None
        s3.only(("S3Bucket", "S3Region", "S3Object", *_S3_CREDENTIALS))
        name = s3_bucket(ctx, s3)
        key = object_key(s3.text("S3Object", required=True), s3.where("S3Object"))
        return TaskSource(type="bucket", bucket=name, key=key)
    if kind == "VOD":
        raise unsupported(p.where("Type") + " VOD", "use COS, URL or AWS-S3")
    raise invalid(p.where("Type"), f"must be COS, URL or AWS-S3, got {kind!r}")


def output_bucket(ctx: ActionContext, p: Params | None) -> str:
    """The bucket a ``TaskOutputStorage`` names; ``""`` = inherit from the enclosing level."""
    if p is None:
        return ""
    kind = p.text("Type", required=True)
    if kind == "COS":
        p.only(("Type", "CosOutputStorage"))
        cos = p.obj("CosOutputStorage")
        if cos is None:
            raise missing(p.where("CosOutputStorage"))
        cos.only(("Bucket", "Region"))
        name = cos.text("Bucket")
        return bucket(ctx, name, cos.text("Region"), cos.where("Bucket")) if name else ""
    if kind == "AWS-S3":
        p.only(("Type", "S3OutputStorage"))
        s3 = p.obj("S3OutputStorage", required=True)
        assert s3 is not None
        s3.only(("S3Bucket", "S3Region", *_S3_CREDENTIALS))
        return s3_bucket(ctx, s3)
    if kind == "VOD":
        raise unsupported(p.where("Type") + " VOD", "use COS or AWS-S3")
    raise invalid(p.where("Type"), f"must be COS or AWS-S3, got {kind!r}")


def storage_spec(ctx: ActionContext, p: Params) -> dict[str, Any]:
    """A sub-task's ``OutputStorage`` in the spec models' shape (S3 storages become the
    COS storage of the same bucket)."""
    name = output_bucket(ctx, p)
    return storage_info(name, ctx.region_of(name) if name else "")


def output_dir(p: Params, name: str) -> str:
    """An ``OutputDir``: ``""`` (the default) or an absolute folder ``/…/``, kept as given
    (``TaskRequest`` reads ``/`` as the bucket's root)."""
    value = p.text(name, max_length=1024)
    if value and not (value.startswith("/") and value.endswith("/")):
        raise invalid(p.where(name), f"must start and end with '/', got {value!r}")
    if value.strip("/"):
        try:
            validate_key(value.strip("/"))
        except InvalidKey as exc:
            raise invalid(p.where(name), exc.message) from None
    return value


def request_regions(
    ctx: ActionContext,
    data: Any,
    buckets: list[str],
    known: dict[str, str] | None = None,
) -> dict[str, str] | None:
    """The Region of each bucket the request names (and of ``buckets``): as sent beside it
    (``CosInputInfo``, ``CosOutputStorage``, ``S3...``), else as ``known`` (a stored
    schedule's) says, else as an answer would say (``ctx.region_of``); ``known``'s other
    buckets are kept."""
    sent: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for name_key, region_key in (("Bucket", "Region"), ("S3Bucket", "S3Region")):
                name, region = node.get(name_key), node.get(region_key)
                if isinstance(name, str) and name and isinstance(region, str) and region:
                    sent.setdefault(name, region)
                if isinstance(name, str) and name:
                    buckets.append(name)
            for value in node.values():
                walk(value)

    walk(data)
    known = known or {}
    regions = dict(known)
    for name in dict.fromkeys(buckets):
        if name:
            regions[name] = sent.get(name) or known.get(name) or ctx.region_of(name)
    regions = {b: r for b, r in regions.items() if r}
    return regions or None
