"""Accounts and their API keys.

A key is a pair: ``secret_id`` (``AKID`` + 32 letters and digits, public, names the key) and
``secret_key`` (the secret). Native clients send ``Authorization: Bearer <secret_key>``; the
key is found by the SHA-256 of the secret (indexed) and the hashes compared in constant time.

The secret itself is **stored retrievable**, not only hashed: the compatible API signs
requests with TC3-HMAC-SHA256, where the server must recompute the HMAC from the raw
SecretKey (``secret_for``). Anyone who can read the database can therefore act as any key;
protect the database (and ``admin-key.json``) like a password file. Revoked keys stay in the
table (``revoked_at`` set) so their ids are never reused and listings show them.

Every method is one transaction; accounts are never deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reelflow.db.models import Account as AccountRow
from reelflow.db.models import ApiKey
from reelflow.db.session import transaction
from reelflow.errors import KeyNotFound, SpecError, StateError

ADMIN_ACCOUNT = "admin"
SECRET_ID_PREFIX = "AKID"
_ALPHABET = string.ascii_letters + string.digits
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    is_admin: bool

    @classmethod
    def of(cls, row: AccountRow) -> Account:
        return cls(id=row.id, name=row.name, is_admin=row.is_admin)


@dataclass(frozen=True)
class NewKey:
    """A key just created: the only time ``secret_key`` is handed out by a listing."""

    secret_id: str
    secret_key: str
    account: Account


@dataclass(frozen=True)
class KeyInfo:
    """A key as listings show it: never the secret."""

    secret_id: str
    account_name: str
    created_at: datetime
    revoked_at: datetime | None


# Every request authenticates: the key and its account in one query, built once (building a
# statement and its cache key each time cost more than running it) and run as plain Core,
# without ORM objects.
_LIVE_KEY = (
    select(
        ApiKey.secret_hash, ApiKey.secret_id, AccountRow.id, AccountRow.name, AccountRow.is_admin
    )
    .join(AccountRow, ApiKey.account_id == AccountRow.id)
    .where(ApiKey.secret_hash == bindparam("secret_hash"), ApiKey.revoked_at.is_(None))
    .limit(1)
)


def hash_secret(secret_key: str) -> str:
    return hashlib.sha256(secret_key.encode()).hexdigest()


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise SpecError(
            f"invalid account name {name!r}: 1-64 letters, digits and _.@- "
            "starting with a letter or digit",
            code="InvalidParameterValue.Name",
            field="name",
        )


class Accounts:
    """``Accounts(sessions)``: create accounts and keys, authenticate requests."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    def ensure_admin(self) -> NewKey | None:
        """On the first start, create the ``admin`` account and one key and return the key;
        ``None`` when an admin account already exists (also when another process just made it).
        """
        try:
            with transaction(self._sessions, write=True) as session:
                found = session.scalar(select(AccountRow.id).where(AccountRow.is_admin))
                if found is not None:
                    return None
                account = self._add_account(session, ADMIN_ACCOUNT, is_admin=True)
                return self._add_key(session, account)
        except IntegrityError:
            # PostgreSQL: a concurrent start created it between our check and insert.
            return None

    def admin(self) -> Account | None:
        """The admin account, if one exists."""
        with transaction(self._sessions, write=False) as session:
            row = session.scalars(
                select(AccountRow).where(AccountRow.is_admin).order_by(AccountRow.id).limit(1)
            ).first()
            return None if row is None else Account.of(row)

    def create_account(self, name: str) -> Account:
        """A new (non-admin) account; ``StateError`` if the name is taken."""
        _check_name(name)
        with transaction(self._sessions, write=True) as session:
            if self._find(session, name) is not None:
                raise StateError(
                    f"an account named {name!r} already exists",
                    code="FailedOperation.AccountExists",
                )
            return Account.of(self._add_account(session, name, is_admin=False))

    def get(self, name: str) -> Account | None:
        with transaction(self._sessions, write=False) as session:
            row = self._find(session, name)
            return None if row is None else Account.of(row)

    def create_key(self, account_name: str) -> NewKey:
        """A new key for ``account_name``, creating the account if it does not exist."""
        _check_name(account_name)
        with transaction(self._sessions, write=True) as session:
            row = self._find(session, account_name)
            if row is None:
                row = self._add_account(session, account_name, is_admin=False)
            return self._add_key(session, row)

    def list_keys(self, account_name: str | None = None) -> list[KeyInfo]:
        """Every key (of one account, or of all), oldest first; revoked ones included."""
        query = select(ApiKey, AccountRow.name).join(AccountRow, ApiKey.account_id == AccountRow.id)
        if account_name is not None:
            query = query.where(AccountRow.name == account_name)
        with transaction(self._sessions, write=False) as session:
            rows = session.execute(query.order_by(ApiKey.id)).all()
            return [
                KeyInfo(
                    secret_id=key.secret_id,
                    account_name=name,
                    created_at=key.created_at,
                    revoked_at=key.revoked_at,
                )
                for key, name in rows
            ]

    def revoke(self, secret_id: str) -> None:
        """Revoke a key at once; revoking a revoked key does nothing. ``KeyNotFound``."""
        with transaction(self._sessions, write=True) as session:
            key = session.scalar(select(ApiKey).where(ApiKey.secret_id == secret_id))
            if key is None:
                raise KeyNotFound(f"no API key with SecretId {secret_id!r}")
            if key.revoked_at is None:
                key.revoked_at = self._clock()

    def authenticate(self, secret_key: str) -> Account | None:
        """The account of a live key with this secret (bearer auth), else ``None``."""
        found = self.authenticate_key(secret_key)
        return None if found is None else found[0]

    def authenticate_key(self, secret_key: str) -> tuple[Account, str] | None:
        """The account and ``secret_id`` of the live key with this secret, else ``None``;
        one query, as :meth:`authenticate` (the console's sign-in names the key)."""
        if not secret_key:
            return None
        wanted = hash_secret(secret_key)
        with transaction(self._sessions, write=False) as session:
            row = session.connection().execute(_LIVE_KEY, {"secret_hash": wanted}).first()
        if row is None or not hmac.compare_digest(row.secret_hash, wanted):
            return None
        return Account(id=row.id, name=row.name, is_admin=row.is_admin), row.secret_id

    def secret_for(self, secret_id: str) -> tuple[Account, str] | None:
        """The account and raw secret of a live key, to check a TC3 signature; else ``None``."""
        with transaction(self._sessions, write=False) as session:
            key = session.scalar(
                select(ApiKey).where(ApiKey.secret_id == secret_id, ApiKey.revoked_at.is_(None))
            )
            if key is None:
                return None
            return Account.of(key.account), key.secret_key

    # -- rows -----------------------------------------------------------------------------

    @staticmethod
    def _find(session: Session, name: str) -> AccountRow | None:
        return session.scalar(select(AccountRow).where(AccountRow.name == name))

    def _add_account(self, session: Session, name: str, *, is_admin: bool) -> AccountRow:
        row = AccountRow(name=name, is_admin=is_admin, created_at=self._clock())
        session.add(row)
        session.flush()
        return row

    def _add_key(self, session: Session, account: AccountRow) -> NewKey:
        secret_key = _random(32)
        key = ApiKey(
            secret_id=SECRET_ID_PREFIX + _random(32),
            secret_key=secret_key,
            secret_hash=hash_secret(secret_key),
            account_id=account.id,
            created_at=self._clock(),
        )
        session.add(key)
        session.flush()
        return NewKey(secret_id=key.secret_id, secret_key=secret_key, account=Account.of(account))
