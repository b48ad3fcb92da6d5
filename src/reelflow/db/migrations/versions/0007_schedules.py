"""Schedules: an account's orchestrations (the compatible API's ``CreateSchedule``), apart
from workflows, with their own id sequence.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trigger_bucket", sa.String(255), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_schedules"),
        sa.UniqueConstraint("account_id", "name", name="uq_schedules_account_id_name"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_schedules_account_id_accounts",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_schedules_trigger_bucket_enabled", "schedules", ["trigger_bucket", "enabled"]
    )


def downgrade() -> None:
    op.drop_index("ix_schedules_trigger_bucket_enabled", table_name="schedules")
    op.drop_table("schedules")
