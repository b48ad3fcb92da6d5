"""Chunk leftovers: the parts of a chunked group that failed or was cancelled, to remove
(issue 19). A row is written with the failure or cancel, deleted once the parts are gone.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chunk_leftovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=255), nullable=False),
        sa.Column("prefix", sa.String(length=1024), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunk_leftovers")),
        sa.UniqueConstraint("bucket", "prefix", name=op.f("uq_chunk_leftovers_bucket_prefix")),
    )
    op.create_index("ix_chunk_leftovers_not_before", "chunk_leftovers", ["not_before"])


def downgrade() -> None:
    op.drop_index("ix_chunk_leftovers_not_before", table_name="chunk_leftovers")
    op.drop_table("chunk_leftovers")
