"""What an action runs with: the action door's services, the signed-in account and the
request's region."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reelflow.api.mps.params import Params
from reelflow.catalog.accounts import Account, Accounts
from reelflow.catalog.buckets import Buckets
from reelflow.catalog.schedules import Schedules
from reelflow.catalog.templates import Templates
from reelflow.catalog.workflows import Workflows
from reelflow.engine.service import Engine
from reelflow.storage.registry import StorageRegistry
from reelflow.web.services import SourceProbe, UrlReader


@dataclass(frozen=True, kw_only=True)
class ActionServices:
    """The services the actions use, each one of the endpoint's dependencies."""

    accounts: Accounts
    buckets: Buckets
    storages: StorageRegistry
    templates: Templates
    workflows: Workflows
    schedules: Schedules
    engine: Engine
    #: Probes a source now (``DescribeMediaMetaData``), as a task's probe job would.
    probe: SourceProbe
    #: Reads a small URL through the egress policy (an inline watermark's image).
    read_url: UrlReader


@dataclass(frozen=True)
class ActionContext:
    """``region`` is the request's ``X-TC-Region`` (``""`` when the client sent none)."""

    services: ActionServices
    account: Account
    region: str = ""

    def region_of(self, bucket: str) -> str:
        """The region reported for ``bucket``: an S3 bucket's configured region; a local
        bucket has none, so it takes the caller's own region."""
        storages = self.services.storages
        if bucket in storages:
            configured = storages.get(bucket).region
            if configured:
                return configured
        return self.region


Handler = Callable[[ActionContext, Params], dict[str, Any]]
"""An action: its parameters in, its ``Response`` fields (without ``RequestId``) out."""
