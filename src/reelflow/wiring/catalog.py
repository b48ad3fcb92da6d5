"""The catalog step: accounts (the admin made on the first start), bucket owners, templates
workflows and schedules, over one session factory; and the buckets' ownership, from the settings.

Buckets come from the settings (``reelflow.toml``; a local ``media`` always); each
configured bucket not yet owned by an account becomes its configured ``owner``'s (default
``admin``; the account is created if missing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.accounts import ADMIN_ACCOUNT, Account, Accounts, NewKey
from reelflow.catalog.buckets import Buckets
from reelflow.catalog.schedules import Schedules
from reelflow.catalog.templates import Templates
from reelflow.catalog.workflows import Workflows
from reelflow.config.buckets import BucketConfig
from reelflow.net.egress import EgressPolicy
from reelflow.storage.base import Storage
from reelflow.storage.registry import StorageRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Catalog:
    accounts: Accounts
    #: The admin's new key, on the start that created the admin account (else ``None``).
    admin_key: NewKey | None
    admin_account: Account
    buckets: Buckets
    templates: Templates
    workflows: Workflows
    schedules: Schedules


def build_catalog(sessions: sessionmaker[Session], egress: EgressPolicy) -> Catalog:
    accounts = Accounts(sessions)
    admin_key = accounts.ensure_admin()
    admin = accounts.admin()
    if admin is None:  # ensure_admin just made sure there is one
        raise RuntimeError("no admin account after ensure_admin")
    buckets = Buckets(sessions)
    templates = Templates(sessions)
    workflows = Workflows(sessions, templates, buckets, egress=egress)
    schedules = Schedules(sessions, workflows)
    return Catalog(accounts, admin_key, admin, buckets, templates, workflows, schedules)


def own_buckets(
    catalog: Catalog, storages: StorageRegistry, configs: dict[str, BucketConfig]
) -> None:
    """Register each bucket as its configured owner's (an existing owner is kept)."""
    for name in storages.names():
        backend, path = _backend(storages.get(name))
        config = configs.get(name)
        wanted = config.owner if config is not None else ADMIN_ACCOUNT
        owner = _account(catalog, wanted)
        actual = catalog.buckets.ensure(name, owner.id, backend=backend, path=path)
        if actual != owner.id:
            log.warning(
                "bucket %s belongs to account %s, not to its configured owner %r: "
                "ownership is only set when a bucket is first registered",
                name,
                actual,
                wanted,
            )


def _backend(storage: Storage) -> tuple[str, str | None]:
    """How the buckets table describes a configured bucket: backend name and local path."""
    folder = storage.capabilities.folder
    if folder is not None:
        return "local", str(folder)
    return type(storage).__name__.removesuffix("Storage").lower()[:16], None


def _account(catalog: Catalog, name: str) -> Account:
    if name == ADMIN_ACCOUNT:
        return catalog.admin_account
    found = catalog.accounts.get(name)
    if found is not None:
        return found
    log.info("creating account %r, the configured owner of a bucket", name)
    return catalog.accounts.create_account(name)
