"""Routing: agents get a role (agent | supervisor), a team, skills, a capacity, a presence and when they were
last assigned; escalations the skills and team they need and their transfers (handoff/routing.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 16:54:21.782695
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="agent", nullable=False))
        batch_op.add_column(sa.Column("team", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("skills", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), server_default="3", nullable=False))
        batch_op.add_column(sa.Column("presence", sa.String(length=10), server_default="offline", nullable=False))
        batch_op.add_column(sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skills", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("team", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("transfers", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("transfers")
        batch_op.drop_column("team")
        batch_op.drop_column("skills")

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("last_assigned_at")
        batch_op.drop_column("presence")
        batch_op.drop_column("capacity")
        batch_op.drop_column("skills")
        batch_op.drop_column("team")
        batch_op.drop_column("role")
