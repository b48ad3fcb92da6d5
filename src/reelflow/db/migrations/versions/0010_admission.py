"""Admission (issue 21): an index to count an account's unfinished tasks as one range.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tasks_account_id_state", "tasks", ["account_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_tasks_account_id_state", table_name="tasks")
