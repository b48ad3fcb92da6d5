"""Queue messages: an index on (account_id, queue, event_id), which ``put`` looks up to
skip an event already waiting in the queue (without it, every put scanned the queue).

Revision ID: 0005
Revises: 0004
Create Date: 2025-03-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_queue_messages_account_id_queue_event_id",
        "queue_messages",
        ["account_id", "queue", "event_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_queue_messages_account_id_queue_event_id", table_name="queue_messages")
