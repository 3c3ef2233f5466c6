"""The schema of revision 0001 (the baseline): the hub's tables as `metadata.create_all` made them before
migrations existed. Frozen: it must never follow handoff.models again; later changes are revisions.

Plain Table objects, column for column and index for index what handoff.models declared then, so that
`create_all` of this metadata emits the very DDL the old hub emitted (tests/handoff/test_migrations.py
compares the two databases' sqlite_master). handoff.migrations.adopt also checks a database from before
migrations against it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["metadata"]

metadata = sa.MetaData()


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A timezone-aware time (handoff.models.UTCDateTime stores DateTime(timezone=True))."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=nullable)


sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("plan", sa.String(100), nullable=False),
    sa.Column("tier", sa.String(50), nullable=False),
    sa.Column("monthly_fee", sa.Numeric(10, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("region", sa.String(100), nullable=False),
    _json("services"),
)

sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("severity", sa.String(30), nullable=False),
    _json("services"),
    _json("regions"),
    _at("started_at"),
    _at("resolved_at", nullable=True),
    _json("facts"),
    sa.Column("group_key", sa.String(1000), nullable=True, index=True),
    # At most one open incident per alert group.
    sa.Index(
        "uq_incidents_open_group",
        "group_key",
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    ),
)

sa.Table(
    "alerts",
    metadata,
    sa.Column("fingerprint", sa.String(16), primary_key=True),
    sa.Column("starts_at", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), nullable=True, index=True),
    sa.Column("status", sa.String(10), nullable=False),
    _at("ends_at", nullable=True),
    _json("labels"),
)

sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(100), nullable=False),
    _at("created_at"),
)

sa.Table(
    "agent_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=False, index=True),
    _at("created_at"),
    _at("last_seen_at"),
    _at("expires_at"),
    _at("ended_at", nullable=True),
)

sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("sender", sa.String(128), nullable=False, unique=True),
    sa.Column("customer_id", sa.String(32), sa.ForeignKey("customers.id"), nullable=True),
    sa.Column("state", sa.String(10), nullable=False, index=True),
    sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
    _at("created_at"),
    _at("updated_at"),
    _at("last_customer_message_at", nullable=True),
)

sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    _json("extra"),
    sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
    _at("created_at"),
    _at("delivered_at", nullable=True),
    sa.Index("ix_messages_conversation_id_id", "conversation_id", "id"),
)

sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False, index=True),
    sa.Column("state", sa.String(12), nullable=False, index=True),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("problem", sa.Text(), nullable=True),
    _json("frustration"),
    sa.Column("frustration_level", sa.String(10), nullable=False),
    _json("trajectory", nullable=True),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
    _at("created_at"),
    _at("claimed_at", nullable=True),
    _at("closed_at", nullable=True),
)

sa.Table(
    "compensations",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("customer_id", sa.String(32), sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("amount", sa.Numeric(10, 2), nullable=False),
    sa.Column("original_amount", sa.Numeric(10, 2), nullable=False),
    sa.Column("agent_max_amount", sa.Numeric(10, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("decided_by", sa.String(200), nullable=True),
    _at("decided_at", nullable=True),
    _at("created_at"),
    _at("updated_at"),
    sa.UniqueConstraint("customer_id", "incident_id", name="uq_compensations_customer_incident"),
)

sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    _at("at"),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=True, index=True),
    _json("detail"),
)
