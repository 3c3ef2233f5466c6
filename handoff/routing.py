"""Who gets a waiting conversation: the routing rules as plain functions (docs/hub-api.md, "Routing").

An agent can be given a conversation when they are available (presence online, console open) and have
free capacity, are in the escalation's team if it names one, and have every skill it requires. Among
those, the one assigned least recently gets it, so work is spread evenly. The queue is served in queue
order (service.queue_order); a conversation nobody can take yet stays queued and does not hold up the
ones behind it. No I/O here: the repository reads the rows, calls `assignments` and writes the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

__all__ = [
    "DEFAULT_CAPACITY",
    "MAX_CAPACITY",
    "PRESENCES",
    "SKILLS_FOR",
    "Candidate",
    "Need",
    "assignments",
    "best_agent",
    "need_of",
    "unavailable_reason",
]

PRESENCES = ("online", "away", "offline")
DEFAULT_CAPACITY = 3  # conversations an agent has at once, unless the seed or add-agent says otherwise
MAX_CAPACITY = 50
SKILLS_FOR = timedelta(minutes=3)  # how long a conversation waits for an agent with its skills (the default)
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """An agent as routing sees them."""

    agent_id: int
    username: str
    available: bool  # presence online and a live console session
    capacity: int
    open_conversations: int
    skills: frozenset[str] = frozenset()
    team: str | None = None
    last_assigned_at: datetime | None = None

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.open_conversations)


@dataclass(frozen=True)
class Need:
    """What a waiting conversation asks of its agent."""

    conversation_id: int
    skills: frozenset[str] = frozenset()
    team: str | None = None


def need_of(
    conversation_id: int, skills: Iterable[str], team: str | None, waited: timedelta, skills_for: timedelta
) -> Need:
    """What a conversation that has waited `waited` asks of its agent: its skills only for the first
    `skills_for` (CANDOR_SKILLS_WAIT_SECONDS); after that any available agent of its team will do, so
    nobody waits for ever for a skill nobody online has."""
    return Need(conversation_id, frozenset(skills) if waited < skills_for else frozenset(), team)


def unavailable_reason(need: Need, candidate: Candidate) -> str | None:
    """Why `candidate` cannot take `need` now (for a 409 that names it), or None when they can."""
    if not candidate.available:
        return f"{candidate.username} is not available (presence online with the console open)"
    if candidate.free < 1:
        return f"{candidate.username} is at capacity ({candidate.open_conversations} of {candidate.capacity})"
    if need.team is not None and candidate.team != need.team:
        return f"{candidate.username} is not in team {need.team}"
    missing = need.skills - candidate.skills
    if missing:
        return f"{candidate.username} lacks the skills {', '.join(sorted(missing))}"
    return None


def best_agent(need: Need, candidates: Iterable[Candidate]) -> Candidate | None:
    """The agent who can take `need` and was assigned least recently (never first; then the lowest id)."""
    able = [c for c in candidates if unavailable_reason(need, c) is None]
    return min(able, key=lambda c: (c.last_assigned_at or NEVER, c.agent_id), default=None)


def assignments(
    queue: Sequence[Need], candidates: Iterable[Candidate], now: datetime
) -> list[tuple[int, Candidate, datetime]]:
    """(conversation id, agent, when) for every waiting conversation that can be given out now, taken in queue
    order. Each uses one place of the agent's capacity and makes them the most recently assigned: `when` is
    `now` plus a microsecond per assignment before it, so that one round spreads work as rounds do."""
    pool = {c.agent_id: c for c in candidates}
    given: list[tuple[int, Candidate, datetime]] = []
    for need in queue:
        chosen = best_agent(need, pool.values())
        if chosen is None:
            continue
        at = now + timedelta(microseconds=len(given))
        given.append((need.conversation_id, chosen, at))
        pool[chosen.agent_id] = replace(chosen, open_conversations=chosen.open_conversations + 1, last_assigned_at=at)
    return given
