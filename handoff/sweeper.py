"""The hub's time rules, applied in rounds every CANDOR_SWEEP_INTERVAL seconds (docs/hub-api.md, "Time rules").

Each round, in this order:
1. an agent who was given a conversation CANDOR_AGENT_ANSWER_SECONDS ago and has not written in it loses it:
   it goes back to the queue with its priority and waiting time, and the customer is told;
2. a conversation with an agent whose customer has not answered the agent's last message for
   CANDOR_SILENT_AFTER_SECONDS is marked silent (unresolved-silent): never closed for it, listed for follow-up;
3. an escalation waiting in the queue for CANDOR_WAIT_ALERT_SECONDS raises the supervisors' alert, once;
4. routing (handoff/flows.route), for what no event announces: a conversation whose skills no longer count,
   one a rule above put back in the queue;
5. a waiting customer whose place or expected wait changed a lot since they were last told is told again
   (service.worth_telling), when agents are online.
Every rule is a conditional write in the database, so several hubs sweeping one database act once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff import models
from handoff.flows import Hub, route, tell_queue_changes

__all__ = ["ANSWER_TIMED_OUT", "Swept", "sweep", "sweep_periodically"]

logger = logging.getLogger(__name__)

ANSWER_TIMED_OUT = (
    "The person who had your conversation hasn't been able to reply, so it's back in the queue, ahead of "
    "newer requests. Someone else will pick it up."
)


@dataclass(frozen=True)
class Swept:
    """What one round changed (conversation ids)."""

    timed_out: list[int]
    silent: list[int]
    wait_alerts: list[int]
    told: list[int]  # waiting customers told their new place and wait


async def sweep(hub: Hub, now: datetime | None = None) -> Swept:
    """One round of the time rules at `now` (default: the current time), then routing."""
    now = now or models.utcnow()
    settings, repo = hub.settings, hub.repository
    timed_out = await repo.time_out_unanswered(now, timedelta(seconds=settings.agent_answer_seconds), ANSWER_TIMED_OUT)
    for conversation_id, agent in timed_out:
        logger.info("conversation %s: %s did not answer in time; back in the queue", conversation_id, agent)
    silent = await repo.mark_silent(now, timedelta(seconds=settings.silent_after_seconds))
    alerts = await repo.raise_wait_alerts(now, timedelta(seconds=settings.wait_alert_seconds))
    for conversation_id in alerts:
        logger.warning(
            "conversation %s has waited %s s or more for a person", conversation_id, settings.wait_alert_seconds
        )
    await route(hub)
    updated = await tell_queue_changes(hub)
    return Swept([c for c, _ in timed_out], silent, alerts, updated)


async def sweep_periodically(hub: Hub) -> None:
    """A round every CANDOR_SWEEP_INTERVAL seconds until cancelled; a failed round is logged, the next one tries
    again."""
    while True:
        await asyncio.sleep(hub.settings.sweep_interval)
        try:
            await sweep(hub)
        except Exception:  # one bad round must not end the rounds
            logger.exception("sweep failed")
