"""action_apologize and action_stop_apologizing: one specific apology per problem, then facts.

- The apology names this customer's problem and, when an open incident explains it, that incident's
  facts and the next step (`actions.composition`).
- At most one apology per problem per conversation (slot `apologized_problems`); a person having
  helped counts as the problem already acknowledged.
- Frustration after the apology gets the offer of a person, not a second apology.
- After `stop_apologizing` (slot `apologies_stopped`): facts and next steps only, in plain words.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import CandorAction
from actions.composition import IncidentFacts, compose_apology, compose_offer_person, compose_plain_update
from actions.conversation import asked_to_stop_apologizing, latest_frustration, latest_problem
from actions.problems import Problem

__all__ = ["ActionApologize", "ActionStopApologizing", "relevant_facts"]

FRUSTRATED = {"medium", "high"}
# The incident's services that explain a problem with each of the customer's services.
_EXPLAINED_BY = {"router": {"internet", "router"}, "app": {"app", "internet"}, "email": {"email", "internet"}}


def relevant_facts(problem: Problem | None, incident: dict[str, Any] | None) -> IncidentFacts | None:
    """The incident's facts when the incident can explain this problem, else None.

    A problem naming no service may well be the incident (the hub matched it to this customer); a
    problem with a service is explained only by an incident affecting that service.
    """
    facts = IncidentFacts.from_hub(incident)
    if facts is None or problem is None or problem.service is None:
        return facts
    service = problem.key.split(":", 1)[0]
    affected = {str(s).lower() for s in (incident or {}).get("services") or []}
    return facts if affected & _EXPLAINED_BY.get(service, {service}) else None


class ActionApologize(CandorAction):
    def name(self) -> str:
        return "action_apologize"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        problem = latest_problem(tracker)
        context = await self.context(tracker)
        facts = relevant_facts(problem, context.get("incident"))
        seed = tracker.sender_id
        apologized: list[str] = list(tracker.get_slot("apologized_problems") or [])
        frustrated = latest_frustration(tracker).get("level") in FRUSTRATED
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        events: list[EventType] = [SlotSet("problem", problem.phrase() if problem else None)]

        if problem is None and intent != "report_problem":
            # Venting with no problem named yet: ask what it is, plainly.
            dispatcher.utter_message(
                text="Tell me what's gone wrong (which service, since when) and I'll check it against what we know. "
                "Or say 'person' and I'll get you one of the team."
            )
            return events
        if self.plain_talk(tracker) or context.get("human_helped"):
            if (problem and problem.key in apologized) and frustrated:
                return self._offer_person(dispatcher, problem, events)
            dispatcher.utter_message(text=compose_plain_update(problem, facts, seed))
            return events
        assert problem is not None  # a report_problem message always describes a problem
        if problem.key in apologized:
            if frustrated or intent == "express_frustration":
                return self._offer_person(dispatcher, problem, events)
            dispatcher.utter_message(text=compose_plain_update(problem, facts, seed))
            return events
        dispatcher.utter_message(text=compose_apology(problem, facts, seed))
        return [*events, SlotSet("apologized_problems", [*apologized, problem.key])]

    @staticmethod
    def _offer_person(
        dispatcher: CollectingDispatcher, problem: Problem | None, events: list[EventType]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=compose_offer_person(problem),
            buttons=[
                {"title": "Yes, get me a person", "payload": "/affirm"},
                {"title": "No, carry on", "payload": "/deny"},
            ],
        )
        return [*events, SlotSet("handoff_offered", True)]


class ActionStopApologizing(CandorAction):
    def name(self) -> str:
        return "action_stop_apologizing"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        problem = latest_problem(tracker)
        if problem is None:
            text = "Understood. Straight answers from here. What's not working?"
        else:
            context = await self.context(tracker)
            text = "Understood, straight answers from here. " + compose_plain_update(
                problem, relevant_facts(problem, context.get("incident")), tracker.sender_id
            )
        dispatcher.utter_message(text=text)
        return [SlotSet("apologies_stopped", True)]


def stop_apologizing_events(tracker: Tracker) -> list[EventType]:
    """Plain talk from now on when the latest message also asked for it."""
    return [SlotSet("apologies_stopped", True)] if asked_to_stop_apologizing(tracker) else []
