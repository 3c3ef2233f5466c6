"""All of the hub's database access. ORM rows never leave this module: callers get schemas records.

Each public method is one transaction. The requests of a relayed conversation (a customer's or an agent's
message, a poll, an agent's token, a waiting customer's place) are SQLAlchemy Core statements built once; on a
SQLite file their transactions run whole in a thread (Repository._run), the others through the ORM over aiosqlite.
Writes that race (claims, escalations, first messages, compensation records) are decided by the database: a
conditional UPDATE whose row count names the single winner, or a UNIQUE constraint; edits that read a row first
(incident edits, compensation decisions) take the row's write lock before reading it. No in-process locks decide
anything (on SQLite an asyncio lock only queues this process's writes), so several hub processes can share a store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy
from pydantic import BaseModel
from sqlalchemy import CursorResult, Table, bindparam, event, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from handoff import compensations, migrations, models, routing, service
from handoff.alertmanager import (
    AlertmanagerPayload,
    Episode,
    changed_episodes,
    incident_severity,
    incident_title,
    services_and_regions,
)
from handoff.candidate_store import CandidateStore
from handoff.customer_tokens import ANONYMOUS, SIGNED_IN_CUSTOMER_ONLY, Claim
from handoff.errors import Conflict, NotFound, Unauthorized
from handoff.review_store import ReviewStore
from handoff.schemas import (
    Agent,
    AgentProfile,
    AgentSeed,
    Compensation,
    CompensationAnswer,
    CompensationBody,
    CompensationOverrideBody,
    Conversation,
    Customer,
    Escalation,
    EscalationBody,
    FollowUp,
    Incident,
    IncidentBody,
    IncidentFacts,
    IncidentFactsBody,
    IncidentUpdateBody,
    Message,
    Team,
    TransferBody,
)
from handoff.supervision_store import SupervisionStore

__all__ = ["QueueFacts", "QueueItem", "Received", "Repository", "create_engine"]

logger = logging.getLogger(__name__)

ONLINE_WINDOW = timedelta(minutes=5)  # an agent whose console called the hub this recently is online
SEEN_RESOLUTION = timedelta(seconds=30)  # last_seen_at is written at most this often per session
OPEN_ESCALATION = ("queued", "agent")


SQLITE_BEGIN = "candor_sqlite_begin"  # execution option: how a SQLite transaction begins (IMMEDIATE by default)


def create_engine(database_url: str, *, busy_timeout: float = 5.0) -> AsyncEngine:
    """An async engine; for SQLite: the folder created, a busy timeout (seconds), WAL mode, foreign keys, and
    writes serialised at their start.

    SQLite's driver would BEGIN lazily, so a transaction that read first had to upgrade its read snapshot to
    the write lock mid-way, which fails at once (SQLITE_BUSY, "database is locked") if another connection,
    in any process, wrote since: no busy timeout helps. Here the driver begins nothing and every transaction
    starts with BEGIN IMMEDIATE, which waits (up to the busy timeout) for the write lock, so writes run one
    at a time; a transaction with execution option SQLITE_BEGIN="DEFERRED" (the repository's reads) takes
    no lock and reads one snapshot. Other databases are left as their URL configures them.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    _configure_sqlite(engine.sync_engine, busy_timeout)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    """The pragmas of every new connection, and BEGIN IMMEDIATE (or SQLITE_BEGIN's mode) at each transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver emits no BEGIN; _on_begin does
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
        _use_wal(cursor, busy_timeout)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode not in ("IMMEDIATE", "DEFERRED"):
            raise ValueError(f"{SQLITE_BEGIN} must be IMMEDIATE or DEFERRED, got {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _use_wal(cursor: Any, busy_timeout: float) -> None:
    """Put the file in WAL mode (it stays so). Switching needs the file to itself, and SQLite answers "database
    is locked" at once rather than waiting when others open it at the same moment (hubs starting together on a
    new file), so this tries again until the busy timeout, and does nothing once some connection has switched."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _report_new_messages(session_class: type[Session], report: Callable[[set[int]], None]) -> None:
    """After each commit of a `session_class` session, report the conversations it stored messages of."""
    key = "candor_new_messages"

    @event.listens_for(session_class, "before_flush")
    def _collect(session: Session, _context: Any, _instances: Any) -> None:
        stored = {m.conversation_id for m in session.new if isinstance(m, models.Message)}
        if stored:
            session.info.setdefault(key, set()).update(stored)

    @event.listens_for(session_class, "after_commit")
    def _report(session: Session) -> None:
        stored = session.info.pop(key, None)
        if stored:
            report(stored)

    @event.listens_for(session_class, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(key, None)


@dataclass(frozen=True)
class QueueItem:
    """One line of the agents' queue (docs/hub-api.md, GET /api/agent/queue)."""

    conversation_id: int
    sender: str
    customer: Customer | None
    reason: str
    summary: str
    priority: int
    frustration_level: str
    waiting_seconds: int
    state: str
    skills: list[str]
    team: str | None
    silent_since: datetime | None  # the customer went quiet (unresolved-silent)

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "sender": self.sender,
            "customer": self.customer.model_dump(mode="json") if self.customer else None,
            "reason": self.reason,
            "summary": self.summary,
            "priority": self.priority,
            "frustration_level": self.frustration_level,
            "waiting_seconds": self.waiting_seconds,
            "state": self.state,
            "skills": self.skills,
            "team": self.team,
            "silent_since": self.silent_since.isoformat() if self.silent_since else None,
        }


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _given(facts: IncidentFactsBody | None) -> dict[str, str]:
    """The facts a body sets (left-out fields are None and change nothing)."""
    return facts.model_dump(exclude_none=True) if facts is not None else {}


# Row → record ----------------------------------------------------------------------------------------


def _customer(row: models.Customer) -> Customer:
    return Customer(
        id=row.id,
        name=row.name,
        email=row.email,
        plan=row.plan,
        tier=row.tier,
        monthly_fee=row.monthly_fee,
        currency=row.currency,
        region=row.region,
        services=list(row.services),
    )


def _incident(row: models.Incident) -> Incident:
    return Incident(
        id=row.id,
        title=row.title,
        status=row.status,
        severity=row.severity,
        services=list(row.services),
        regions=list(row.regions),
        started_at=row.started_at,
        resolved_at=row.resolved_at,
        facts=IncidentFacts.model_validate(row.facts),
    )


RecordType = TypeVar("RecordType", bound=BaseModel)


def _record(kind: type[RecordType], row: models.Base, **more: Any) -> RecordType:
    """A record from the row's columns of the same names as the record's fields, and `more`."""
    values = {name: getattr(row, name) for name in kind.model_fields if name not in more and hasattr(row, name)}
    return kind.model_validate({**values, **more})


def _agent_row(seed: AgentSeed, row: models.Agent) -> models.Agent:
    """`row` with the seed's fields (every field of AgentSeed is a column of agents)."""
    for name, value in seed.model_dump().items():
        setattr(row, name, value)
    return row


def _agent(row: models.Agent | None) -> Agent | None:
    if row is None:
        return None
    return Agent(id=row.id, username=row.username, display_name=row.display_name, role=cast(Any, row.role))


