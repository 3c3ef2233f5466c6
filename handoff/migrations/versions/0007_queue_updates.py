"""Queue updates: an escalation keeps the position and expected wait its customer was last told, so that the
sweeper tells them again only when these changed a lot.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 18:30:22.105325
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("told_position", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("told_wait", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("told_wait")
        batch_op.drop_column("told_position")
