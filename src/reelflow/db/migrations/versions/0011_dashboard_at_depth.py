"""The dashboard at depth (issue 21): an index that gives an account's finished tasks per
hour and state from the index alone (``TaskStats.finished_by_hour``), however many tasks
finished in the last day.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_account_id_finished_at_state", "tasks", ["account_id", "finished_at", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_account_id_finished_at_state", table_name="tasks")
