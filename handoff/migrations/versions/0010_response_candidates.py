"""Response candidates: agents' replies that worked, redacted, proposed as bot responses for a trainer to accept
or reject (handoff/response_candidates.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "response_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("reaction", sa.Text(), nullable=False),
        sa.Column("reaction_intent", sa.String(length=100), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("worked", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("response", sa.String(length=100), nullable=True),
        sa.Column("accepted_text", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("response_candidates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_candidates_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_response_candidates_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("response_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_candidates_state"))
        batch_op.drop_index(batch_op.f("ix_response_candidates_conversation_id"))

    op.drop_table("response_candidates")