def _compensation(row: models.Compensation) -> Compensation:
    return Compensation(
        id=row.id,
        customer_id=row.customer_id,
        incident_id=row.incident_id,
        conversation_id=row.conversation_id,
        rule=row.rule,
        kind=row.kind,
        amount=row.amount,
        original_amount=row.original_amount,
        agent_max_amount=row.agent_max_amount,
        currency=row.currency,
        reason=row.reason,
        status=cast(Any, row.status),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _terms(row: models.Compensation) -> dict[str, str]:
    """What a decision changes, for the audit trail's before and after."""
    return {"amount": str(row.amount), "status": row.status}


# Hot paths in SQLAlchemy Core --------------------------------------------------------------------------
# The requests of a relayed conversation (a customer's message, an agent's message, a poll, an agent's token)
# run as plain functions of one Connection: no ORM unit of work, one statement where the ORM took two or three,
# and on a SQLite file the whole transaction is one call into a thread (Repository._run), not three or four
# thread hops per statement through aiosqlite.

_M = cast(Table, models.Message.__table__)
_C = cast(Table, models.Conversation.__table__)
_A = cast(Table, models.Agent.__table__)
_SESSIONS = cast(Table, models.AgentSession.__table__)
_AUDIT = cast(Table, models.Audit.__table__)
_ESCALATIONS = cast(Table, models.Escalation.__table__)
_TEAMS = cast(Table, models.Team.__table__)
HANDLE_TIMES = 50  # the latest resolved escalations whose handle times set the expected wait
_MESSAGE = select(
    _M.c.id,
    _M.c.conversation_id,
    _M.c.role,
    _M.c.text,
    _M.c.extra,
    _M.c.agent_id,
    _M.c.created_at,
    _M.c.delivered_at,
    _A.c.username,
    _A.c.display_name,
).select_from(_M.outerjoin(_A, _A.c.id == _M.c.agent_id))
_CONVERSATION = select(
    _C.c.id,
    _C.c.sender,
    _C.c.customer_id,
    _C.c.state,
    _C.c.agent_id,
    _C.c.created_at,
    _C.c.updated_at,
    _C.c.last_customer_message_at,
    _A.c.username,
    _A.c.display_name,
).select_from(_C.outerjoin(_A, _A.c.id == _C.c.agent_id))

# Built once: a statement made anew at every call cost more CPU than running it (its cache key, its coercions).
_CONVERSATION_BY_ID = _CONVERSATION.where(_C.c.id == bindparam("b_id"))
_CONVERSATION_BY_SENDER = _CONVERSATION.where(_C.c.sender == bindparam("b_sender"))
_CONVERSATION_ROW_BY_SENDER = select(_C).where(_C.c.sender == bindparam("b_sender"))
_UPDATE_CONVERSATION = update(_C).where(_C.c.id == bindparam("b_id"))  # SET: the columns the parameters name
_HOLD_CONVERSATION = update(_C).where(  # the agent's own conversation, still with them
    _C.c.id == bindparam("b_id"), _C.c.state == "agent", _C.c.agent_id == bindparam("b_agent")
)
_ASSIGNMENT = select(_C.c.state, _C.c.agent_id).where(_C.c.id == bindparam("b_id"))
_INSERT_CONVERSATION = insert(_C)
_MESSAGES_BY_IDS = _MESSAGE.where(_M.c.id.in_(bindparam("b_ids", expanding=True))).order_by(_M.c.id)
_MESSAGES_AFTER = _MESSAGE.where(_M.c.conversation_id == bindparam("b_conversation"), _M.c.id > bindparam("b_after"))
_MESSAGES_AFTER = _MESSAGES_AFTER.order_by(_M.c.id)
_MESSAGE_BY_CLIENT_ID = _MESSAGE.where(
    _M.c.conversation_id == bindparam("b_conversation"), _M.c.client_message_id == bindparam("b_client_id")
)
_INSERT_MESSAGE = insert(_M)
# Taken before a message is inserted (PostgreSQL): the messages of one conversation then commit in the order of their
# ids, which polls resuming after an id rely on. SQLite has one writer at a time anyway.
_LOCK_CONVERSATION = select(_C.c.id).where(_C.c.id == bindparam("b_id")).with_for_update()
_TAKE_UNDELIVERED = (
    update(_M)
    .where(_M.c.conversation_id == bindparam("b_conversation"), _M.c.role == "agent", _M.c.delivered_at.is_(None))
    .returning(_M.c.id)
)
_MARK_DELIVERED = update(_M).where(_M.c.id.in_(bindparam("b_ids", expanding=True)), _M.c.delivered_at.is_(None))
_RECORD_ANSWER = update(_M).where(_M.c.id == bindparam("b_id"), _M.c.answer.is_(None))
_CUSTOMER_EXISTS = select(models.Customer.id).where(models.Customer.id == bindparam("b_id"))
_AGENT_NAME = select(_A.c.id, _A.c.username, _A.c.display_name).where(_A.c.id == bindparam("b_id"))
_INSERT_AUDIT = insert(_AUDIT)
_SESSION_AGENT = (
    select(_SESSIONS.c.last_seen_at, _A.c.id, _A.c.username, _A.c.display_name, _A.c.role)
    .join(_A, _A.c.id == _SESSIONS.c.agent_id)
    .where(
        _SESSIONS.c.token_hash == bindparam("b_token"),
        _SESSIONS.c.ended_at.is_(None),
        _SESSIONS.c.expires_at > bindparam("b_now"),
    )
)
_SESSION_SEEN = update(_SESSIONS).where(_SESSIONS.c.token_hash == bindparam("b_token"))
_LIVE_AGENTS = select(_SESSIONS.c.agent_id).where(  # with a console that called the hub lately (ONLINE_WINDOW)
    _SESSIONS.c.ended_at.is_(None),
    _SESSIONS.c.last_seen_at >= bindparam("b_seen_since"),
    _SESSIONS.c.expires_at > bindparam("b_now"),
)
_AGENTS_ONLINE = select(func.count()).select_from(_A).where(_A.c.presence == "online", _A.c.id.in_(_LIVE_AGENTS))
_LAST_MESSAGE = select(func.max(_M.c.id)).where(_M.c.conversation_id == bindparam("b_conversation"))
# Whether a conversation escalated on a customer message (the review inbox's lead-up): an escalation made after the
# message and before the customer's next one. One statement on the hot path's thread: it runs after every bot turn.
_MESSAGE_AT = select(_M.c.created_at).where(_M.c.id == bindparam("b_message")).scalar_subquery()
_NEXT_CUSTOMER_AT = (
    select(func.min(_M.c.created_at))
    .where(
        _M.c.conversation_id == bindparam("b_conversation"), _M.c.role == "customer", _M.c.id > bindparam("b_message")
    )
    .scalar_subquery()
)
_ESCALATED_ON = (
    select(_ESCALATIONS.c.id)
    .where(
        _ESCALATIONS.c.conversation_id == bindparam("b_conversation"),
        _ESCALATIONS.c.created_at >= _MESSAGE_AT,
        or_(_NEXT_CUSTOMER_AT.is_(None), _ESCALATIONS.c.created_at < _NEXT_CUSTOMER_AT),
    )
    .limit(1)
)
_QUEUED = select(_ESCALATIONS.c.conversation_id, _ESCALATIONS.c.priority, _ESCALATIONS.c.created_at).where(
    _ESCALATIONS.c.state == "queued"
)
_HANDLED = (
    select(_ESCALATIONS.c.claimed_at, _ESCALATIONS.c.closed_at)
    .where(
        _ESCALATIONS.c.state == "resolved",
        _ESCALATIONS.c.claimed_at.is_not(None),
        _ESCALATIONS.c.closed_at.is_not(None),
    )
    .order_by(_ESCALATIONS.c.closed_at.desc())
    .limit(HANDLE_TIMES)
)
_OPEN_TEAM = (
    select(_ESCALATIONS.c.team)
    .where(_ESCALATIONS.c.conversation_id == bindparam("b_conversation"), _ESCALATIONS.c.state.in_(OPEN_ESCALATION))
    .order_by(_ESCALATIONS.c.id.desc())
    .limit(1)
)
_ALL_TEAMS = select(_TEAMS).order_by(_TEAMS.c.name)

Result = TypeVar("Result")


def _new_id(result: Any) -> int:
    """The id of the row an INSERT stored."""
    return int(result.inserted_primary_key[0])


def _named_agent(row: Any) -> Agent | None:
    """The agent of a row joined to agents (username, display_name), as the records name them."""
    if row.agent_id is None or row.username is None:
        return None
    return Agent.model_construct(id=row.agent_id, username=row.username, display_name=row.display_name)


def _message_of(row: Any) -> Message:
    """A record from a row of _MESSAGE (the values are the database's, so they are not validated again)."""
    return Message.model_construct(
        id=row.id,
        conversation_id=row.conversation_id,
        role=row.role,
        text=row.text,
        extra=dict(row.extra or {}),
        agent=_named_agent(row),
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def _conversation_of(row: Any) -> Conversation:
    return Conversation.model_construct(
        id=row.id,
        sender=row.sender,
        customer_id=row.customer_id,
        state=row.state,
        agent=_named_agent(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_customer_message_at=row.last_customer_message_at,
    )


def _conversation_in(connection: Connection, conversation_id: int) -> Conversation | None:
    row = connection.execute(_CONVERSATION_BY_ID, {"b_id": conversation_id}).first()
    return _conversation_of(row) if row is not None else None


def _messages_in(connection: Connection, query: Any, parameters: dict[str, Any]) -> list[Message]:
    return [_message_of(r) for r in connection.execute(query, parameters)]


def _audit_in(connection: Connection, actor: str, action: str, conversation_id: int | None, **detail: Any) -> None:
    values = {"at": models.utcnow(), "actor": actor, "action": action, "conversation_id": conversation_id}
    connection.execute(_INSERT_AUDIT, {**values, "detail": detail})


def _take_undelivered_in(connection: Connection, conversation_id: int, now: datetime) -> list[Message]:
    """The conversation's agent messages not yet delivered to the customer, now marked delivered."""
    ids = connection.scalars(_TAKE_UNDELIVERED, {"b_conversation": conversation_id, "delivered_at": now}).all()
    return _messages_in(connection, _MESSAGES_BY_IDS, {"b_ids": list(ids)}) if ids else []


def _record_answer_in(connection: Connection, message_id: int, answer: Sequence[int]) -> bool:
    recorded = connection.execute(_RECORD_ANSWER, {"b_id": message_id, "answer": list(answer)})
    return bool(recorded.rowcount)


def _insert_messages_in(
    connection: Connection,
    conversation_id: int,
    role: str,
    items: Sequence[tuple[str, dict[str, Any]]],
    agent: Agent | None,
    now: datetime,
) -> list[Message]:
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK_CONVERSATION, {"b_id": conversation_id})
    stored = []
    for text, extra in items:  # one INSERT each, in order: the ids follow the order
        values = {
            "conversation_id": conversation_id,
            "role": role,
            "text": text,
            "extra": extra,
            "agent_id": agent.id if agent else None,
            "created_at": now,
        }
        stored.append(
            Message.model_construct(
                id=_new_id(connection.execute(_INSERT_MESSAGE, values)),
                conversation_id=conversation_id,
                role=cast(Any, role),
                text=text,
                extra=dict(extra),
                agent=agent,
                created_at=now,
                delivered_at=None,
            )
        )
    return stored


def _queued_of(rows: Iterable[Any]) -> list[service.Queued]:
    return [service.Queued(conversation_id=c, priority=p, created_at=t) for c, p, t in rows]


def _handle_times_of(rows: Iterable[Any]) -> list[timedelta]:
    return [closed - claimed for claimed, closed in rows if claimed and closed]


@dataclass(frozen=True)
class QueueFacts:
    """What a waiting customer's place and expected wait are computed from (Repository.queue_facts)."""

    queued: list[service.Queued]
    handle_times: list[timedelta]
    agents_online: int
    team: str | None  # the team of the conversation's open escalation
    teams: list[Team]


@dataclass(frozen=True)
class Received:
    """A customer's message as the hub took it in (Repository.take_customer_message)."""

    conversation: Conversation
    message: Message
    stored_before: bool  # a retry: its message_id names a message stored before
    delivered: list[Message] | None = None  # not with the bot: the agent messages it now delivers (each goes once)
    answered: bool = False  # those were recorded as the message's answer (in the same transaction)


def _receive_in(
    connection: Connection,
    sender: str,
    text: str,
    claim: Claim,
    message_id: str | None,
    deliver: bool,
) -> Received:
    """Store a customer's message (Repository.receive_customer_message), in one transaction. deliver: when the
    conversation is not with the bot, also take its undelivered agent messages, and record them as the answer
    (of a message with a message_id) when they are the whole answer: with an agent, or waiting with some."""
    now = models.utcnow()
    actor = f"customer:{sender}"
    customer_id = claim.customer_id
    row = connection.execute(_CONVERSATION_ROW_BY_SENDER, {"b_sender": sender}).first()
    if row is not None and not claim.may_use(row.customer_id):
        raise Unauthorized(SIGNED_IN_CUSTOMER_ONLY)
    if row is not None and message_id is not None:
        earlier = connection.execute(
            _MESSAGE_BY_CLIENT_ID, {"b_conversation": row.id, "b_client_id": message_id}
        ).first()
        if earlier is not None:
            if earlier.text != text:
                raise Conflict(f"metadata.message_id {message_id!r} was used for another message of this conversation")
            _audit_in(connection, actor, "duplicate_message", row.id, message_id=message_id)
            return Received(cast(Conversation, _conversation_in(connection, row.id)), _message_of(earlier), True)
    known_customer: str | None = None
    if claim.verified and customer_id:
        found = connection.execute(_CUSTOMER_EXISTS, {"b_id": customer_id}).first()
        known_customer = customer_id if found is not None else None
    changes: dict[str, Any] = {"last_customer_message_at": now, "updated_at": now}
    if row is None:
        values = {"sender": sender, "customer_id": known_customer, "state": "bot", "created_at": now, **changes}
        conversation_id = _new_id(connection.execute(_INSERT_CONVERSATION, values))
        state = "bot"
        _audit_in(connection, actor, "conversation_started", conversation_id, customer_id=known_customer)
        if customer_id and not claim.verified:
            _audit_in(connection, actor, "unsigned_customer_id", conversation_id, customer_id=customer_id)
        elif customer_id and not known_customer:
            _audit_in(connection, actor, "unknown_customer_id", conversation_id, customer_id=customer_id)
    else:
        conversation_id, state = row.id, row.state
        if row.customer_id is None and known_customer:
            changes["customer_id"] = known_customer
            _audit_in(connection, actor, "customer_linked", conversation_id, customer_id=known_customer)
        if state == "closed":
            state = changes["state"] = service.check_transition("reopen", state)
            changes["agent_id"] = None
            _audit_in(connection, actor, "reopened", conversation_id)
        if row.silent_since is not None:
            changes["silent_since"] = None
            _audit_in(connection, actor, "no_longer_silent", conversation_id)
        connection.execute(_UPDATE_CONVERSATION, {"b_id": conversation_id, **changes})
    values = {
        "conversation_id": conversation_id,
        "role": "customer",
        "text": text,
        "extra": {},
        "agent_id": None,
        "created_at": now,
        "client_message_id": message_id,
    }
    stored_id = _new_id(connection.execute(_INSERT_MESSAGE, values))
    message = Message.model_construct(
        id=stored_id,
        conversation_id=conversation_id,
        role="customer",
        text=text,
        extra={},
        agent=None,
        created_at=now,
        delivered_at=None,
    )
    delivered, answered = None, False
    if deliver and state != "bot":
        delivered = _take_undelivered_in(connection, conversation_id, now)
        if message_id is not None and (state == "agent" or delivered):
            answered = _record_answer_in(connection, stored_id, [m.id for m in delivered])
    conversation = cast(Conversation, _conversation_in(connection, conversation_id))
    return Received(conversation, message, False, delivered, answered)


def _in_transaction(engine: Engine, work: Callable[[Connection], Result]) -> Result:
    """`work` in one transaction of `engine` (called in a thread of Repository._run)."""
    with engine.begin() as connection:
        return work(connection)


@dataclass(frozen=True)
class _QueuedWrite:
    """A write waiting for the writer thread (Repository._run)."""

    work: Callable[[Connection], Any]
    done: asyncio.Future[Any]
    stored: Callable[[Any], set[int]] | None


def _each_in_transaction(engine: Engine, writes: Sequence[_QueuedWrite]) -> list[tuple[Any, BaseException | None]]:
    """Each write in a transaction of its own, in order: (result, None) or (None, the error it raised)."""
    outcomes: list[tuple[Any, BaseException | None]] = []
    for write in writes:
        try:
            outcomes.append((_in_transaction(engine, write.work), None))
        except Exception as error:  # the caller gets it; the next write goes on
            outcomes.append((None, error))
    return outcomes


def _stored_by(messages: Sequence[Message]) -> set[int]:
    return {m.conversation_id for m in messages}


def _kind(agent: Agent) -> str:
    """How the audit trail names a staff account: trainer, or agent (supervisors too)."""
    return "trainer" if agent.role == "trainer" else "agent"


class Repository(SupervisionStore, ReviewStore, CandidateStore):
    """The hub's store. Build it with an engine; call migrate() once at start."""

    def __init__(self, engine: AsyncEngine, on_messages: Callable[[set[int]], None] | None = None) -> None:
        """on_messages: called with the conversation ids of the messages a write stored, once it is committed
        (the hub wakes its long polls with it: handoff/updates.py)."""
        self.engine = engine
        # Reads: on SQLite a deferred transaction, one snapshot and no lock (other databases ignore the option).
        self._sessions = async_sessionmaker(
            engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"}), expire_on_commit=False
        )

        class WriteSession(Session):
            """This repository's writes: they report the conversations whose messages they stored."""

        if on_messages is not None:
            _report_new_messages(WriteSession, on_messages)
        self._writes = async_sessionmaker(engine, expire_on_commit=False, sync_session_class=WriteSession)
        self._write_turn: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        self._on_messages = on_messages
        # SQLite on a file: the hot paths' transactions run whole in these threads, on a synchronous engine of the
        # same file (made at their first use: _direct). One writer, under the same write turn as the rest.
        database = engine.url.database
        self._direct_wanted = engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"
        self._direct: tuple[Engine, Engine] | None = None  # (writes, reads)
        self._writer = ThreadPoolExecutor(1, "candor-sqlite-write") if self._direct_wanted else None
        self._readers = ThreadPoolExecutor(2, "candor-sqlite-read") if self._direct_wanted else None
        self._queued_writes: list[_QueuedWrite] = []
        self._writing: asyncio.Task[None] | None = None

    async def _direct_engines(self) -> tuple[Engine, Engine] | None:
        """SQLite on a file: a synchronous engine of the same file, configured as create_engine's (its busy timeout
        read from a connection of it), for writes and for reads (DEFERRED); None for other databases."""
        if self._direct is None and self._direct_wanted:
            async with self._sessions() as session:
                timeout_ms = (await session.execute(sqlalchemy.text("PRAGMA busy_timeout"))).scalar_one()
            if self._direct is None:  # another request may have made it meanwhile
                writes = sqlalchemy.create_engine(self.engine.url.set(drivername="sqlite"))
                _configure_sqlite(writes, int(timeout_ms) / 1000)
                self._direct = writes, writes.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
        return self._direct

    async def _run(
        self,
        work: Callable[[Connection], Result],
        *,
        write: bool,
        stored: Callable[[Result], set[int]] | None = None,
    ) -> Result:
        """`work` in one transaction: a write (the write lock from the start on SQLite) or a read (one snapshot, no
        lock). On a SQLite file it runs whole in a thread of its own; elsewhere through the async engine
        (`run_sync`). stored: the conversations whose messages a write stored, reported once it is committed
        (long polls wake up: handoff/updates.py), even if the caller has gone meanwhile."""
        direct = await self._direct_engines()
        if direct is None:
            if write:
                async with self._write_turn, self.engine.begin() as connection:
                    result = await connection.run_sync(work)
            else:
                async with self.engine.connect() as connection:
                    connection = await connection.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
                    result = await connection.run_sync(work)
            if stored is not None:
                self._report(stored(result))
            return result
        loop = asyncio.get_running_loop()
        if not write:
            return await loop.run_in_executor(self._readers, _in_transaction, direct[1], work)
        done: asyncio.Future[Any] = loop.create_future()
        self._queued_writes.append(_QueuedWrite(work, done, stored))
        if self._writing is None:
            self._writing = asyncio.create_task(self._write_queued(direct[0]), name="candor-sqlite-writes")
        return cast(Result, await asyncio.shield(done))  # a caller that goes away does not end its write early

    async def _write_queued(self, engine: Engine) -> None:
        """Run the queued writes, each its own transaction, in turn in the writer thread: all those queued when it
        takes the write turn go in one call, so the thread goes from one to the next without waiting for this
        loop in between (under load most of a write's time was that wait, with the write lock held)."""
        loop = asyncio.get_running_loop()
        try:
            while self._queued_writes:
                batch, self._queued_writes = self._queued_writes, []
                try:
                    async with self._write_turn:
                        outcomes = await loop.run_in_executor(self._writer, _each_in_transaction, engine, batch)
                except BaseException as stopped:  # stopping (cancelled, threads shut down): nobody waits for ever
                    for write in batch:
                        if isinstance(stopped, Exception):
                            write.done.set_exception(stopped)
                        else:
                            write.done.cancel()
                    raise
                for write, (result, error) in zip(batch, outcomes, strict=True):
                    if error is not None:
                        write.done.set_exception(error)
                        continue
                    write.done.set_result(result)
                    if write.stored is not None:
                        self._report(write.stored(result))
        finally:
            self._writing = None

    def _report(self, conversation_ids: set[int]) -> None:
        if conversation_ids and self._on_messages is not None:
            self._on_messages(conversation_ids)

    async def close(self) -> None:
        """Close every connection (the engine's, and the synchronous engine's and its threads on SQLite)."""
        await self.engine.dispose()
        if self._direct is not None:
            self._direct[0].dispose()
        for threads in (self._writer, self._readers):
            if threads is not None:
                threads.shutdown(wait=False)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """A write: on SQLite it holds the write lock from its first statement (BEGIN IMMEDIATE, create_engine).
        On SQLite the writes of this process also queue for an asyncio lock first, in arrival order: SQLite
        takes one writer at a time anyway, and waiting here is fair and cheap, where waiting in SQLite's busy
        handler is neither (threads sleep and retry; under load some gave up after the busy timeout). The
        database's lock still decides between processes. Not re-entrant: a write never opens another."""
        async with self._write_turn, self._writes() as session, session.begin():
            yield session

    async def migrate(self) -> str | None:
        """Bring the schema to the newest revision (handoff/migrations); the database's revision after.

        One transaction holding the write lock, so hubs starting together migrate one at a time. A database
        made before migrations is stamped at the baseline and keeps its data, or, if it lacks a column,
        refused naming it; so is a database that lacks a column of handoff.models no revision adds
        (handoff.migrations.MigrationError, nothing changed).
        """
        async with self.engine.connect() as connection:
            return (await connection.run_sync(migrations.upgrade)).after

    async def create_tables(self) -> None:
        """The name from before migrations: migrate()."""
        await self.migrate()

    async def _agents(self, session: AsyncSession, ids: set[int | None]) -> dict[int, Agent]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        rows = await session.scalars(select(models.Agent).where(models.Agent.id.in_(wanted)))
        return {row.id: Agent(id=row.id, username=row.username, display_name=row.display_name) for row in rows}

    async def _conversation(self, session: AsyncSession, row: models.Conversation) -> Conversation:
        agents = await self._agents(session, {row.agent_id})
        return Conversation(
            id=row.id,
            sender=row.sender,
            customer_id=row.customer_id,
            state=cast(Any, row.state),
            agent=agents.get(row.agent_id) if row.agent_id else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_customer_message_at=row.last_customer_message_at,
        )

    async def _messages(self, session: AsyncSession, rows: Sequence[models.Message]) -> list[Message]:
        agents = await self._agents(session, {r.agent_id for r in rows})
        return [
            Message(
                id=r.id,
                conversation_id=r.conversation_id,
                role=cast(Any, r.role),
                text=r.text,
                extra=dict(r.extra or {}),
                agent=agents.get(r.agent_id) if r.agent_id else None,
                created_at=r.created_at,
                delivered_at=r.delivered_at,
            )
            for r in rows
        ]

    async def _escalation(self, session: AsyncSession, row: models.Escalation) -> Escalation:
        agents = await self._agents(session, {row.agent_id})
        return Escalation(
            id=row.id,
            conversation_id=row.conversation_id,
            state=cast(Any, row.state),
            reason=row.reason,
            summary=row.summary,
            problem=row.problem,
            frustration=list(row.frustration),
            frustration_level=row.frustration_level,
            trajectory=dict(row.trajectory) if row.trajectory else None,
            priority=row.priority,
            agent=agents.get(row.agent_id) if row.agent_id else None,
            note=row.note,
            created_at=row.created_at,
            claimed_at=row.claimed_at,
            closed_at=row.closed_at,
            skills=list(row.skills),
            team=row.team,
            transfers=list(row.transfers),
            apologies=list(row.apologies),
        )

    @staticmethod
    def _audit(session: AsyncSession, actor: str, action: str, conversation_id: int | None, **detail: Any) -> None:
        session.add(
            models.Audit(at=models.utcnow(), actor=actor, action=action, conversation_id=conversation_id, detail=detail)
        )

    async def audit(self, actor: str, action: str, conversation_id: int | None = None, **detail: Any) -> None:
        """Write one audit row on its own (for events outside a state change, e.g. a failed call)."""
        async with self._transaction() as session:
            self._audit(session, actor, action, conversation_id, **detail)

    async def audit_trail(self, conversation_id: int) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(models.Audit).where(models.Audit.conversation_id == conversation_id).order_by(models.Audit.id)
            )
            return [
                {"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "detail": dict(r.detail)} for r in rows
            ]

    def _cursor(self, after: int) -> int:
        """An `after` id cursor as the database can bind it: PostgreSQL's INTEGER ids end at 2^31 - 1 (a larger
        cursor would fail to bind, and nothing is beyond that id)."""
        return min(after, 2**31 - 1) if self.engine.dialect.name == "postgresql" else after

    async def audit_entries(self, conversation_id: int | None, after: int, limit: int) -> list[dict[str, Any]]:
        """Audit entries with id > after (of one conversation, or all), oldest first, at most `limit`."""
        query = select(models.Audit).where(models.Audit.id > self._cursor(after)).order_by(models.Audit.id)
        if conversation_id is not None:
            query = query.where(models.Audit.conversation_id == conversation_id)
        async with self._sessions() as session:
            rows = await session.scalars(query.limit(limit))
            return [
                {
                    "id": r.id,
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "conversation_id": r.conversation_id,
                    "detail": dict(r.detail),
                }
                for r in rows
            ]

    # Directory --------------------------------------------------------------------------------------

    async def upsert_seed(
        self,
        customers: Sequence[Customer],
        incidents: Sequence[Incident],
        agents: Sequence[AgentSeed],
        teams: Sequence[Team] = (),
    ) -> None:
        """Insert or update the seed's customers and agents, and insert its incidents that are not stored yet
        (safe to run at every start: an incident edited since, by a person or an alert, stays as it is)."""
        async with self._transaction() as session:
            for c in customers:
                await session.merge(models.Customer(**c.model_dump()))  # the schema's fields are the row's
            for t in teams:
                await session.merge(models.Team(**t.model_dump()))
            for i in incidents:  # added once: after that, people and alerts change them, not restarts
                if await session.get(models.Incident, i.id) is None:
                    session.add(models.Incident(**i.model_dump()))
            for a in agents:
                row = await session.scalar(select(models.Agent).where(models.Agent.username == a.username))
                if row is None:
                    session.add(_agent_row(a, models.Agent(created_at=models.utcnow())))
                else:
                    _agent_row(a, row)
            self._audit(
                session,
                "hub",
                "seed_loaded",
                None,
                customers=len(customers),
                incidents=len(incidents),
                agents=len(agents),
                teams=len(teams),
            )

    async def teams(self) -> list[Team]:
        async with self._sessions() as session:
            rows = await session.scalars(select(models.Team).order_by(models.Team.name))
            return [_record(Team, r) for r in rows]

    # Follow-ups -------------------------------------------------------------------------------------

    async def leave_follow_up(self, conversation_id: int, email: str, message: str, actor: str) -> FollowUp:
        """The customer's message and email for the team to get back to: the conversation's open follow-up,
        with this message added (a new one if it has none)."""
        now = models.utcnow()
        async with self._transaction() as session:
            row = await session.scalar(
                select(models.FollowUp).where(
                    models.FollowUp.conversation_id == conversation_id, models.FollowUp.state == "open"
                )
            )
            if row is None:
                row = models.FollowUp(
                    conversation_id=conversation_id, email=email, message=message, state="open", created_at=now
                )
                session.add(row)
            else:
                row.email, row.message = email, f"{row.message}\n{message}"
            await session.flush()
            self._audit(session, actor, "follow_up_left", conversation_id, follow_up_id=row.id, email=email)
            return await self._follow_up(session, row)

    async def _follow_up(self, session: AsyncSession, row: models.FollowUp) -> FollowUp:
        conversation = await session.get(models.Conversation, row.conversation_id)
        assert conversation is not None
        return _record(FollowUp, row, sender=conversation.sender, customer_id=conversation.customer_id)

    async def follow_ups(self, state: str) -> list[FollowUp]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(models.FollowUp).where(models.FollowUp.state == state).order_by(models.FollowUp.id)
                )
            ).all()
            return [await self._follow_up(session, r) for r in rows]

    async def finish_follow_up(self, follow_up_id: int, agent: Agent, note: str) -> FollowUp:
        """Mark an open follow-up done with how the customer was answered; Conflict if it is done already."""
        now = models.utcnow()
        async with self._transaction() as session:
            done = await session.execute(
                update(models.FollowUp)
                .where(models.FollowUp.id == follow_up_id, models.FollowUp.state == "open")
                .values(state="done", done_by=agent.username, done_at=now, note=note)
            )
            row = await session.get(models.FollowUp, follow_up_id)
            if row is None:
                raise NotFound(f"no follow-up {follow_up_id}")
            if not _rowcount(done):
                raise Conflict(f"follow-up {follow_up_id} is done already (by {row.done_by})")
            self._audit(session, f"agent:{agent.username}", "follow_up_done", row.conversation_id, note=note)
            await session.refresh(row)
            return await self._follow_up(session, row)

    async def customer(self, customer_id: str) -> Customer | None:
        async with self._sessions() as session:
            row = await session.get(models.Customer, customer_id)
            return _customer(row) if row else None

    async def incidents(self) -> list[Incident]:
        async with self._sessions() as session:
            rows = await session.scalars(select(models.Incident).order_by(models.Incident.started_at.desc()))
            return [_incident(r) for r in rows]

    async def open_incident(self, body: IncidentBody, actor: str) -> Incident:
        """A new incident, opened by a person (`actor`: agent:<username> or cli)."""
        async with self._transaction() as session:
            row = models.Incident(
                id=f"INC-{uuid.uuid4().hex[:8].upper()}",
                title=body.title,
                status=body.status,
                severity=body.severity,
                services=list(body.services),
                regions=list(body.regions),
                started_at=models.utcnow(),
                resolved_at=None,
                facts=IncidentFacts().model_copy(update=_given(body.facts)).model_dump(),
                group_key=None,
            )
            session.add(row)
            await session.flush()
            self._audit(session, actor, "incident_opened", None, incident_id=row.id, **body.model_dump(mode="json"))
            return _incident(row)

    async def update_incident(self, incident_id: str, body: IncidentUpdateBody, actor: str) -> Incident:
        """Change what the body gives; `resolved` sets resolved_at, another status on a resolved one reopens it."""
        try:
            async with self._transaction() as session:
                # Take the row's write lock before reading it (SQLite: the database's), so that two edits
                # at once apply one after the other instead of the second overwriting the first.
                touched = await session.execute(
                    update(models.Incident)
                    .where(models.Incident.id == incident_id)
                    .values(title=models.Incident.title)
                    .execution_options(synchronize_session=False)
                )
                if not _rowcount(touched):
                    raise NotFound(f"no incident {incident_id}")
                row = await session.get(models.Incident, incident_id, populate_existing=True)
                if row is None:
                    raise NotFound(f"no incident {incident_id}")
                changes = body.model_dump(exclude_none=True, exclude={"facts"})
                for field, value in changes.items():
                    setattr(row, field, list(value) if isinstance(value, list) else value)
                if body.facts is not None:
                    row.facts = {**IncidentFacts().model_dump(), **row.facts, **_given(body.facts)}
                    changes["facts"] = _given(body.facts)
                if body.status == "resolved" and row.resolved_at is None:
                    row.resolved_at = models.utcnow()
                elif body.status is not None and body.status != "resolved":
                    row.resolved_at = None
                await session.flush()
                self._audit(session, actor, "incident_updated", None, incident_id=incident_id, **changes)
                return _incident(row)
        except IntegrityError:
            raise Conflict(f"incident {incident_id} cannot reopen: its alert group has another open incident") from None

    async def apply_alertmanager(self, payload: AlertmanagerPayload) -> tuple[Incident | None, bool]:
        """Open, update or resolve the incident of an Alertmanager group: (its incident, whether anything changed).

        The rules are in handoff.alertmanager. A repeated or late delivery changes nothing and writes no
        audit row: episodes are inserted once (primary key) and resolved once (`WHERE status = 'firing'`),
        an incident is opened once per group (a unique index on the open incident's group) and resolved
        once (`WHERE resolved_at IS NULL`). A delivery that loses an insert race is applied again.
        """
        try:
            return await self._apply_alertmanager(payload)
        except IntegrityError:
            return await self._apply_alertmanager(payload)

    async def _apply_alertmanager(self, payload: AlertmanagerPayload) -> tuple[Incident | None, bool]:
        async with self._transaction() as session:
            # Take the write lock before reading (a no-op UPDATE on the group's incidents; SQLite: the
            # database's), so that two deliveries for one group apply one after the other.
            await session.execute(
                update(models.Incident)
                .where(models.Incident.group_key == payload.groupKey)
                .values(group_key=models.Incident.group_key)
                .execution_options(synchronize_session=False)
            )
            keys = {(a.fingerprint, a.startsAt) for a in payload.alerts}
            rows = await session.scalars(
                select(models.Alert).where(models.Alert.fingerprint.in_({fingerprint for fingerprint, _ in keys}))
            )
            stored = {(r.fingerprint, r.starts_at): r for r in rows if (r.fingerprint, r.starts_at) in keys}
            group = await session.scalar(
                select(models.Incident)
                .where(models.Incident.group_key == payload.groupKey)
                .order_by(models.Incident.resolved_at.is_not(None), models.Incident.started_at.desc())
            )
            open_incident = group if group is not None and group.resolved_at is None else None
            changes = changed_episodes(payload, {key: row.status for key, row in stored.items()})
            new_firing = [e for e in changes if e.status == "firing" and e.key not in stored]
            opened = open_incident is None and bool(new_firing)
            if new_firing:
                open_incident = await self._open_or_extend(session, payload, open_incident, new_firing)
            applied, touched = await self._store_episodes(session, changes, stored, open_incident)
            if open_incident is not None:  # a complete message may finish it even when it changes no alert
                touched.add(open_incident.id)
            await session.flush()
            resolved = await self._resolve_finished(session, touched) if payload.truncatedAlerts == 0 else []
            if not applied and not resolved:
                return (_incident(group) if group else None), False
            reported = open_incident or group
            if reported is None and touched:
                reported = await session.get(models.Incident, sorted(touched)[0])
            if reported is not None:
                await session.refresh(reported)
            action = "incident_opened" if opened else "incident_resolved" if resolved else "incident_alerts_updated"
            self._audit(
                session,
                "alertmanager",
                action,
                None,
                incidents=sorted(touched),
                resolved=resolved,
                group_key=payload.groupKey,
                alerts=[{"fingerprint": e.fingerprint, "status": e.status} for e in applied],
            )
            return (_incident(reported) if reported else None), True

    @staticmethod
    async def _open_or_extend(
        session: AsyncSession,
        payload: AlertmanagerPayload,
        open_incident: models.Incident | None,
        new_firing: list[Episode],
    ) -> models.Incident:
        """The group's open incident, opened by these newly firing alerts or widened by them."""
        services, regions = services_and_regions(new_firing)
        if open_incident is None:
            open_incident = models.Incident(
                id=f"AM-{uuid.uuid4().hex[:12].upper()}",
                title=incident_title(payload),
                status="investigating",
                severity=incident_severity(new_firing),
                services=services,
                regions=regions,
                started_at=min(e.starts_at for e in new_firing),
                resolved_at=None,
                facts={},
                group_key=payload.groupKey,
            )
            session.add(open_incident)
            await session.flush()
            return open_incident
        open_incident.severity = incident_severity(new_firing, open_incident.severity)
        open_incident.services = list(dict.fromkeys([*open_incident.services, *services]))
        open_incident.regions = list(dict.fromkeys([*open_incident.regions, *regions]))
        open_incident.started_at = min([open_incident.started_at, *(e.starts_at for e in new_firing)])
        return open_incident

    @staticmethod
    async def _store_episodes(
        session: AsyncSession,
        changes: list[Episode],
        stored: dict[tuple[str, datetime], models.Alert],
        open_incident: models.Incident | None,
    ) -> tuple[list[Episode], set[str]]:
        """Insert new episodes (joining the open incident, if any) and resolve stored ones, each once:
        (the episodes applied, the incidents they touch)."""
        applied: list[Episode] = []
        touched: set[str] = set()
        for episode in changes:
            row = stored.get(episode.key)
            if row is None:  # new: firing joins the group's open incident; resolved joins it if any
                incident_id = open_incident.id if open_incident is not None else None
                session.add(
                    models.Alert(
                        fingerprint=episode.fingerprint,
                        starts_at=episode.starts_at,
                        incident_id=incident_id,
                        status=episode.status,
                        ends_at=episode.ends_at,
                        labels=dict(episode.labels),
                    )
                )
            elif _rowcount(
                await session.execute(
                    update(models.Alert)
                    .where(
                        models.Alert.fingerprint == episode.fingerprint,
                        models.Alert.starts_at == episode.starts_at,
                        models.Alert.status == "firing",
                    )
                    .values(status="resolved", ends_at=episode.ends_at)
                )
            ):  # resolved, whatever group the alert now arrives in
                incident_id = row.incident_id
            else:
                continue  # another delivery resolved it first
            applied.append(episode)
            if incident_id is not None:
                touched.add(incident_id)
        return applied, touched

    async def _resolve_finished(self, session: AsyncSession, incident_ids: set[str]) -> list[str]:
        """Resolve each of these incidents whose alerts have all resolved (once); the ids resolved now."""
        resolved = []
        for incident_id in sorted(incident_ids):
            alerts = list(
                await session.scalars(
                    select(models.Alert)
                    .where(models.Alert.incident_id == incident_id)
                    .execution_options(populate_existing=True)
                )
            )
            if not alerts or any(a.status != "resolved" for a in alerts):
                continue
            ended = max(a.ends_at or models.utcnow() for a in alerts)
            result = await session.execute(
                update(models.Incident)
                .where(models.Incident.id == incident_id, models.Incident.resolved_at.is_(None))
                .values(status="resolved", resolved_at=ended)
            )
            if _rowcount(result):
                resolved.append(incident_id)
        return resolved

    async def counts(self) -> dict[str, int]:
        """Rows per table (for tests and health checks)."""
        async with self._sessions() as session:
            result: dict[str, int] = {}
            for table in models.Base.metadata.sorted_tables:
                count = await session.scalar(select(func.count()).select_from(table))
                result[table.name] = int(count or 0)
            return result

    # Agents and sessions ----------------------------------------------------------------------------

    async def add_agent(self, seed: AgentSeed, actor: str) -> Agent:
        try:
            async with self._transaction() as session:
                row = _agent_row(seed, models.Agent(created_at=models.utcnow()))
                session.add(row)
                await session.flush()
                self._audit(session, actor, "agent_added", None, username=seed.username, role=seed.role)
                return cast(Agent, _agent(row))
        except IntegrityError:
            raise Conflict(f"an agent named {seed.username!r} exists already") from None

    async def agent_credentials(self, username: str) -> tuple[Agent, str] | None:
        async with self._sessions() as session:
            row = await session.scalar(select(models.Agent).where(models.Agent.username == username))
            if row is None:
                return None
            return cast(Agent, _agent(row)), row.password_hash

    async def start_session(self, agent: Agent, token_hash: str, ttl: timedelta, *, online: bool = True) -> None:
        """online: the agent is there to take conversations (their console opened; not a trainer)."""
        now = models.utcnow()
        async with self._transaction() as session:
            session.add(
                models.AgentSession(
                    token_hash=token_hash, agent_id=agent.id, created_at=now, last_seen_at=now, expires_at=now + ttl
                )
            )
            self._audit(session, f"{_kind(agent)}:{agent.username}", "login", None)
            if online:
                await self._set_presence(session, agent, "online")  # opening the console is being there

    async def end_session(self, token_hash: str, agent: Agent) -> None:
        async with self._transaction() as session:
            await session.execute(
                update(models.AgentSession)
                .where(models.AgentSession.token_hash == token_hash)
                .values(ended_at=models.utcnow())
            )
            self._audit(session, f"{_kind(agent)}:{agent.username}", "logout", None)
            if not await self._live_sessions(session, {agent.id}):  # their last console closed
                await self._set_presence(session, agent, "offline")

    async def agent_for_token(self, token_hash: str) -> Agent | None:
        """The agent of a live session (and note that they are online), or None."""
        now = models.utcnow()
        row = await self._run(
            lambda c: c.execute(_SESSION_AGENT, {"b_token": token_hash, "b_now": now}).first(), write=False
        )
        if row is None:
            return None
        if now - row.last_seen_at > SEEN_RESOLUTION:
            await self._run(
                lambda c: c.execute(_SESSION_SEEN, {"b_token": token_hash, "last_seen_at": now}), write=True
            )
        return Agent.model_construct(id=row.id, username=row.username, display_name=row.display_name, role=row.role)

    async def agents_online(self) -> int:
        """Agents available now: presence online, with a console that called the hub lately."""
        now = models.utcnow()
        online = {"b_now": now, "b_seen_since": now - ONLINE_WINDOW}
        return await self._run(lambda connection: int(connection.scalar(_AGENTS_ONLINE, online) or 0), write=False)

    # Routing (handoff/routing.py) -------------------------------------------------------------------

    @staticmethod
    async def _live_sessions(session: AsyncSession, agent_ids: set[int] | None = None) -> set[int]:
        """Agents (of `agent_ids`, or all) with a console session that is open and was seen lately."""
        now = models.utcnow()
        query = select(models.AgentSession.agent_id).where(
            models.AgentSession.ended_at.is_(None),
            models.AgentSession.last_seen_at >= now - ONLINE_WINDOW,
            models.AgentSession.expires_at > now,
        )
        if agent_ids is not None:
            query = query.where(models.AgentSession.agent_id.in_(agent_ids))
        return set((await session.scalars(query)).all())

    async def _candidates(self, session: AsyncSession, *, lock: bool = False) -> list[routing.Candidate]:
        """Every agent as routing sees them. lock: hold their rows until the transaction ends (PostgreSQL;
        SQLite's write lock covers it), so that hubs assigning at once count each other's assignments."""
        query = select(models.Agent).where(models.Agent.role != "trainer").order_by(models.Agent.id)  # never routed
        agents = (await session.scalars(query.with_for_update() if lock else query)).all()
        live = await self._live_sessions(session)
        counts = dict(
            (
                await session.execute(
                    select(models.Conversation.agent_id, func.count())
                    .where(models.Conversation.state == "agent")
                    .group_by(models.Conversation.agent_id)
                )
            ).all()
        )
        return [
            routing.Candidate(
                agent_id=a.id,
                username=a.username,
                available=a.presence == "online" and a.id in live,
                capacity=a.capacity,
                open_conversations=int(counts.get(a.id, 0)),
                skills=frozenset(a.skills),
                team=a.team,
                last_assigned_at=a.last_assigned_at,
            )
            for a in agents
        ]

    async def _set_presence(self, session: AsyncSession, agent: Agent, presence: str, actor: str | None = None) -> None:
        """Set the agent's presence, audited with before and after; `actor` when it is not the agent (the hub)."""
        row = await session.get(models.Agent, agent.id)
        if row is None:
            raise NotFound(f"no agent {agent.username}")
        if row.presence != presence:
            by = {"agent": agent.username} if actor else {}
            self._audit(
                session,
                actor or f"agent:{agent.username}",
                "presence_changed",
                None,
                before=row.presence,
                after=presence,
                **by,
            )
            row.presence = presence

    async def set_presence(self, agent: Agent, presence: str) -> AgentProfile:
        async with self._transaction() as session:
            await self._set_presence(session, agent, presence)
        return await self.agent_profile(agent)

    async def agent_profile(self, agent: Agent) -> AgentProfile:
        found = [p for p in await self.agent_profiles() if p.agent.id == agent.id]
        if not found:
            raise NotFound(f"no agent {agent.username}")
        return found[0]

    async def agent_profiles(self) -> list[AgentProfile]:
        """Every agent with what routing knows of them (the directory agents transfer to), by username."""
        async with self._sessions() as session:
            rows = (await session.scalars(select(models.Agent).order_by(models.Agent.username))).all()
            seen = {c.agent_id: c for c in await self._candidates(session)}
            return [
                AgentProfile(
                    agent=cast(Agent, _agent(row)),
                    team=row.team,
                    skills=list(row.skills),
                    capacity=row.capacity,
                    presence=cast(Any, row.presence),
                    available=seen[row.id].available,
                    open_conversations=seen[row.id].open_conversations,
                )
                for row in rows
                if row.id in seen
            ]

    async def assign_waiting(self, skills_for: timedelta = routing.SKILLS_FOR) -> list[tuple[int, Agent]]:
        """Give every waiting conversation that some available agent can take to the best such agent
        (handoff/routing.py); the (conversation id, agent) pairs given. One transaction: the agents' rows are
        locked first, and each conversation moves only if it is still queued, so hubs routing at once, or an
        agent claiming meanwhile, never give one conversation twice or an agent more than their capacity."""
        now = models.utcnow()
        async with self._transaction() as session:
            candidates = await self._candidates(session, lock=True)
            if not any(c.available and c.free for c in candidates):
                return []
            rows = (await session.scalars(select(models.Escalation).where(models.Escalation.state == "queued"))).all()
            by_conversation = {r.conversation_id: r for r in rows}
            order = service.queue_order(
                (service.Queued(r.conversation_id, r.priority, r.created_at) for r in rows), now
            )
            needs = [
                routing.need_of(
                    q.conversation_id,
                    by_conversation[q.conversation_id].skills,
                    by_conversation[q.conversation_id].team,
                    now - q.created_at,
                    skills_for,
                )
                for q in order
            ]
            given: list[tuple[int, Agent]] = []
            for conversation_id, chosen, at in routing.assignments(needs, candidates, now):
                moved = _rowcount(
                    await session.execute(
                        update(models.Conversation)
                        .where(models.Conversation.id == conversation_id, models.Conversation.state == "queued")
                        .values(state="agent", agent_id=chosen.agent_id, updated_at=now)
                    )
                )
                if not moved:
                    continue
                escalation = by_conversation[conversation_id]
                escalation.state, escalation.agent_id, escalation.claimed_at = "agent", chosen.agent_id, now
                row = await session.get(models.Agent, chosen.agent_id)
                assert row is not None
                row.last_assigned_at = at
                self._audit(session, "hub:router", "assigned", conversation_id, agent=chosen.username)
                given.append((conversation_id, cast(Agent, _agent(row))))
            return given

    # Time rules (handoff/sweeper.py): each a conditional write, so hubs sweeping at once act once ----------

    async def time_out_unanswered(self, now: datetime, after: timedelta, notice: str) -> list[tuple[int, str]]:
        """Conversations given to an agent `after` ago or more who has not written in them since: back to the
        queue with their priority and waiting time, the customer told `notice`, and the agent set away (so
        routing does not hand it straight back); the (conversation id, agent) pairs. A message of the agent at
        the same moment wins (the conversation row changed: left alone)."""
        async with self._transaction() as session:
            await session.execute(select(models.Agent.id).with_for_update())  # agents first, as transfer and routing
            rows = (
                await session.execute(
                    select(models.Conversation.id, models.Conversation.updated_at, models.Escalation, models.Agent)
                    .join(models.Escalation, models.Escalation.conversation_id == models.Conversation.id)
                    .join(models.Agent, models.Agent.id == models.Conversation.agent_id)
                    .where(
                        models.Conversation.state == "agent",
                        models.Escalation.state == "agent",
                        models.Escalation.claimed_at <= now - after,
                    )
                )
            ).all()
            back: list[tuple[int, str]] = []
            for conversation_id, updated_at, escalation, agent in rows:
                answered = await session.scalar(
                    select(func.count())
                    .select_from(models.Message)
                    .where(
                        models.Message.conversation_id == conversation_id,
                        models.Message.role == "agent",
                        models.Message.agent_id == agent.id,  # the holder's own answer (not a previous holder's)
                        models.Message.created_at >= escalation.claimed_at,
                    )
                )
                if answered:
                    continue
                moved = await session.execute(
                    update(models.Conversation)
                    .where(
                        models.Conversation.id == conversation_id,
                        models.Conversation.state == "agent",
                        models.Conversation.agent_id == agent.id,
                        models.Conversation.updated_at == updated_at,
                    )
                    .values(state="queued", agent_id=None, updated_at=now)
                )
                if not _rowcount(moved):
                    continue
                waited = int((now - (escalation.claimed_at or now)).total_seconds())
                escalation.state, escalation.agent_id, escalation.claimed_at = "queued", None, None
                escalation.wait_alerted_at = None  # waiting again: a new alert if it waits too long
                session.add(
                    models.Message(
                        conversation_id=conversation_id, role="system", text=notice, extra={}, created_at=now
                    )
                )
                self._audit(
                    session, "hub:sweeper", "assignment_timed_out", conversation_id, agent=agent.username, after=waited
                )
                if agent.presence == "online":  # evidently not at the console: routing gives them nothing more
                    await self._set_presence(session, cast(Agent, _agent(agent)), "away", actor="hub:sweeper")
                back.append((conversation_id, agent.username))
            return back

    async def mark_silent(self, now: datetime, after: timedelta) -> list[int]:
        """Conversations with an agent whose customer has not answered the agent's last message for `after`:
        marked silent (unresolved-silent), never closed for it; the ids marked now."""
        last_agent_message = (
            select(func.max(models.Message.created_at))
            .where(models.Message.conversation_id == models.Conversation.id, models.Message.role == "agent")
            .scalar_subquery()
        )
        async with self._transaction() as session:
            marked = (
                await session.scalars(
                    update(models.Conversation)
                    .where(
                        models.Conversation.state == "agent",
                        models.Conversation.silent_since.is_(None),
                        last_agent_message <= now - after,
                        or_(
                            models.Conversation.last_customer_message_at.is_(None),
                            models.Conversation.last_customer_message_at < last_agent_message,
                        ),
                    )
                    .values(silent_since=now)
                    .returning(models.Conversation.id)
                )
            ).all()
            for conversation_id in marked:
                self._audit(session, "hub:sweeper", "marked_silent", conversation_id, after=int(after.total_seconds()))
            return list(marked)

    async def raise_wait_alerts(self, now: datetime, after: timedelta) -> list[int]:
        """Escalations waiting in the queue for `after` or more, not alerted yet: alerted now (audit
        `wait_alert`, the supervisors' event); their conversation ids."""
        async with self._transaction() as session:
            alerted = (
                await session.execute(
                    update(models.Escalation)
                    .where(
                        models.Escalation.state == "queued",
                        models.Escalation.wait_alerted_at.is_(None),
                        models.Escalation.created_at <= now - after,
                    )
                    .values(wait_alerted_at=now)
                    .returning(models.Escalation.conversation_id, models.Escalation.created_at)
                )
            ).all()
            for conversation_id, created_at in alerted:
                waited = int((now - created_at).total_seconds())
                self._audit(session, "hub:sweeper", "wait_alert", conversation_id, waited_seconds=waited)
            return [conversation_id for conversation_id, _ in alerted]

    async def record_told(self, conversation_id: int, position: int, wait: int) -> None:
        """The queue position and expected wait the waiting customer was just told."""
        async with self._transaction() as session:
            await session.execute(
                update(models.Escalation)
                .where(models.Escalation.conversation_id == conversation_id, models.Escalation.state == "queued")
                .values(told_position=position, told_wait=wait)
            )

    async def told(self) -> dict[int, tuple[int, int] | None]:
        """For every waiting conversation: the position and wait its customer was last told (None: nothing yet)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    models.Escalation.conversation_id, models.Escalation.told_position, models.Escalation.told_wait
                ).where(models.Escalation.state == "queued")
            )
            return {c: (p, w) if p is not None and w is not None else None for c, p, w in rows}

    async def wait_alerts(self, now: datetime) -> list[dict[str, Any]]:
        """The conversations still waiting whose wait raised an alert, longest waiting first."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(models.Escalation, models.Conversation.sender)
                .join(models.Conversation, models.Conversation.id == models.Escalation.conversation_id)
                .where(models.Escalation.state == "queued", models.Escalation.wait_alerted_at.is_not(None))
                .order_by(models.Escalation.created_at)
            )
            return [
                {
                    "conversation_id": e.conversation_id,
                    "sender": sender,
                    "reason": e.reason,
                    "priority": service.effective_priority(e.priority, e.created_at, now),
                    "waiting_seconds": int((now - e.created_at).total_seconds()),
                    "alerted_at": e.wait_alerted_at.isoformat() if e.wait_alerted_at else None,
                }
                for e, sender in rows
            ]

    async def transfer(
        self, conversation_id: int, agent: Agent, body: TransferBody, notice: Callable[[str], str]
    ) -> Conversation:
        """Pass a conversation its agent holds (a supervisor: any agent's) to another available agent with free
        capacity, or back to the queue for a team, keeping its priority and waited time; the note goes with it
        (escalation.transfers, audit). `notice(target name)` is what the customer is told."""
        now = models.utcnow()
        actor = f"agent:{agent.username}"
        async with self._transaction() as session:
            candidates = await self._candidates(session, lock=True)  # agents first, as routing and the sweeper
            # The rows are locked (PostgreSQL; SQLite's write lock covers it): a handback, resolve or timeout at the
            # same moment comes strictly before this transfer (which then refuses) or after it.
            row = await session.get(models.Conversation, conversation_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no conversation {conversation_id}")
            if row.state != "agent" or (row.agent_id != agent.id and agent.role != "supervisor"):
                raise Conflict(f"conversation {conversation_id} is not assigned to you (state {row.state})")
            escalation = await session.scalar(
                select(models.Escalation)
                .where(models.Escalation.conversation_id == conversation_id, models.Escalation.state == "agent")
                .with_for_update()
            )
            if escalation is None:
                raise Conflict(f"conversation {conversation_id} has no open escalation")
            holder = await session.get(models.Agent, row.agent_id)
            record: dict[str, Any] = {
                "from": holder.username if holder else None,
                "by": agent.username,
                "note": body.note,
                "at": now.isoformat(),
            }
            if body.to_agent is not None:
                target = next((c for c in candidates if c.username == body.to_agent), None)
                if target is None:
                    raise NotFound(f"no agent {body.to_agent}")
                if target.agent_id == row.agent_id:
                    raise Conflict(f"conversation {conversation_id} is with {target.username} already")
                need = routing.Need(conversation_id, frozenset(escalation.skills), None)
                refused = routing.unavailable_reason(need, target)
                if refused:
                    raise Conflict(f"cannot transfer to {refused}")
                target_row = await session.get(models.Agent, target.agent_id)
                assert target_row is not None
                row.agent_id = escalation.agent_id = target.agent_id
                escalation.claimed_at = now  # the new holder's time to answer starts now
                target_row.last_assigned_at = now
                record["to"] = target.username
                told = notice(target_row.display_name)
            else:
                if not any(c.team == body.to_team for c in candidates):
                    raise NotFound(f"no team {body.to_team}: no agent belongs to it")
                row.state, row.agent_id = "queued", None
                escalation.state, escalation.agent_id, escalation.team = "queued", None, body.to_team
                escalation.wait_alerted_at = None  # waiting again: a new alert if it waits too long
                record["to_team"] = body.to_team
                told = notice(f"the {body.to_team} team")
            row.updated_at = now
            escalation.transfers = [*escalation.transfers, record]
            session.add(
                models.Message(conversation_id=conversation_id, role="system", text=told, extra={}, created_at=now)
            )
            self._audit(
                session, actor, "transferred", conversation_id, **{k: v for k, v in record.items() if k != "at"}
            )
        return await self.conversation(conversation_id)

    # Conversations and messages ---------------------------------------------------------------------

    async def conversation(self, conversation_id: int) -> Conversation:
        found = await self._run(lambda c: _conversation_in(c, conversation_id), write=False)
        if found is None:
            raise NotFound(f"no conversation {conversation_id}")
        return found

    async def conversation_by_sender(self, sender: str) -> Conversation | None:
        def read(connection: Connection) -> Conversation | None:
            row = connection.execute(_CONVERSATION_BY_SENDER, {"b_sender": sender}).first()
            return _conversation_of(row) if row is not None else None

        return await self._run(read, write=False)

    async def receive_customer_message(
        self, sender: str, text: str, claim: Claim = ANONYMOUS, message_id: str | None = None
    ) -> tuple[Conversation, Message, bool]:
        """Store a customer's message (creating, linking or reopening the conversation) and commit; the bool
        says it was stored before: `message_id` (the client's id for it) names a message of the conversation.
        Unauthorized, storing nothing, when the conversation is linked to a customer the claim does not prove
        (handoff/customer_tokens.py); Conflict when `message_id` was used for another text."""
        received = await self._receive(sender, text, claim, message_id, deliver=False)
        return received.conversation, received.message, received.stored_before

    async def take_customer_message(
        self, sender: str, text: str, claim: Claim = ANONYMOUS, message_id: str | None = None
    ) -> Received:
        """receive_customer_message, and in the same transaction, when the conversation is not with the bot: its
        agent messages not yet delivered, now delivered, recorded as the message's answer (if it has a message_id)
        when they are all of it (with an agent, or waiting with some: a waiting customer's answer without them is
        a queue notice, recorded with it)."""
        return await self._receive(sender, text, claim, message_id, deliver=True)

    async def _receive(
        self, sender: str, text: str, claim: Claim, message_id: str | None, *, deliver: bool
    ) -> Received:
        for attempt in (1, 2):
            try:
                return await self._run(
                    lambda c: _receive_in(c, sender, text, claim, message_id, deliver),
                    write=True,
                    stored=lambda r: set() if r.stored_before else {r.conversation.id},
                )
            except IntegrityError:
                # Two first messages of one sender at once (the other created the conversation), or two
                # requests with one message id (the other stored it): the second attempt finds what they made.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def record_answer(self, message_id: int, answer: Sequence[int]) -> bool:
        """The ids of the messages the hub answered customer message `message_id` with (for its retries); False,
        changing nothing, if an answer was recorded already (the first one stays)."""
        async with self._transaction() as session:
            recorded = await session.execute(
                update(models.Message)
                .where(models.Message.id == message_id, models.Message.answer.is_(None))
                .values(answer=list(answer))
            )
            return bool(_rowcount(recorded))

    async def answer_of(self, message_id: int) -> list[Message] | None:
        """The messages customer message `message_id` was answered with, in order; None while unanswered."""
        async with self._sessions() as session:
            answer = await session.scalar(select(models.Message.answer).where(models.Message.id == message_id))
            if answer is None:
                return None
            rows = await session.scalars(
                select(models.Message).where(models.Message.id.in_(answer)).order_by(models.Message.id)
            )
            return await self._messages(session, rows.all())

    async def add_messages(
        self, conversation_id: int, role: str, items: Sequence[tuple[str, dict[str, Any]]], agent_id: int | None = None
    ) -> list[Message]:
        """Store bot or system messages, in order."""
        stored, _ = await self.add_answer(conversation_id, role, items, agent_id)
        return stored

    async def add_answer(
        self,
        conversation_id: int,
        role: str,
        items: Sequence[tuple[str, dict[str, Any]]],
        agent_id: int | None = None,
        *,
        answering: int | None = None,
    ) -> tuple[list[Message], bool]:
        """add_messages; with `answering`, in the same transaction, record them as the answer of that customer
        message (record_answer: the bool says whether this was the first answer; False without `answering`)."""

        def work(connection: Connection) -> tuple[list[Message], bool]:
            agent = None
            if agent_id is not None:
                found = connection.execute(_AGENT_NAME, {"b_id": agent_id}).first()
                agent = (
                    Agent.model_construct(id=found.id, username=found.username, display_name=found.display_name)
                    if found
                    else None
                )
            stored = _insert_messages_in(connection, conversation_id, role, items, agent, models.utcnow())
            recorded = (
                _record_answer_in(connection, answering, [m.id for m in stored]) if answering is not None else False
            )
            return stored, recorded

        return await self._run(work, write=True, stored=lambda r: _stored_by(r[0]))

    async def take_undelivered_agent_messages(self, conversation_id: int) -> list[Message]:
        """Agent messages not yet delivered to the customer, now marked delivered (each goes out once)."""
        return await self._run(lambda c: _take_undelivered_in(c, conversation_id, models.utcnow()), write=True)

    async def messages(self, conversation_id: int, after: int = 0, *, mark_delivered: bool = False) -> list[Message]:
        """Messages with id > after, oldest first; mark_delivered: the customer has now seen the agent's."""
        after = self._cursor(after)
        result = await self._run(  # a read: polls do not wait for the write lock
            lambda c: _messages_in(c, _MESSAGES_AFTER, {"b_conversation": conversation_id, "b_after": after}),
            write=False,
        )
        undelivered = [m.id for m in result if m.role == "agent" and m.delivered_at is None] if mark_delivered else []
        if undelivered:
            await self._run(
                lambda c: c.execute(_MARK_DELIVERED, {"b_ids": undelivered, "delivered_at": models.utcnow()}),
                write=True,
            )
        return result

    # Escalations ------------------------------------------------------------------------------------

    async def open_escalation(self, conversation_id: int) -> Escalation | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(models.Escalation)
                .where(
                    models.Escalation.conversation_id == conversation_id,
                    models.Escalation.state.in_(OPEN_ESCALATION),
                )
                .order_by(models.Escalation.id.desc())
            )
            return await self._escalation(session, row) if row else None

    async def latest_escalation(self, conversation_id: int) -> Escalation | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(models.Escalation)
                .where(models.Escalation.conversation_id == conversation_id)
                .order_by(models.Escalation.id.desc())
            )
            return await self._escalation(session, row) if row else None

    async def human_helped(self, conversation_id: int) -> bool:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(models.Escalation)
                .where(models.Escalation.conversation_id == conversation_id, models.Escalation.claimed_at.is_not(None))
            )
            return bool(count)

    async def escalate(self, conversation_id: int, body: EscalationBody, actor: str) -> tuple[Escalation, bool]:
        """Queue the conversation; (escalation, True) if queued now, (its open escalation, False) if it was
        queued or with an agent already."""
        now = models.utcnow()
        async with self._transaction() as session:
            moved = _rowcount(
                await session.execute(
                    update(models.Conversation)
                    .where(
                        models.Conversation.id == conversation_id,
                        models.Conversation.state.in_(service.TRANSITIONS["escalate"]),
                    )
                    .values(state=service.TARGET["escalate"], agent_id=None, updated_at=now)
                )
            )
            if moved:
                customer_row = await session.scalar(
                    select(models.Customer)
                    .join(models.Conversation, models.Conversation.customer_id == models.Customer.id)
                    .where(models.Conversation.id == conversation_id)
                )
                customer = _customer(customer_row) if customer_row else None
                open_incidents = await session.scalars(
                    select(models.Incident).where(models.Incident.resolved_at.is_(None))
                )
                incident = service.incident_for(customer, [_incident(i) for i in open_incidents])
                row = models.Escalation(
                    conversation_id=conversation_id,
                    state="queued",
                    reason=body.reason,
                    summary=body.summary,
                    problem=body.problem,
                    frustration=[p.model_dump() for p in body.frustration],
                    frustration_level=service.frustration_level(body.frustration),
                    trajectory=body.trajectory.model_dump() if body.trajectory else None,
                    priority=service.priority(body.frustration, body.trajectory, body.reason, customer, incident),
                    skills=list(body.skills),
                    team=body.team,
                    apologies=[a.model_dump(mode="json") for a in body.apologies],
                    created_at=now,
                )
                session.add(row)
                await session.flush()
                self._audit(session, actor, "escalated", conversation_id, escalation_id=row.id, reason=body.reason)
                return await self._escalation(session, row), True
        current = await self.open_escalation(conversation_id)
        if current is None:
            raise Conflict("the conversation is neither with the bot nor waiting for a person")
        return current, False

    async def queue_facts(self, conversation_id: int) -> QueueFacts:
        """What a waiting customer's place and wait are computed from (flows._queue_info), read in one snapshot."""
        now = models.utcnow()
        online = {"b_now": now, "b_seen_since": now - ONLINE_WINDOW}

        def read(connection: Connection) -> QueueFacts:
            queued = connection.execute(_QUEUED)
            handled = connection.execute(_HANDLED)
            agents_online = connection.scalar(_AGENTS_ONLINE, online)
            team = connection.scalar(_OPEN_TEAM, {"b_conversation": conversation_id})
            teams = connection.execute(_ALL_TEAMS)
            return QueueFacts(
                queued=_queued_of(queued),
                handle_times=_handle_times_of(handled),
                agents_online=int(agents_online or 0),
                team=team,
                teams=[Team.model_validate(dict(t._mapping)) for t in teams],
            )

        return await self._run(read, write=False)

    async def message(self, message_id: int) -> Message | None:
        async with self._sessions() as session:
            row = await session.get(models.Message, message_id)
            return (await self._messages(session, [row]))[0] if row is not None else None

    async def escalated_on(self, conversation_id: int, message_id: int) -> bool:
        """Whether the conversation escalated on this customer message: an escalation made after it, before the
        customer wrote again."""
        given = {"b_conversation": conversation_id, "b_message": message_id}
        found = await self._run(lambda connection: connection.scalar(_ESCALATED_ON, given), write=False)
        return found is not None

    async def last_message_id(self, conversation_id: int) -> int:
        """The id of the conversation's latest message (0: none)."""
        found = await self._run(
            lambda connection: connection.scalar(_LAST_MESSAGE, {"b_conversation": conversation_id}), write=False
        )
        return int(found or 0)

    async def queued(self) -> list[service.Queued]:
        return await self._run(lambda connection: _queued_of(connection.execute(_QUEUED)), write=False)

    async def handle_times(self) -> list[timedelta]:
        """How long agents took on the latest resolved escalations."""
        return await self._run(lambda connection: _handle_times_of(connection.execute(_HANDLED)), write=False)

    async def queue_items(self, agent: Agent) -> tuple[list[QueueItem], list[QueueItem]]:
        """(waiting for anyone, in queue order), (with this agent)."""
        now = models.utcnow()
        async with self._sessions() as session:
            rows = await session.execute(
                select(models.Escalation, models.Conversation, models.Customer)
                .join(models.Conversation, models.Conversation.id == models.Escalation.conversation_id)
                .outerjoin(models.Customer, models.Customer.id == models.Conversation.customer_id)
                .where(
                    or_(
                        models.Escalation.state == "queued",
                        (models.Escalation.state == "agent") & (models.Escalation.agent_id == agent.id),
                    )
                )
            )
            queued: list[tuple[service.Queued, QueueItem]] = []
            mine: list[QueueItem] = []
            for escalation, conversation, customer in rows:
                item = QueueItem(
                    conversation_id=conversation.id,
                    sender=conversation.sender,
                    customer=_customer(customer) if customer else None,
                    reason=escalation.reason,
                    summary=escalation.summary,
                    priority=service.effective_priority(escalation.priority, escalation.created_at, now),
                    frustration_level=escalation.frustration_level,
                    waiting_seconds=int((now - escalation.created_at).total_seconds()),
                    state=escalation.state,
                    skills=list(escalation.skills),
                    team=escalation.team,
                    silent_since=conversation.silent_since,
                )
                if escalation.state == "queued":
                    key = service.Queued(conversation.id, escalation.priority, escalation.created_at)
                    queued.append((key, item))
                else:
                    mine.append(item)
            by_id = {key.conversation_id: item for key, item in queued}
            ordered = [by_id[q.conversation_id] for q in service.queue_order((k for k, _ in queued), now)]
            return ordered, sorted(mine, key=lambda i: i.conversation_id)

    async def claim(self, conversation_id: int, agent: Agent) -> Conversation:
        """Give a queued conversation to `agent`. Of agents claiming at once, exactly one wins."""
        now = models.utcnow()
        async with self._transaction() as session:
            won = _rowcount(
                await session.execute(
                    update(models.Conversation)
                    .where(
                        models.Conversation.id == conversation_id,
                        models.Conversation.state.in_(service.TRANSITIONS["claim"]),
                    )
                    .values(state=service.TARGET["claim"], agent_id=agent.id, updated_at=now)
                )
            )
            if won:
                await session.execute(
                    update(models.Escalation)
                    .where(models.Escalation.conversation_id == conversation_id, models.Escalation.state == "queued")
                    .values(state="agent", agent_id=agent.id, claimed_at=now)
                )
                self._audit(session, f"agent:{agent.username}", "claimed", conversation_id)
        conversation = await self.conversation(conversation_id)  # NotFound for an unknown id
        if not won:
            holder = f" (with {conversation.agent.display_name})" if conversation.agent else ""
            raise Conflict(
                f"conversation {conversation_id} is not waiting in the queue: state {conversation.state}{holder}"
            )
        return conversation

    async def _require_assigned(self, session: AsyncSession, conversation_id: int, agent: Agent) -> models.Conversation:
        row = await session.get(models.Conversation, conversation_id)
        if row is None:
            raise NotFound(f"no conversation {conversation_id}")
        if row.state != "agent" or row.agent_id != agent.id:
            raise Conflict(f"conversation {conversation_id} is not assigned to you (state {row.state})")
        return row

    async def add_agent_message(self, conversation_id: int, agent: Agent, text: str) -> Message:
        """Store an agent's message, only while the conversation is assigned to that agent. The check and the
        insert are one step (a conditional UPDATE first, which also takes the row's write lock), so a handback
        or resolve at the same moment comes strictly before (the message is refused) or after it."""

        def work(connection: Connection) -> Message:
            now = models.utcnow()
            held = connection.execute(
                _HOLD_CONVERSATION, {"b_id": conversation_id, "b_agent": agent.id, "updated_at": now}
            )
            if not held.rowcount:
                row = connection.execute(_ASSIGNMENT, {"b_id": conversation_id}).first()
                if row is None:
                    raise NotFound(f"no conversation {conversation_id}")
                if row.state != "agent" or row.agent_id != agent.id:
                    raise Conflict(f"conversation {conversation_id} is not assigned to you (state {row.state})")
                raise Conflict(f"conversation {conversation_id} changed meanwhile")
            named = Agent.model_construct(id=agent.id, username=agent.username, display_name=agent.display_name)
            (message,) = _insert_messages_in(connection, conversation_id, "agent", [(text, {})], named, now)
            return message

        return await self._run(work, write=True, stored=lambda m: {m.conversation_id})

    async def _close_escalation(
        self, session: AsyncSession, conversation_id: int, state: str, note: str, agent: Agent | None = None
    ) -> None:
        values: dict[str, Any] = {"state": state, "closed_at": models.utcnow(), "note": note or None}
        if agent is not None:
            values["agent_id"] = agent.id
        await session.execute(
            update(models.Escalation)
            .where(models.Escalation.conversation_id == conversation_id, models.Escalation.state.in_(OPEN_ESCALATION))
            .values(**values)
        )

    async def handback(self, conversation_id: int, agent: Agent, note: str, customer_notice: str) -> Conversation:
        """The assigned agent gives the conversation back to the bot."""
        now = models.utcnow()
        async with self._transaction() as session:
            moved = _rowcount(
                await session.execute(
                    update(models.Conversation)
                    .where(
                        models.Conversation.id == conversation_id,
                        models.Conversation.state.in_(service.TRANSITIONS["handback"]),
                        models.Conversation.agent_id == agent.id,
                    )
                    .values(state=service.TARGET["handback"], agent_id=None, updated_at=now)
                )
            )
            if not moved:
                await self._require_assigned(session, conversation_id, agent)
                raise Conflict(f"conversation {conversation_id} changed meanwhile")
            await self._close_escalation(session, conversation_id, "handed_back", note)
            session.add(
                models.Message(
                    conversation_id=conversation_id, role="system", text=customer_notice, extra={}, created_at=now
                )
            )
            self._audit(session, f"agent:{agent.username}", "handed_back", conversation_id, note=note)
        return await self.conversation(conversation_id)

    async def resolve(self, conversation_id: int, agent: Agent, reason: str, customer_notice: str) -> Conversation:
        """Close a conversation: the assigned agent's, or one still waiting in the queue."""
        now = models.utcnow()
        async with self._transaction() as session:
            moved = _rowcount(
                await session.execute(
                    update(models.Conversation)
                    .where(
                        models.Conversation.id == conversation_id,
                        or_(
                            models.Conversation.state == "queued",
                            (models.Conversation.state == "agent") & (models.Conversation.agent_id == agent.id),
                        ),
                    )
                    .values(state=service.TARGET["resolve"], agent_id=None, updated_at=now)
                )
            )
            if not moved:
                row = await session.get(models.Conversation, conversation_id)
                if row is None:
                    raise NotFound(f"no conversation {conversation_id}")
                raise Conflict(f"conversation {conversation_id} is not yours to resolve (state {row.state})")
            await self._close_escalation(session, conversation_id, "resolved", reason, agent)
            session.add(
                models.Message(
                    conversation_id=conversation_id, role="system", text=customer_notice, extra={}, created_at=now
                )
            )
            self._audit(session, f"agent:{agent.username}", "resolved", conversation_id, reason=reason)
        return await self.conversation(conversation_id)

    # Compensations ----------------------------------------------------------------------------------

    async def compensation(self, customer_id: str, incident_id: str) -> Compensation | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(models.Compensation).where(
                    models.Compensation.customer_id == customer_id, models.Compensation.incident_id == incident_id
                )
            )
            return _compensation(row) if row else None

    async def awaiting_compensation(self, customer_id: str) -> Compensation | None:
        """The customer's most recent offer that still awaits a decision (offered, pending_approval or
        approved), whatever its incident's state; None if there is none."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(models.Compensation)
                .where(
                    models.Compensation.customer_id == customer_id,
                    models.Compensation.status.in_(compensations.AWAITING),
                )
                .order_by(models.Compensation.created_at.desc(), models.Compensation.id.desc())
                .limit(1)
            )
            return _compensation(row) if row else None

    async def compensations_of(self, customer_id: str) -> list[Compensation]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(models.Compensation)
                .where(models.Compensation.customer_id == customer_id)
                .order_by(models.Compensation.id)
            )
            return [_compensation(r) for r in rows]

    async def record_compensation(
        self, body: CompensationBody, conversation_id: int | None, actor: str
    ) -> tuple[Compensation, bool]:
        """(the new record, True), or (the one already recorded for that customer and incident, False)."""
        existing = await self.compensation(body.customer_id, body.incident_id)
        if existing:
            return existing, False
        try:
            async with self._transaction() as session:
                if await session.get(models.Customer, body.customer_id) is None:
                    raise NotFound(f"no customer {body.customer_id}")
                if await session.get(models.Incident, body.incident_id) is None:
                    raise NotFound(f"no incident {body.incident_id}")
                now = models.utcnow()
                row = models.Compensation(
                    customer_id=body.customer_id,
                    incident_id=body.incident_id,
                    conversation_id=conversation_id,
                    rule=body.rule,
                    kind=body.kind,
                    amount=body.amount,
                    original_amount=body.amount,
                    agent_max_amount=body.agent_max_amount,
                    currency=body.currency,
                    reason=body.reason,
                    status=body.status,
                    decided_by=None,
                    decided_at=None,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                await session.flush()
                self._audit(
                    session,
                    actor,
                    "compensation_recorded",
                    conversation_id,
                    compensation_id=row.id,
                    customer_id=body.customer_id,
                    incident_id=body.incident_id,
                    rule=body.rule,
                    amount=str(body.amount),
                    agent_max_amount=str(body.agent_max_amount),
                    status=body.status,
                )
                return _compensation(row), True
        except IntegrityError:
            recorded = await self.compensation(body.customer_id, body.incident_id)
            if recorded is None:
                raise
            return recorded, False

    async def compensation_by_id(self, compensation_id: int) -> Compensation:
        async with self._sessions() as session:
            row = await session.get(models.Compensation, compensation_id)
            if row is None:
                raise NotFound(f"no compensation {compensation_id}")
            return _compensation(row)

    async def compensations(self, status: str | None = None) -> list[Compensation]:
        """Every compensation record, or those in one status; newest first."""
        query = select(models.Compensation).order_by(
            models.Compensation.created_at.desc(), models.Compensation.id.desc()
        )
        if status is not None:
            query = query.where(models.Compensation.status == status)
        async with self._sessions() as session:
            return [_compensation(r) for r in await session.scalars(query)]

    @staticmethod
    async def _locked_compensation(
        session: AsyncSession, compensation_id: int, *where: Any
    ) -> models.Compensation | None:
        """The row (None if no row with this id meets `where`), read after taking its write lock (SQLite: the
        database's): two decisions at once apply one after the other, the second seeing the first's result."""
        touched = await session.execute(
            update(models.Compensation)
            .where(models.Compensation.id == compensation_id, *where)
            .values(updated_at=models.Compensation.updated_at)
            .execution_options(synchronize_session=False)
        )
        if not _rowcount(touched):
            return None
        return await session.get(models.Compensation, compensation_id, populate_existing=True)

    async def _decide(
        self,
        session: AsyncSession,
        row: models.Compensation,
        actor: str,
        action: str,
        conversation_id: int | None,
        status: str,
        before: dict[str, str] | None = None,
        **detail: Any,
    ) -> Compensation:
        """Give the locked offer its new status (who and when), and audit it with its terms before and after."""
        before = before or _terms(row)
        row.status, row.decided_by = status, actor
        row.decided_at = row.updated_at = models.utcnow()
        await session.flush()
        self._audit(
            session,
            actor,
            action,
            conversation_id,
            compensation_id=row.id,
            customer_id=row.customer_id,
            incident_id=row.incident_id,
            before=before,
            after=_terms(row),
            **detail,
        )
        return _compensation(row)

    async def answer_compensation(
        self, compensation_id: int, sender: str, answer: CompensationAnswer, shown: Decimal | None = None
    ) -> Compensation:
        """The customer's answer. Only a conversation of the offer's customer may give it (NotFound otherwise,
        worded as for an unknown id); the answer already recorded changes nothing and writes no audit row.
        `shown`, the amount the customer was shown, must be the offer's current amount (Conflict otherwise)."""
        actor = f"customer:{sender}"
        owner = select(models.Conversation.customer_id).where(models.Conversation.sender == sender)
        async with self._transaction() as session:
            row = await self._locked_compensation(
                session, compensation_id, models.Compensation.customer_id == owner.scalar_subquery()
            )
            if row is None:
                raise NotFound(f"no compensation {compensation_id} for this customer")
            if not compensations.check_answer(row.id, row.status, answer, row.amount, row.currency, shown):
                return _compensation(row)
            conversation_id = await session.scalar(
                select(models.Conversation.id).where(models.Conversation.sender == sender)
            )
            return await self._decide(session, row, actor, f"compensation_{answer}", conversation_id, answer)

    async def approve_compensation(self, compensation_id: int, agent: Agent) -> Compensation:
        """An agent approves an offer pending approval; approving it again changes nothing."""
        actor = f"agent:{agent.username}"
        async with self._transaction() as session:
            row = await self._locked_compensation(session, compensation_id)
            if row is None:
                raise NotFound(f"no compensation {compensation_id}")
            if not compensations.check_approve(row.id, row.status):
                return _compensation(row)
            return await self._decide(
                session, row, actor, "compensation_approved", row.conversation_id, "approved", agent=agent.username
            )

    async def override_compensation(
        self, compensation_id: int, agent: Agent, body: CompensationOverrideBody
    ) -> Compensation:
        """An agent sets another amount, from the offer's original_amount (what the policy gave) up to its
        agent_max_amount; the offer becomes approved. Refused once the customer accepted. Every override is
        audited, the same amount again too."""
        actor = f"agent:{agent.username}"
        async with self._transaction() as session:
            row = await self._locked_compensation(session, compensation_id)
            if row is None:
                raise NotFound(f"no compensation {compensation_id}")
            compensations.check_override(
                row.id, row.status, body.amount, row.original_amount, row.agent_max_amount, row.currency
            )
            before = _terms(row)
            row.amount = body.amount
            return await self._decide(
                session,
                row,
                actor,
                "compensation_overridden",
                row.conversation_id,
                "approved",
                before=before,
                reason=body.reason,
                agent=agent.username,
            )
