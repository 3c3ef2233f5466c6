"""What supervisors watch (GET /api/agent/overview): live counts of conversations, the frustration of recent
escalations hour by hour, and how alike the apologies of the open incident are (handoff/sameness.py)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from handoff import models, service
from handoff.flows import Hub
from handoff.sameness import MAX_COMPARED, Sameness, sameness

__all__ = ["TREND_HOURS", "overview"]

TREND_HOURS = 12  # hours of escalations in the frustration trend, the current one included


@lru_cache(maxsize=16)
def _sameness(texts: tuple[str, ...], total: int) -> Sameness:
    """Cached: supervisors' consoles ask every few seconds, and the apologies change far less often."""
    return sameness(texts, total)


async def overview(hub: Hub) -> dict[str, Any]:
    repo, now = hub.repository, models.utcnow()
    counts = await repo.conversation_counts()
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=TREND_HOURS - 1)
    incident = service.incident_for(None, await repo.incidents())
    apologies: dict[str, Any] | None = None
    if incident is not None:
        texts, total = await repo.incident_apologies(incident.id, MAX_COMPARED)
        figure = _sameness(tuple(texts), total)
        apologies = {"incident_id": incident.id, "title": incident.title, **figure.model_dump()}
    return {
        "counts": counts,
        "frustration": await repo.frustration_by_hour(since, TREND_HOURS),
        "apologies": apologies,
        "at": now.isoformat(),
    }
