"""action_incident_status: answers "when will it be fixed?" from the open incident's facts only (after a handback,
saying first where the person left it: actions/handback.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import CandorAction
from actions.composition import IncidentFacts, compose_status
from actions.handback import with_picking_up

__all__ = ["ActionIncidentStatus"]


class ActionIncidentStatus(CandorAction):
    def name(self) -> str:
        return "action_incident_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        context = await self.context(tracker)
        if not context:
            dispatcher.utter_message(
                text="I can't reach our incident records right now, so I can't tell you anything reliable about "
                "the status. A person can check: say 'person' and I'll hand you over."
            )
            return self.plain_talk_events(tracker)
        facts = IncidentFacts.from_hub(context.get("incident"))
        text, said = with_picking_up(compose_status(facts, tracker.sender_id, datetime.now(timezone.utc)), tracker)
        dispatcher.utter_message(text=text)
        return [*self.plain_talk_events(tracker), *said]
