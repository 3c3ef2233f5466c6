"""The store's part for apologies and supervision: the apologies the bot sent, and the figures supervisors watch
(handoff/supervision.py). Repository (handoff/repository.py) includes it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from handoff import models
from handoff.errors import BadRequest
from handoff.schemas import Apology, ApologyBody
from handoff.store_part import StorePart

__all__ = ["SupervisionStore"]

STATES = ("bot", "queued", "agent", "closed")


def _apology(row: models.Apology) -> Apology:
    return Apology.model_validate(row, from_attributes=True)


def _score(trajectory: dict[str, Any] | None, frustration: list[Any]) -> float | None:
    """An escalation's frustration: the bot's conversation-level score, else its last message's."""
    if isinstance(trajectory, dict) and isinstance(trajectory.get("score"), int | float):
        return float(trajectory["score"])
    last = frustration[-1] if frustration else None
    return float(last["score"]) if isinstance(last, dict) and isinstance(last.get("score"), int | float) else None


class SupervisionStore:
    async def record_apology(self: StorePart, conversation_id: int, body: ApologyBody) -> Apology:
        async with self._transaction() as session:
            if body.incident_id is not None and await session.get(models.Incident, body.incident_id) is None:
                raise BadRequest(f"incident_id: there is no incident {body.incident_id!r}")
            row = models.Apology(
                conversation_id=conversation_id,
                incident_id=body.incident_id,
                problem=body.problem,
                text=body.text,
                created_at=models.utcnow(),
            )
            session.add(row)
            await session.flush()
            return _apology(row)

    async def apologies_of(self: StorePart, conversation_id: int) -> list[Apology]:
        """The apologies the bot sent in this conversation, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(models.Apology)
                .where(models.Apology.conversation_id == conversation_id)
                .order_by(models.Apology.id)
            )
            return [_apology(row) for row in rows]

    async def incident_apologies(self: StorePart, incident_id: str, limit: int) -> tuple[list[str], int]:
        """The texts of the latest `limit` apologies the incident explained (oldest first), and how many in all."""
        where = models.Apology.incident_id == incident_id
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(models.Apology).where(where))
            latest = await session.scalars(
                select(models.Apology.text).where(where).order_by(models.Apology.id.desc()).limit(limit)
            )
            return list(reversed(latest.all())), int(total or 0)

    async def conversation_counts(self: StorePart) -> dict[str, int]:
        """Conversations per state (bot: the bot has it; queued; agent: with a person; closed), and silent: with a
        person, and the customer has not answered them (unresolved-silent)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(models.Conversation.state, func.count()).group_by(models.Conversation.state)
            )
            counts = dict.fromkeys(STATES, 0) | {state: int(n) for state, n in rows.all()}
            silent = await session.scalar(
                select(func.count())
                .select_from(models.Conversation)
                .where(models.Conversation.state == "agent", models.Conversation.silent_since.is_not(None))
            )
            return counts | {"silent": int(silent or 0)}

    async def frustration_by_hour(self: StorePart, since: datetime, hours: int) -> list[dict[str, Any]]:
        """Escalations per hour from `since` (an hour's start) for `hours` hours, with their mean frustration."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(models.Escalation.created_at, models.Escalation.trajectory, models.Escalation.frustration).where(
                    models.Escalation.created_at >= since
                )
            )
            scores: list[list[float]] = [[] for _ in range(hours)]
            counts = [0] * hours
            for created_at, trajectory, frustration in rows.all():
                hour = int((created_at - since) / timedelta(hours=1))
                if 0 <= hour < hours:
                    counts[hour] += 1
                    score = _score(trajectory, frustration)
                    if score is not None:
                        scores[hour].append(score)
        return [
            {
                "hour": (since + timedelta(hours=h)).isoformat(),
                "escalations": counts[h],
                "mean_score": round(sum(scores[h]) / len(scores[h]), 3) if scores[h] else None,
            }
            for h in range(hours)
        ]
