"""What an action runs with: the runtime, the signed-in account and the request's region."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reelflow.api.mps.params import Params
from reelflow.catalog.accounts import Account
from reelflow.runtime import Runtime


@dataclass(frozen=True)
class ActionContext:
    """``region`` is the request's ``X-TC-Region`` (``""`` when the client sent none)."""

    runtime: Runtime
    account: Account
    region: str = ""

    def region_of(self, bucket: str) -> str:
        """The region reported for ``bucket``: an S3 bucket's configured region; a local
        bucket has none, so it takes the caller's own region."""
        if bucket in self.runtime.storages:
            configured = self.runtime.storages.get(bucket).region
            if configured:
                return configured
        return self.region


Handler = Callable[[ActionContext, Params], dict[str, Any]]
"""An action: its parameters in, its ``Response`` fields (without ``RequestId``) out."""
