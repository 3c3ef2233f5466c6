"""The hub's tables (SQLAlchemy 2 ORM). Only handoff.repository reads and writes them (others use utcnow)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Agent",
    "AgentSession",
    "Alert",
    "Audit",
    "Base",
    "Compensation",
    "Conversation",
    "Customer",
    "Escalation",
    "FollowUp",
    "Incident",
    "Message",
    "ResponseCandidate",
    "ReviewItem",
    "Team",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, also on SQLite (which stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    plan: Mapped[str] = mapped_column(String(100))
    tier: Mapped[str] = mapped_column(String(50))
    monthly_fee: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    region: Mapped[str] = mapped_column(String(100))
    services: Mapped[list[Any]] = mapped_column(default=list)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(30))
    services: Mapped[list[Any]] = mapped_column(default=list)
    regions: Mapped[list[Any]] = mapped_column(default=list)
    started_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when Alertmanager opened it: the alert group it follows (docs/hub-api.md, "Alerts").
    group_key: Mapped[str | None] = mapped_column(String(1000), index=True)

    # At most one open incident per alert group: two deliveries racing to open one, one wins.
    __table_args__ = (
        Index(
            "uq_incidents_open_group",
            "group_key",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )


class Alert(Base):
    """One firing episode of one Alertmanager alert: its label set's fingerprint and when it started."""

    __tablename__ = "alerts"

    fingerprint: Mapped[str] = mapped_column(String(16), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    # None: seen only resolved, when its group had no incident (kept, so a late firing copy is known stale)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))  # firing | resolved
    ends_at: Mapped[datetime | None]
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    # Routing (handoff/routing.py): who may take what, how much at once, and whether they are there.
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")  # agent | supervisor
    team: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    capacity: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    presence: Mapped[str] = mapped_column(String(10), default="offline", server_default="offline")
    last_assigned_at: Mapped[datetime | None]


class Team(Base):
    """A team and its business hours (handoff/hours.py); agents name it in `team`."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"mon": ["08:00-20:00"], ...}
    holidays: Mapped[list[Any]] = mapped_column(default=list)  # ["2026-12-25", ...]


class FollowUp(Base):
    """A message a waiting customer left with an email address: the team gets back to them."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8), index=True)  # open | done
    created_at: Mapped[datetime]
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class AgentSession(Base):
    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    state: Mapped[str] = mapped_column(String(10), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_customer_message_at: Mapped[datetime | None]
    # Set when the customer went quiet while waiting for or talking with a person (unresolved-silent: never
    # closed for it, listed for follow-up); cleared when they write again.
    silent_since: Mapped[datetime | None]


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # A client's id for its message is used once per conversation (idempotent intake).
        UniqueConstraint("conversation_id", "client_message_id", name="uq_messages_client_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    role: Mapped[str] = mapped_column(String(10))  # customer | bot | agent | system
    text: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # other keys Rasa gave (buttons, image, ...)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    # Customer messages only: the client's id for it (metadata.message_id), and the ids of the messages the
    # hub answered it with (null until answered), so that a retry gets the same answer.
    client_message_id: Mapped[str | None] = mapped_column(String(128))
    answer: Mapped[list[Any] | None] = mapped_column(JSON)


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)  # queued | agent | handed_back | resolved
    reason: Mapped[str] = mapped_column(String(64))
    # What its agent needs (routing), and every transfer: [{"from", "to", "note", "at"}].
    skills: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    team: Mapped[str | None] = mapped_column(String(64))
    transfers: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    apologies: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")  # the bot's, [{"text", "at"}]
    wait_alerted_at: Mapped[datetime | None]  # when its wait in the queue raised the supervisors' alert
    told_position: Mapped[int | None]  # the queue position and expected wait (minutes) the customer was last told
    told_wait: Mapped[int | None]
    summary: Mapped[str] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(Text)
    frustration: Mapped[list[Any]] = mapped_column(default=list)
    frustration_level: Mapped[str] = mapped_column(String(10))
    trajectory: Mapped[dict[str, Any] | None]  # trend, level, score, causes (docs/frustration.md)
    priority: Mapped[int]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Compensation(Base):
    __tablename__ = "compensations"
    __table_args__ = (UniqueConstraint("customer_id", "incident_id", name="uq_compensations_customer_incident"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    rule: Mapped[str] = mapped_column(String(64))  # the policy rule that produced the offer
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # what the customer gets (an override changes it)
    original_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # what the policy produced; never changed
    agent_max_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # the most an agent may set (policy's limit)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    # offered | pending_approval | accepted | declined | approved (handoff.compensations)
    status: Mapped[str] = mapped_column(String(20), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(200))  # customer:<sender> | agent:<username>
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Apology(Base):
    """An apology the bot sent, as it sent it (the agents' ledger; the supervisors' sameness figure)."""

    __tablename__ = "apologies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), index=True)  # the one explaining it
    problem: Mapped[str] = mapped_column(String(200))  # the bot's key for the customer's problem
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ReviewItem(Base):
    """A customer message for the trainers to look at (handoff/review.py): what the bot made of it and why it was
    picked, redacted; then the trainer's label, or discarded. One per message: more reasons join its list."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    text: Mapped[str] = mapped_column(Text)  # redacted; order ids as ORD-00000 at `entities`
    entities: Mapped[list[Any]] = mapped_column(default=list)  # [{"start", "end", "entity"}] in `text`
    context: Mapped[list[Any]] = mapped_column(default=list)  # the turns before it, redacted: [{"role", "text"}]
    reasons: Mapped[list[Any]] = mapped_column(default=list)  # low_confidence | fallback | ambiguous | ...
    note: Mapped[str | None] = mapped_column(Text)  # the agent's, when an agent flagged it
    intent: Mapped[str | None] = mapped_column(String(100))  # what the bot predicted (None: not known yet)
    confidence: Mapped[float | None]
    ranking: Mapped[list[Any]] = mapped_column(default=list)  # [{"name", "confidence"}], best first
    frustration_score: Mapped[float | None]
    frustration_level: Mapped[str | None] = mapped_column(String(10))
    # open | labelled | discarded | exported | conflict (handoff/review.py, "States")
    state: Mapped[str] = mapped_column(String(10), index=True)
    label_intent: Mapped[str | None] = mapped_column(String(100))
    label_frustration: Mapped[str | None] = mapped_column(String(10))
    label_entities: Mapped[list[Any] | None] = mapped_column(JSON)
    conflict: Mapped[str | None] = mapped_column(Text)  # why an export did not write it
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    exported_at: Mapped[datetime | None]


class ResponseCandidate(Base):
    """An agent's reply that worked (handoff/response_candidates.py), redacted, proposed as a bot response; used
    only once a trainer accepted it (with a response name, and the text as the bot should say it) and an export
    wrote it into the domain. One per reply text: the same reply working again counts on it."""

    __tablename__ = "response_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the normalised redacted text
    text: Mapped[str] = mapped_column(Text)  # the agent's reply, redacted
    prompt: Mapped[str] = mapped_column(Text)  # the customer's message it answered, redacted
    reaction: Mapped[str] = mapped_column(Text)  # the customer's next message, redacted
    reaction_intent: Mapped[str | None] = mapped_column(String(100))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))  # the first time it worked
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent: Mapped[str] = mapped_column(String(200))  # who wrote it first (username)
    worked: Mapped[int]  # how many times the reply worked
    # proposed | accepted | rejected | exported (handoff/response_candidates.py, "States")
    state: Mapped[str] = mapped_column(String(10), index=True)
    response: Mapped[str | None] = mapped_column(String(100))  # the trainer's: the response it becomes
    accepted_text: Mapped[str | None] = mapped_column(Text)  # the trainer's: what the bot will say
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    exported_at: Mapped[datetime | None]


class Audit(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))  # customer:<sender> | bot | agent:<username> | hub | cli
    action: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)
