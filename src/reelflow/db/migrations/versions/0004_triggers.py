"""Triggers: the ledger of object versions that started a workflow, the keys reelflow
writes itself, and the checkpoints of pollers and watchers.

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "triggered_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("version", sa.String(1024), nullable=False),
        sa.Column("object_hash", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(40), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_triggered_objects"),
        sa.UniqueConstraint(
            "workflow_id", "object_hash", name="uq_triggered_objects_workflow_id_object_hash"
        ),
    )
    op.create_index("ix_triggered_objects_task_id", "triggered_objects", ["task_id"])

    op.create_table(
        "own_outputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(40), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_own_outputs"),
    )
    op.create_index("ix_own_outputs_key_hash", "own_outputs", ["key_hash"])

    op.create_table(
        "trigger_checkpoints",
        sa.Column("bucket", sa.String(255), nullable=False),
        _time("floor", nullable=True),
        _time("watermark", nullable=True),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("bucket", name="pk_trigger_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("trigger_checkpoints")
    op.drop_index("ix_own_outputs_key_hash", table_name="own_outputs")
    op.drop_table("own_outputs")
    op.drop_index("ix_triggered_objects_task_id", table_name="triggered_objects")
    op.drop_table("triggered_objects")
