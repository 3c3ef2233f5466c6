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
    "check_transition",
    "expected_wait_minutes",
    "frustration_level",
    "incident_for",
    "priority",
    "queue_info",
    "queue_order",
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


def priority(points: Sequence[FrustrationPoint], trajectory: Trajectory | None = None) -> int:
    """0..3: the highest frustration level seen in the conversation, or the conversation's own level
    when the bot's assessment of it (repeats, fallbacks) is higher; higher is served first."""
    levels = [*(p.level for p in points), *([trajectory.level] if trajectory else [])]
    return max((FRUSTRATION_RANK[level] for level in levels), default=0)


@dataclass(frozen=True)
class Queued:
    """An escalation waiting for a person, as the queue order needs it."""

    conversation_id: int
    priority: int
    created_at: datetime


def queue_order(items: Iterable[Queued]) -> list[Queued]:
    """Higher priority first; within a priority, who has waited longest first."""
    return sorted(items, key=lambda q: (-q.priority, q.created_at, q.conversation_id))


def expected_wait_minutes(position: int, handle_times: Sequence[timedelta], agents_online: int) -> int:
    """position * average handle time (default 5 min) / max(1, agents online), rounded up."""
    average = sum(handle_times, timedelta()) / len(handle_times) if handle_times else DEFAULT_HANDLE_TIME
    minutes = position * average.total_seconds() / 60 / max(1, agents_online)
    return max(0, math.ceil(minutes))


def queue_info(
    conversation_id: int, queued: Iterable[Queued], handle_times: Sequence[timedelta], agents_online: int
) -> QueueInfo:
    """Where `conversation_id` stands in the queue (position 1 when it is not found: it is next)."""
    order = [q.conversation_id for q in queue_order(queued)]
    position = order.index(conversation_id) + 1 if conversation_id in order else 1
    return QueueInfo(
        position=position,
        expected_wait_minutes=expected_wait_minutes(position, handle_times, agents_online),
        agents_online=agents_online,
    )


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
