"""Claims at depth (issue 21): each job repeats its task's account, and the claim index
serves the claim order exactly (state, account, priority descending, age, id), so a claim
costs the same at any queue depth; the lease sweep gets its own index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("account_id", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE jobs SET account_id = COALESCE("
        "(SELECT tasks.account_id FROM tasks WHERE tasks.id = jobs.task_id), 0)"
    )
    op.drop_index("ix_jobs_state_priority_created_at", table_name="jobs")
    op.create_index(
        "ix_jobs_claim",
        "jobs",
        ["state", "account_id", sa.text("priority DESC"), "created_at", "id"],
    )
    op.create_index("ix_jobs_state_lease_expires_at", "jobs", ["state", "lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_lease_expires_at", table_name="jobs")
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index(
        "ix_jobs_state_priority_created_at", "jobs", ["state", "priority", "created_at"]
    )
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("account_id")
