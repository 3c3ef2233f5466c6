"""Time rules (handoff/sweeper.py): a conversation whose customer went quiet is marked silent (unresolved-silent)
and an escalation that waited too long in the queue records when it alerted the supervisors.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 17:28:52.074584
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("silent_since", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wait_alerted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("wait_alerted_at")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("silent_since")
