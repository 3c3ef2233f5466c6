"""Idempotent intake: a customer message keeps the client's id for it (unique per conversation) and the ids of
the messages it was answered with, so that a retry gets the same answer (docs/hub-api.md, "Delivery and resume").

On SQLite the unique constraint is added by copying the messages table (batch mode); on PostgreSQL in place.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 16:42:32.737562
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_message_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("answer", sa.JSON(), nullable=True))
        batch_op.create_unique_constraint("uq_messages_client_message_id", ["conversation_id", "client_message_id"])


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_client_message_id", type_="unique")
        batch_op.drop_column("answer")
        batch_op.drop_column("client_message_id")
