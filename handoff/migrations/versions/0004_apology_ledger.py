"""The agent's ledger: an escalation keeps the apologies the bot made before it ([{"text", "at"}]), shown in
the handoff packet with the offers made, so that nobody apologises or compensates twice.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 17:26:28.929215
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("apologies", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("apologies")
