"""action_handoff, action_decline_handoff, action_answer_bot_challenge: a person is one message away.

action_handoff asks the hub to escalate (reason, frustration history, summary) and tells the customer
what happens next from the hub's answer. It says no apology: the customer asked for a person, not
for more words.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import PERSON_BUTTONS, CandorAction
from actions.conversation import frustration_history, latest_problem, summary
from actions.hub_client import HubError

__all__ = ["ActionAnswerBotChallenge", "ActionDeclineHandoff", "ActionHandoff", "handoff_reason", "what_happens_next"]

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


class ActionHandoff(CandorAction):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        context = await self.context(tracker)
        reason = handoff_reason(tracker)
        problem = latest_problem(tracker)
        escalation = {
            "reason": reason,
            "summary": summary(tracker, reason, context.get("customer")),
            "frustration": frustration_history(tracker),
            "problem": problem.phrase() if problem else None,
        }
        events: list[EventType] = [SlotSet("handoff_offered", False), *self.plain_talk_events(tracker)]
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


class ActionDeclineHandoff(CandorAction):
    def name(self) -> str:
        return "action_decline_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="OK, I'll keep going here. What would help most right now?")
        return [SlotSet("handoff_offered", False)]


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
