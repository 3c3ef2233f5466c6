"""action_handoff, action_offer_person, action_decline_handoff, action_answer_bot_challenge: a person is
one message away.

action_handoff asks the hub to escalate (reason, frustration history and trajectory, summary) and tells
the customer what happens next from the hub's answer. It says no apology: the customer asked for a
person, not for more words. action_offer_person offers one before the customer has to ask, when the
rules see the frustration trend rising or sustained (data/rules/frustration.yml).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import PERSON_BUTTONS, CandorAction
from actions.composition import compose_offer_person
from actions.conversation import apologies_made, frustration_history, latest_problem, summary
from actions.hub_client import HubError
from actions.trajectory import FALLBACK_INTENT, assess

__all__ = [
    "ActionAnswerBotChallenge",
    "ActionDeclineHandoff",
    "ActionHandoff",
    "ActionOfferPerson",
    "handoff_reason",
    "offer_person_text",
    "what_happens_next",
]

logger = logging.getLogger(__name__)


def handoff_reason(tracker: Tracker) -> str:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "request_human":
        return "customer_requested_human"
    if tracker.get_slot("handoff_offered"):
        return "customer_accepted_offer"
    return "frustration"


def what_happens_next(answer: dict[str, Any]) -> str:
    """The customer's next step: the handoff, then the hub's own notice of where they stand."""
    notice = str(answer.get("notice") or "").strip()
    return (
        "I'm handing you to a person now, with everything you've told me, so you won't have to repeat it. "
        f"{notice} Anything you type here goes straight to them."
    ).replace("  ", " ")


def offer_person_text(tracker: Tracker) -> str:
    """The offer of a person: after a message the bot did not understand, it says so instead."""
    if (tracker.latest_message.get("intent") or {}).get("name") == FALLBACK_INTENT:
        return (
            "I'm not following that, and going round in circles won't help you. A person from the team can take "
            "it over now, with everything you've told me. Shall I hand you over?"
        )
    return compose_offer_person(latest_problem(tracker))


class ActionHandoff(CandorAction):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        context = await self.context(tracker)
        reason = handoff_reason(tracker)
        problem = latest_problem(tracker)
        history = frustration_history(tracker)
        trajectory = assess(tracker.events)
        escalation = {
            "reason": reason,
            "summary": summary(tracker, reason, context.get("customer"), history, problem, trajectory),
            "frustration": history,
            "trajectory": trajectory.as_dict(),
            "problem": problem.phrase() if problem else None,
            # Who should take it: an agent with this skill (for a while: the hub then gives it to anyone).
            "skills": [problem.skill] if problem and problem.skill else [],
            "apologies": apologies_made(tracker),  # the agent's ledger: what was apologised for already
        }
        events: list[EventType] = [
            SlotSet("handoff_offered", False),
            SlotSet("compensation_offered", False),  # "yes" now answers nothing the bot asked before
            *self.plain_talk_events(tracker),
        ]
        if tracker.get_slot("handback_agent"):  # a note from an earlier person is not said after the next one
            events += [SlotSet("handback_agent", None), SlotSet("handback_note", None)]
        if tracker.get_slot("handoff_declined"):
            events.append(SlotSet("handoff_declined", False))
        try:
            answer = await self.hub().escalate(tracker.sender_id, escalation)
        except HubError as error:
            logger.error("escalation of %s failed: %s", tracker.sender_id, error)
            dispatcher.utter_message(
                text="I tried to pass you to a person, but the handoff system isn't answering right now. "
                "Please try again in a minute, or use the contact details on your bill to reach the team directly."
            )
            return events
        dispatcher.utter_message(text=what_happens_next(answer))
        return events


class ActionOfferPerson(CandorAction):
    def name(self) -> str:
        return "action_offer_person"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=offer_person_text(tracker), buttons=PERSON_BUTTONS)
        return [SlotSet("handoff_offered", True), *self.plain_talk_events(tracker)]


class ActionDeclineHandoff(CandorAction):
    def name(self) -> str:
        return "action_decline_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="OK, I'll keep going here. What would help most right now?")
        return [
            SlotSet("handoff_offered", False),
            SlotSet("handoff_declined", True),
            SlotSet("compensation_offered", False),  # "yes" now answers nothing the bot asked before
        ]


class ActionAnswerBotChallenge(CandorAction):
    def name(self) -> str:
        return "action_answer_bot_challenge"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(
            text="Yes, I'm an automated assistant: a program, not a person, and these replies are generated. "
            "If you'd rather talk to a person from the team, say yes and I'll hand you over.",
            buttons=PERSON_BUTTONS,
        )
        return [SlotSet("handoff_offered", True), *self.plain_talk_events(tracker)]
