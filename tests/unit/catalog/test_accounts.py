"""Accounts and API keys: the admin key on first start, bearer and TC3 lookups, revocation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelflow.catalog.accounts import Accounts, hash_secret
from reelflow.db.models import ApiKey
from reelflow.errors import KeyNotFound, SpecError, StateError
from tests.unit.engine.fakes import FakeClock

SECRET_ID = re.compile(r"^AKID[A-Za-z0-9]{32}$")


def test_first_start_creates_the_admin_and_one_key(accounts: Accounts) -> None:
    key = accounts.ensure_admin()
    assert key is not None
    assert SECRET_ID.match(key.secret_id)
    assert len(key.secret_key) == 32 and key.secret_key.isalnum()
    assert key.account.name == "admin" and key.account.is_admin
    assert accounts.authenticate(key.secret_key) == key.account
    # Later starts create nothing.
    assert accounts.ensure_admin() is None
    assert [k.secret_id for k in accounts.list_keys()] == [key.secret_id]
    assert accounts.admin() == key.account


def test_create_key_creates_the_account_when_missing(accounts: Accounts) -> None:
    first = accounts.create_key("carol")
    second = accounts.create_key("carol")
    assert first.account == second.account
    assert not first.account.is_admin
    assert first.secret_id != second.secret_id and first.secret_key != second.secret_key
    listed = accounts.list_keys("carol")
    assert [k.secret_id for k in listed] == [first.secret_id, second.secret_id]
    assert all(k.account_name == "carol" and k.revoked_at is None for k in listed)
    assert accounts.list_keys("nobody") == []


def test_listings_never_carry_the_secret(accounts: Accounts) -> None:
    key = accounts.create_key("carol")
    (info,) = accounts.list_keys()
    assert key.secret_key not in repr(info)
    assert not hasattr(info, "secret_key")


def test_bearer_authentication(accounts: Accounts) -> None:
    key = accounts.create_key("carol")
    assert accounts.authenticate(key.secret_key) == key.account
    assert accounts.authenticate(key.secret_key + "x") is None
    assert accounts.authenticate(key.secret_id) is None  # the id is not the secret
    assert accounts.authenticate("") is None


def test_the_secret_is_stored_for_tc3_and_its_hash_for_bearer(
    accounts: Accounts, db: DbEngine
) -> None:
    key = accounts.create_key("carol")
    assert accounts.secret_for(key.secret_id) == (key.account, key.secret_key)
    assert accounts.secret_for("AKIDunknown") is None
    with Session(db) as session:
        row = session.scalars(select(ApiKey)).one()
        assert row.secret_hash == hash_secret(key.secret_key)
        assert len(row.secret_hash) == 64


def test_revoked_keys_fail_at_once(accounts: Accounts, clock: FakeClock) -> None:
    kept = accounts.create_key("carol")
    gone = accounts.create_key("carol")
    accounts.revoke(gone.secret_id)
    accounts.revoke(gone.secret_id)  # again: nothing happens
    assert accounts.authenticate(gone.secret_key) is None
    assert accounts.secret_for(gone.secret_id) is None
    assert accounts.authenticate(kept.secret_key) == kept.account
    revoked = {k.secret_id: k.revoked_at for k in accounts.list_keys("carol")}
    assert revoked == {kept.secret_id: None, gone.secret_id: clock.now}


def test_revoking_an_unknown_key(accounts: Accounts) -> None:
    with pytest.raises(KeyNotFound) as info:
        accounts.revoke("AKIDnope")
    assert info.value.code == "ResourceNotFound.SecretIdNotExist"
    assert "AKIDnope" in info.value.message


def test_account_names_are_unique_and_checked(accounts: Accounts) -> None:
    accounts.create_account("carol")
    with pytest.raises(StateError) as taken:
        accounts.create_account("carol")
    assert taken.value.code == "FailedOperation.AccountExists"
    for bad in ("", "has space", "-dash", "x" * 65):
        with pytest.raises(SpecError) as info:
            accounts.create_account(bad)
        assert info.value.field == "name"
    assert accounts.get("carol") is not None
    assert accounts.get("nobody") is None


def test_an_existing_admin_means_no_new_key(accounts: Accounts) -> None:
    assert accounts.ensure_admin() is not None
    accounts.create_key("carol")
    assert accounts.ensure_admin() is None
    assert len(accounts.list_keys("admin")) == 1


def test_authenticate_key_names_the_key(accounts: Accounts) -> None:
    first = accounts.create_key("alice")
    second = accounts.create_key("alice")
    assert accounts.authenticate_key(second.secret_key) == (second.account, second.secret_id)
    assert accounts.authenticate_key(first.secret_key) == (first.account, first.secret_id)
    assert accounts.authenticate_key(second.secret_id) is None
    assert accounts.authenticate_key("") is None
    accounts.revoke(second.secret_id)
    assert accounts.authenticate_key(second.secret_key) is None
