"""Sub-tasks: ``quality``, a scored rendition's VMAF/PSNR/SSIM (issue 18).

Kept apart from ``output`` (the compatible API's output item), whose shape the SDK fixes. A
nullable column added in place: existing rows were not scored.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("subtasks", sa.Column("quality", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subtasks") as batch:
        batch.drop_column("quality")
