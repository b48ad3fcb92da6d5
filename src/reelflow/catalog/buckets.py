"""Which account owns which bucket.

The storage registry says how to reach a bucket; this table says whose it is. A bucket of
another account is reported exactly like an unknown one (``BucketNotFound``), so a key never
learns that someone else's bucket exists.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reelflow.db.models import Bucket
from reelflow.db.session import transaction
from reelflow.errors import BucketExists, BucketNotFound

# Checked several times per task submission: built once, run as plain Core (see
# ``accounts._LIVE_KEY``).
_OWNER = select(Bucket.account_id).where(Bucket.name == bindparam("name"))


@dataclass(frozen=True)
class BucketInfo:
    name: str
    account_id: int
    backend: str
    path: str | None
    created_at: datetime


def _info(row: Bucket) -> BucketInfo:
    return BucketInfo(
        name=row.name,
        account_id=row.account_id,
        backend=row.backend,
        path=row.path,
        created_at=row.created_at,
    )


class Buckets:
    """``Buckets(sessions)``: bucket ownership; every method is one transaction."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    def ensure(
        self, name: str, account_id: int, backend: str = "local", path: str | None = None
    ) -> int:
        """Register ``name`` as ``account_id``'s unless it is registered already; returns the
        owner's id (an existing bucket keeps its owner).
        """
        try:
            with transaction(self._sessions, write=True) as session:
                owner = session.scalar(select(Bucket.account_id).where(Bucket.name == name))
                if owner is not None:
                    return owner
                row = Bucket(
                    name=name,
                    account_id=account_id,
                    backend=backend,
                    path=path,
                    created_at=self._clock(),
                )
                session.add(row)
                return account_id
        except IntegrityError:
            # PostgreSQL: another process registered it between our read and insert.
            existing = self.owner(name)
            if existing is None:
                raise
            return existing

    def owner(self, name: str, *, session: Session | None = None) -> int | None:
        """The id of the account owning ``name`` (``None``: no such bucket); read in
        ``session`` if given, else in a transaction of its own."""
        if session is not None:
            owner: int | None = session.connection().scalar(_OWNER, {"name": name})
            return owner
        with transaction(self._sessions, write=False) as own:
            return self.owner(name, session=own)

    def check_access(self, account_id: int, name: str, *, session: Session | None = None) -> None:
        """``BucketNotFound`` unless ``account_id`` owns the bucket ``name`` (read in
        ``session`` if given)."""
        if self.owner(name, session=session) != account_id:
            raise BucketNotFound(f"bucket '{name}' does not exist")

    def create(self, name: str, account_id: int, *, path: str) -> BucketInfo:
        """Register a new local bucket for ``account_id``; ``BucketExists`` if the name is
        taken (by any account: bucket names are global, as in S3)."""
        if self.owner(name) is not None:
            raise BucketExists(f"bucket '{name}' already exists; choose another name")
        try:
            with transaction(self._sessions, write=True) as session:
                row = Bucket(
                    name=name,
                    account_id=account_id,
                    backend="local",
                    path=path,
                    created_at=self._clock(),
                )
                session.add(row)
                session.flush()
                return _info(row)
        except IntegrityError:
            raise BucketExists(f"bucket '{name}' already exists; choose another name") from None

    def local(self) -> builtins.list[BucketInfo]:
        """Every local bucket with a recorded folder (buckets made through the API)."""
        query = select(Bucket).where(Bucket.backend == "local").order_by(Bucket.name)
        with transaction(self._sessions, write=False) as session:
            return [_info(row) for row in session.scalars(query) if row.path]

    def list(self, account_id: int) -> builtins.list[BucketInfo]:
        """The account's buckets by name."""
        query = select(Bucket).where(Bucket.account_id == account_id).order_by(Bucket.name)
        with transaction(self._sessions, write=False) as session:
            return [
                BucketInfo(
                    name=row.name,
                    account_id=row.account_id,
                    backend=row.backend,
                    path=row.path,
                    created_at=row.created_at,
                )
                for row in session.scalars(query)
            ]
