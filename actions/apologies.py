"""action_apologize and action_stop_apologizing: one specific apology per problem, then facts.

- The apology names this customer's problem and, when an open incident affecting this customer
  explains it, that incident's facts and the next step (`actions.composition`).
- At most one apology per problem per conversation (slot `apologized_problems`); a person having
  helped counts as the problem already acknowledged.
- Frustration after the apology gets the offer of a person, not a second apology.
- After a request for plain talk (slot `apologies_stopped`, or this very message): facts and next
  steps only, with no apology words.
- Every answer ends by offering a person, so the slot `handoff_offered` is set: "yes" hands off.
- After an agent handed the conversation back, the first answer says where the person left it, once
  (`actions.handback`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import PERSON_BUTTONS, CandorAction
from actions.compensation_policy import customer_affected
from actions.composition import IncidentFacts, Moment, compose_apology, compose_offer_person, compose_plain_update
from actions.conversation import first_contact, latest_frustration, latest_problem
from actions.handback import with_picking_up
from actions.hub_client import HubError
from actions.problems import Problem, describe_problem

__all__ = ["ActionApologize", "ActionStopApologizing", "apology_for", "relevant_facts"]

logger = logging.getLogger(__name__)

FRUSTRATED = {"medium", "high"}
# The incident services that can explain a problem with each of the customer's services.
_EXPLAINED_BY = {
    "router": {"internet", "router"},
    "app": {"app", "internet"},
    "email": {"email", "internet"},
    "landline": {"landline", "internet"},  # a fibre line carries the phone line too
}


def relevant_facts(
    problem: Problem | None, incident: dict[str, Any] | None, customer: dict[str, Any] | None
) -> IncidentFacts | None:
    """The incident's facts when the incident can explain this customer's problem, else None.

    Not when the incident does not affect the customer's services and region; not when the problem
    names a service the incident does not touch. A problem naming no service may well be the incident.
    """
    facts = IncidentFacts.from_hub(incident)
    if facts is None or incident is None:
        return None
    if customer is not None and not customer_affected(customer, incident):
        return None
    if problem is None or problem.service is None:
        return facts
    service = problem.key.split(":", 1)[0]
    affected = {str(s).lower() for s in incident.get("services") or []}
    return facts if affected & _EXPLAINED_BY.get(service, {service}) else None


def apology_for(
    text: str, incident: dict[str, Any] | None, sender: str, first_contact: datetime | None, now: datetime
) -> str:
    """The first apology for the problem in `text`, as action_apologize sends it (used by `make bench`)."""
    problem = describe_problem(text)
    return compose_apology(problem, relevant_facts(problem, incident, None), sender, Moment(now, first_contact))


class ActionApologize(CandorAction):
    def name(self) -> str:
        return "action_apologize"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        problem = latest_problem(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        events: list[EventType] = [
            *self.plain_talk_events(tracker),
            SlotSet("problem", problem.phrase() if problem else None),
        ]
        if problem is None:
            # Venting with no problem named yet: ask what it is, plainly.
            text, said = with_picking_up(
                "Tell me what's gone wrong (which service, since when) and I'll check it against what we know. "
                "Or say 'person' and I'll get you one of the team.",
                tracker,
            )
            dispatcher.utter_message(text=text)
            return [*events, *said]

        context = await self.context(tracker)
        facts = relevant_facts(problem, context.get("incident"), context.get("customer"))
        apologized: list[str] = list(tracker.get_slot("apologized_problems") or [])
        frustrated = latest_frustration(tracker).get("level") in FRUSTRATED or intent == "express_frustration"
        acknowledged = problem.key in apologized or bool(context.get("human_helped"))
        offered = SlotSet("handoff_offered", True)

        if acknowledged and frustrated:
            text, said = with_picking_up(compose_offer_person(problem), tracker)
            dispatcher.utter_message(text=text, buttons=PERSON_BUTTONS)
            return [*events, *said, offered]
        now = datetime.now(timezone.utc)
        if acknowledged or self.plain_talk(tracker):
            text, said = with_picking_up(compose_plain_update(problem, facts, tracker.sender_id, now), tracker)
            dispatcher.utter_message(text=text)
            return [*events, *said, offered]
        moment = Moment(now, first_contact(tracker))
        apology = compose_apology(problem, facts, tracker.sender_id, moment)
        dispatcher.utter_message(text=apology)
        incident_id = (context.get("incident") or {}).get("id") if facts else None  # the incident explains it
        await self.record_apology(tracker, problem, apology, incident_id)
        return [*events, SlotSet("apologized_problems", [*apologized, problem.key]), offered]

    async def record_apology(self, tracker: Tracker, problem: Problem, text: str, incident_id: str | None) -> None:
        """Tell the hub (logged when it cannot be told: the customer has their answer either way)."""
        try:
            await self.hub().record_apology(tracker.sender_id, problem.key, text, incident_id)
        except HubError as error:
            logger.warning("apology to %s not recorded with the hub: %s", tracker.sender_id, error)


class ActionStopApologizing(CandorAction):
    def name(self) -> str:
        return "action_stop_apologizing"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        problem = latest_problem(tracker)
        if problem is None:
            dispatcher.utter_message(text="Understood. Straight answers from here. What's not working?")
            return [SlotSet("apologies_stopped", True)]
        context = await self.context(tracker)
        facts = relevant_facts(problem, context.get("incident"), context.get("customer"))
        now = datetime.now(timezone.utc)
        text, said = with_picking_up(
            "Understood, straight answers from here. " + compose_plain_update(problem, facts, tracker.sender_id, now),
            tracker,
        )
        dispatcher.utter_message(text=text)
        return [SlotSet("apologies_stopped", True), SlotSet("handoff_offered", True), *said]
