"""Notifications: the transactional outbox (events, deliveries, attempts) and the embedded
message queue.

An event row is written in the transaction that changes a task's state; its delivery row
is what the dispatcher claims and retries; each try is an attempt row. Embedded-queue
messages are rows of ``queue_messages`` until a consumer acknowledges (deletes) them.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "notify_events",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("workflow_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_events"),
        sa.UniqueConstraint("task_id", "seq", name="uq_notify_events_task_id_seq"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_notify_events_task_id_tasks", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_notify_events_workflow_id", "notify_events", ["workflow_id"])

    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("target_key", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        _time("give_up_at"),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        _time("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notify_deliveries"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["notify_events.id"],
            name="fk_notify_deliveries_event_id_notify_events",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_notify_deliveries_state_next_attempt_at",
        "notify_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index("ix_notify_deliveries_event_id", "notify_deliveries", ["event_id"])
    op.create_index("ix_notify_deliveries_account_id_id", "notify_deliveries", ["account_id", "id"])

    op.create_table(
        "notify_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _time("started_at"),
        sa.Column("duration_ms", sa.Double(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notify_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notify_deliveries.id"],
            name="fk_notify_attempts_delivery_id_notify_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_notify_attempts_delivery_id", "notify_attempts", ["delivery_id"])

    op.create_table(
        "queue_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        _time("created_at"),
        _time("visible_at"),
        sa.Column("receive_count", sa.Integer(), nullable=False),
        sa.Column("receipt", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_queue_messages"),
    )
    op.create_index(
        "ix_queue_messages_account_id_queue_visible_at",
        "queue_messages",
        ["account_id", "queue", "visible_at"],
    )
    op.create_index("ix_queue_messages_receipt", "queue_messages", ["receipt"])


def downgrade() -> None:
    op.drop_index("ix_queue_messages_receipt", table_name="queue_messages")
    op.drop_index("ix_queue_messages_account_id_queue_visible_at", table_name="queue_messages")
    op.drop_table("queue_messages")
    op.drop_index("ix_notify_attempts_delivery_id", table_name="notify_attempts")
    op.drop_table("notify_attempts")
    op.drop_index("ix_notify_deliveries_account_id_id", table_name="notify_deliveries")
    op.drop_index("ix_notify_deliveries_event_id", table_name="notify_deliveries")
    op.drop_index("ix_notify_deliveries_state_next_attempt_at", table_name="notify_deliveries")
    op.drop_table("notify_deliveries")
    op.drop_index("ix_notify_events_workflow_id", table_name="notify_events")
    op.drop_table("notify_events")
