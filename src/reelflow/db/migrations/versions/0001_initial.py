"""Tasks, sub-tasks and jobs.

Written by hand to match ``reelflow.db.models`` at this revision (a test compares the two).
Migrations never import the models: a later model change must not rewrite history.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(50), nullable=False),
        sa.Column("session_context", sa.Text(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("media_info", sa.JSON(), nullable=True),
        sa.Column("err_code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _time("created_at"),
        _time("started_at", nullable=True),
        _time("finished_at", nullable=True),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
    )
    op.create_index("ix_tasks_state_created_at", "tasks", ["state", "created_at"])
    op.create_index("ix_tasks_session_id", "tasks", ["session_id"])
    op.create_index("ix_tasks_workflow_id", "tasks", ["workflow_id"])

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("subtasks", sa.JSON(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        _time("lease_expires_at", nullable=True),
        _time("not_before"),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("err_code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _time("created_at"),
        _time("started_at", nullable=True),
        _time("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_jobs_task_id_tasks", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_jobs_state_priority_created_at", "jobs", ["state", "priority", "created_at"]
    )
    op.create_index("ix_jobs_task_id", "jobs", ["task_id"])

    op.create_table(
        "subtasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("err_code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("started_at", nullable=True),
        _time("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_subtasks"),
        sa.UniqueConstraint("task_id", "index", name="uq_subtasks_task_id_index"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_subtasks_task_id_tasks", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_subtasks_job_id_jobs", ondelete="SET NULL"
        ),
    )


def downgrade() -> None:
    op.drop_table("subtasks")
    op.drop_index("ix_jobs_task_id", table_name="jobs")
    op.drop_index("ix_jobs_state_priority_created_at", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_tasks_workflow_id", table_name="tasks")
    op.drop_index("ix_tasks_session_id", table_name="tasks")
    op.drop_index("ix_tasks_state_created_at", table_name="tasks")
    op.drop_table("tasks")
