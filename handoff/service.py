"""The hub's rules as plain functions: state transitions, queue order and waits, incident matching.

No I/O here: the repository and the flows call these with values they have read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff.errors import Conflict
from handoff.schemas import Customer, FrustrationPoint, Incident, QueueInfo, Trajectory

__all__ = [
    "DEFAULT_HANDLE_TIME",
    "FRUSTRATION_RANK",
    "Queued",
    "affected_by",
    "check_transition",
    "effective_priority",
    "expected_wait_minutes",
    "frustration_level",
    "incident_for",
    "priority",
    "queue_info",
    "queue_info_at",
    "queue_order",
    "queue_positions",
    "worth_telling",
]

DEFAULT_HANDLE_TIME = timedelta(minutes=5)
FRUSTRATION_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}
SEVERITY_RANK = {"minor": 1, "major": 2, "critical": 3}

# Who may move a conversation from one state to another (docs/hub-api.md, "Conversation states").
TRANSITIONS: dict[str, frozenset[str]] = {
    "escalate": frozenset({"bot", "closed"}),  # → queued
    "claim": frozenset({"queued"}),  # → agent
    "handback": frozenset({"agent"}),  # → bot
    "resolve": frozenset({"queued", "agent"}),  # → closed
    "reopen": frozenset({"closed"}),  # → bot
}
TARGET = {"escalate": "queued", "claim": "agent", "handback": "bot", "resolve": "closed", "reopen": "bot"}


def check_transition(action: str, state: str) -> str:
    """The state `action` leads to from `state`; Conflict if it is not allowed."""
    if state not in TRANSITIONS[action]:
        raise Conflict(f"cannot {action} a conversation in state {state!r}")
    return TARGET[action]


def frustration_level(points: Sequence[FrustrationPoint]) -> str:
    """The customer's current level: the latest point's, or 'none' without any."""
    return points[-1].level if points else "none"


# The priority of an escalation, in points (docs/hub-api.md, "Queue rules"). Higher is served first.
PER_FRUSTRATION_LEVEL = 10  # times the highest level seen (none 0, low 1, medium 2, high 3)
RISING_OR_SUSTAINED = 5  # the conversation's frustration is rising or stays high
ASKED_FOR_A_PERSON = 10  # the customer asked for a person in as many words
AFFECTED_BY_INCIDENT = 5  # an open incident hits one of the customer's services where they are
CRITICAL_INCIDENT = 5  # ... and it is critical
TIER_POINTS = {"business": 5, "premium": 3}  # a customer's tier counts, less than what happened to them
POINTS_PER_MINUTE_WAITED = 1  # waiting raises priority, so nobody starves: 30 minutes outweigh high frustration
ASKED_REASONS = frozenset({"customer_requested_human"})


def affected_by(customer: Customer | None, incident: Incident | None) -> bool:
    """The incident is open and hits one of the customer's services, in the customer's region (or everywhere)."""
    if customer is None or incident is None or not _is_open(incident):
        return False
    regions = {r.lower() for r in incident.regions}
    in_region = not regions or customer.region.lower() in regions
    return in_region and bool({s.lower() for s in customer.services} & {s.lower() for s in incident.services})


def priority(
    points: Sequence[FrustrationPoint],
    trajectory: Trajectory | None = None,
    reason: str = "",
    customer: Customer | None = None,
    incident: Incident | None = None,
) -> int:
    """An escalation's base priority in points: frustration (the highest level among its messages, or the
    conversation's own level when the bot's assessment of it is higher), its trend, an explicit request for a
    person, the customer's impact (an open incident that affects them, its severity, their tier). Waiting
    adds to it in the queue (`effective_priority`)."""
    levels = [*(p.level for p in points), *([trajectory.level] if trajectory else [])]
    total = PER_FRUSTRATION_LEVEL * max((FRUSTRATION_RANK[level] for level in levels), default=0)
    if trajectory is not None and trajectory.trend in ("rising", "sustained"):
        total += RISING_OR_SUSTAINED
    if reason in ASKED_REASONS:
        total += ASKED_FOR_A_PERSON
    if incident is not None and affected_by(customer, incident):
        total += AFFECTED_BY_INCIDENT + (CRITICAL_INCIDENT if incident.severity.lower() == "critical" else 0)
    if customer is not None:
        total += TIER_POINTS.get(customer.tier.lower(), 0)
    return total


def effective_priority(base: int, queued_at: datetime, now: datetime) -> int:
    """The base priority plus a point per whole minute waited."""
    return base + POINTS_PER_MINUTE_WAITED * max(0, int((now - queued_at).total_seconds() // 60))


@dataclass(frozen=True)
class Queued:
    """An escalation waiting for a person, as the queue order needs it."""

    conversation_id: int
    priority: int  # the base priority, stored with the escalation
    created_at: datetime


def queue_order(items: Iterable[Queued], now: datetime) -> list[Queued]:
    """Highest effective priority (base + waiting) first; then who has waited longest."""
    return sorted(
        items, key=lambda q: (-effective_priority(q.priority, q.created_at, now), q.created_at, q.conversation_id)
    )


def expected_wait_minutes(position: int, handle_times: Sequence[timedelta], agents_online: int) -> int:
    """position * average handle time (default 5 min) / max(1, agents online), rounded up."""
    average = sum(handle_times, timedelta()) / len(handle_times) if handle_times else DEFAULT_HANDLE_TIME
    minutes = position * average.total_seconds() / 60 / max(1, agents_online)
    return max(0, math.ceil(minutes))


def queue_positions(queued: Iterable[Queued], now: datetime) -> dict[int, int]:
    """Conversation id -> its place in the queue (1 = next)."""
    return {q.conversation_id: place for place, q in enumerate(queue_order(queued, now), start=1)}


def queue_info_at(position: int, handle_times: Sequence[timedelta], agents_online: int) -> QueueInfo:
    return QueueInfo(
        position=position,
        expected_wait_minutes=expected_wait_minutes(position, handle_times, agents_online),
        agents_online=agents_online,
    )


def queue_info(
    conversation_id: int,
    queued: Iterable[Queued],
    handle_times: Sequence[timedelta],
    agents_online: int,
    now: datetime,
) -> QueueInfo:
    """Where `conversation_id` stands in the queue (position 1 when it is not found: it is next)."""
    position = queue_positions(queued, now).get(conversation_id, 1)
    return queue_info_at(position, handle_times, agents_online)


def worth_telling(told: tuple[int, int] | None, now: QueueInfo) -> bool:
    """Whether a waiting customer who was told `told` (position, expected wait in minutes) should hear `now`:
    they moved up at least 3 places or half the way, or the wait changed by half and at least 3 minutes."""
    if told is None:
        return False  # they have been told nothing yet: the escalation's notice comes first
    position, wait = told
    moved = position - now.position >= 3 or (position > 1 and now.position <= position // 2)
    changed = abs(now.expected_wait_minutes - wait) >= max(3, wait / 2)
    return moved or changed


def _is_open(incident: Incident) -> bool:
    return incident.resolved_at is None and incident.status.lower() != "resolved"


def incident_for(customer: Customer | None, incidents: Iterable[Incident]) -> Incident | None:
    """The open incident that affects `customer` (service or region match; both beat one), else the
    most severe open incident, else None. Ties: more severe, then more recent."""
    candidates = [i for i in incidents if _is_open(i)]
    if not candidates:
        return None

    def severity(incident: Incident) -> tuple[int, float]:
        return SEVERITY_RANK.get(incident.severity.lower(), 0), incident.started_at.timestamp()

    if customer is not None:
        services = {s.lower() for s in customer.services}
        region = customer.region.lower()

        def match(incident: Incident) -> int:
            hit_service = bool(services & {s.lower() for s in incident.services})
            hit_region = region in {r.lower() for r in incident.regions}
            return int(hit_service) + int(hit_region)

        matching = [i for i in candidates if match(i) > 0]
        if matching:
            return max(matching, key=lambda i: (match(i), *severity(i)))
    return max(candidates, key=severity)
