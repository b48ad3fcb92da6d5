"""Accounts and API keys, bucket ownership, custom templates, workflows; tasks get an owner.

Existing tasks keep ``account_id`` NULL: they were made before accounts existed, by an
internal caller. ``tasks.account_id`` has no foreign key because adding one on SQLite means
rebuilding ``tasks``, and dropping the old table would cascade to its sub-tasks and jobs.

Custom template definitions are one sequence for all kinds that starts at 1,000,000
(``presets.CUSTOM_ID_START``) and never hands out a deleted template's number again:
SQLite's AUTOINCREMENT (seeded below) and an identity column on other databases.

Revision ID: 0002
Revises: 0001
Create Date: 2025-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported from reelflow.presets: a migration never changes.
CUSTOM_ID_START = 1_000_000


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=f"fk_{table}_account_id_accounts", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_id", sa.String(64), nullable=False),
        sa.Column("secret_key", sa.String(128), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("secret_id", name="uq_api_keys_secret_id"),
        _account_fk("api_keys"),
    )
    op.create_index("ix_api_keys_secret_hash", "api_keys", ["secret_hash"])
    op.create_index("ix_api_keys_account_id", "api_keys", ["account_id"])

    op.create_table(
        "buckets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_buckets"),
        sa.UniqueConstraint("name", name="uq_buckets_name"),
        _account_fk("buckets"),
    )
    op.create_index("ix_buckets_account_id", "buckets", ["account_id"])

    op.create_table(
        "templates",
        sa.Column(
            "definition",
            sa.Integer(),
            sa.Identity(start=CUSTOM_ID_START),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("comment", sa.String(256), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("definition", name="pk_templates"),
        _account_fk("templates"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_templates_account_id_kind", "templates", ["account_id", "kind"])
    if op.get_bind().dialect.name == "sqlite":
        # AUTOINCREMENT continues after the largest number in sqlite_sequence.
        op.execute(
            sa.text(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('templates', :seq)"
            ).bindparams(seq=CUSTOM_ID_START - 1)
        )

    op.create_table(
        "workflows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trigger_bucket", sa.String(255), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_workflows"),
        sa.UniqueConstraint("account_id", "name", name="uq_workflows_account_id_name"),
        _account_fk("workflows"),
    )
    op.create_index(
        "ix_workflows_trigger_bucket_enabled", "workflows", ["trigger_bucket", "enabled"]
    )

    # Plain ADD COLUMN (no batch copy): SQLite supports it, and copying ``tasks`` would
    # cascade-delete its sub-tasks and jobs.
    op.add_column("tasks", sa.Column("account_id", sa.Integer(), nullable=True))
    op.create_index("ix_tasks_account_id_created_at", "tasks", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tasks_account_id_created_at", table_name="tasks")
    op.drop_column("tasks", "account_id")
    op.drop_index("ix_workflows_trigger_bucket_enabled", table_name="workflows")
    op.drop_table("workflows")
    op.drop_index("ix_templates_account_id_kind", table_name="templates")
    op.drop_table("templates")
    op.drop_index("ix_buckets_account_id", table_name="buckets")
    op.drop_table("buckets")
    op.drop_index("ix_api_keys_account_id", table_name="api_keys")
    op.drop_index("ix_api_keys_secret_hash", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("accounts")
