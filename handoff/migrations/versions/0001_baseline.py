"""Baseline: the schema the hub made with metadata.create_all before migrations (handoff/migrations/baseline.py).

A database made then has these tables and no alembic_version; handoff.migrations.adopt stamps it here.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

from handoff.migrations.baseline import metadata

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The statements create_all emits (also as text: `alembic upgrade head --sql`).
    for table in metadata.sorted_tables:
        op.execute(CreateTable(table))
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            op.execute(CreateIndex(index))


def downgrade() -> None:
    for table in reversed(metadata.sorted_tables):
        op.execute(DropTable(table))
