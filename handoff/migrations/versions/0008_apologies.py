"""Apologies: every apology the bot sends is recorded as it was sent, with the incident that explains it, for the
agents' ledger and the supervisors' sameness figure.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:32:20.868498
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apologies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=True),
        sa.Column("problem", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("apologies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apologies_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_apologies_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("apologies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apologies_incident_id"))
        batch_op.drop_index(batch_op.f("ix_apologies_conversation_id"))

    op.drop_table("apologies")
