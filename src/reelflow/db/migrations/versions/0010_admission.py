"""Admission, retention and lists at depth (issue 21): indexes that serve an account's task
lists in their exact order, overall and by state (the latter also counts an account's
unfinished tasks as one range), the deferred triggers (a workflow or schedule triggered
over the limit, started later), and an index to find the oldest finished tasks.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Lists at depth: each index serves its list's order exactly (ties by id included).
    op.drop_index("ix_tasks_account_id_created_at", table_name="tasks")
    op.create_index(
        "ix_tasks_account_id_created_at_id", "tasks", ["account_id", "created_at", "id"]
    )
    op.create_index(
        "ix_tasks_account_id_state_created_at_id",
        "tasks",
        ["account_id", "state", "created_at", "id"],
    )
    op.create_index("ix_tasks_finished_at", "tasks", ["finished_at"])
    op.create_table(
        "deferred_triggers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.Boolean(), nullable=False),
        sa.Column("bucket", sa.String(length=255), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=1024), nullable=False),
        sa.Column("object_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deferred_triggers")),
        sa.UniqueConstraint(
            "workflow_id", "object_hash", name=op.f("uq_deferred_triggers_workflow_id_object_hash")
        ),
    )
    op.create_index("ix_deferred_triggers_account_id_id", "deferred_triggers", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_deferred_triggers_account_id_id", table_name="deferred_triggers")
    op.drop_table("deferred_triggers")
    op.drop_index("ix_tasks_finished_at", table_name="tasks")
    op.drop_index("ix_tasks_account_id_state_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_account_id_created_at_id", table_name="tasks")
    op.create_index("ix_tasks_account_id_created_at", "tasks", ["account_id", "created_at"])
