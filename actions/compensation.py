"""action_offer_compensation and action_answer_compensation: the written policy decides; the offer
is made once, recorded, and the customer accepts or declines it.

The hub keeps one offer per customer per incident: asking again gives the recorded offer back, never
a second one. Nothing is promised outside policy/compensation.yml, which is checked when the action
server starts (a broken policy stops it with the file and the problem named).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import PERSON_BUTTONS, CandorAction
from actions.compensation_policy import Policy, PolicyError, decide, load_policy
from actions.hub_client import HubError
from actions.settings import policy_file, settings

__all__ = ["ActionAnswerCompensation", "ActionOfferCompensation", "check_policy", "describe_offer"]

logger = logging.getLogger(__name__)

_NO_OFFER = {
    "no_incident": "Compensation here is tied to a recorded service incident, and I don't see one affecting you, "
    "so I can't promise anything. A person can review your case if you want: shall I hand you over?",
    "unknown_customer": "I can't see which account this chat belongs to, so I can't check what applies. "
    "A person can look it up with you: shall I hand you over?",
    "not_affected": "The incident we have open doesn't cover your services or area, so the automatic policy "
    "gives nothing here. If your service is affected anyway, a person can review it: shall I hand you over?",
    "below_threshold": "So far this incident is below what our compensation policy covers (it depends on how "
    "long service is out). If it goes on, ask again; a person can also review your case: shall I hand you over?",
}


# The customer's answer to an offer: these buttons send the affirm/deny intents (data/rules/compensation.yml).
OFFER_BUTTONS = [
    {"title": "Yes, apply it", "payload": "/affirm"},
    {"title": "No, thanks", "payload": "/deny"},
]
_FORMS = {"bill_credit": "credit on your next bill", "credit_note": "credit note against your next invoice"}
ANSWERABLE = {"offered", "approved"}  # the customer can accept these (and decline these or a pending one)


@lru_cache(maxsize=4)
def _policy(path: Path) -> Policy:
    return load_policy(path)


def check_policy() -> Policy:
    """The policy the action server will apply; exits with the file and the problem when it is broken."""
    path = policy_file()
    try:
        return _policy(path)
    except PolicyError as error:
        raise SystemExit(f"Candor action server: the compensation policy is invalid, not starting: {error}") from None


def describe_offer(offer: dict[str, Any]) -> str:
    """The offer in words, by its status; an offer the customer can still answer ends with the question."""
    amount = Decimal(str(offer["amount"])).quantize(Decimal("0.01"))
    what = f"a {offer['currency']} {amount} {_FORMS.get(str(offer.get('kind')), 'credit on your account')}"
    status = offer.get("status")
    if status == "pending_approval":
        return (
            f"Under our compensation policy you qualify for {what}. This one needs a team member's sign-off, "
            "so it's recorded as waiting for their approval and isn't final until they approve it."
        )
    if status == "approved":
        return f"A team member has approved {what} for this incident. Shall I apply it?"
    if status == "accepted":
        return f"You accepted {what}; it's applied and will show on your next bill or invoice."
    if status == "declined":
        return f"You declined {what} earlier; if you've changed your mind, a person can reopen it."
    return (
        f"Under our compensation policy you get {what} for this incident. It's recorded against your account, "
        "so asking again won't change it. Shall I apply it?"
    )


def _offer_events(dispatcher: CollectingDispatcher, offer: dict[str, Any], prefix: str = "") -> list[EventType]:
    """Say the offer; when the customer can answer it, ask, and remember what was shown: "yes"/"no" now
    answer that offer (and no earlier question about a person)."""
    asked = offer.get("status") in ANSWERABLE
    dispatcher.utter_message(text=prefix + describe_offer(offer), buttons=OFFER_BUTTONS if asked else [])
    shown = {"id": int(offer["id"]), "amount": str(offer["amount"])} if asked else None
    return [
        SlotSet("compensation_offered", asked),
        SlotSet("compensation_shown", shown),
        SlotSet("handoff_offered", False),
    ]


class ActionOfferCompensation(CandorAction):
    def name(self) -> str:
        return "action_offer_compensation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        context = await self.context(tracker)
        if not context:
            dispatcher.utter_message(
                text="I can't reach our account records right now, so I can't check compensation. "
                "A person can: say 'person' and I'll hand you over."
            )
            return []
        if context.get("compensation"):
            return _offer_events(dispatcher, context["compensation"], "As offered earlier: ")
        customer, incident = context.get("customer"), context.get("incident")
        try:
            decision = decide(_policy(settings().policy_file), customer, incident, datetime.now(timezone.utc))
        except (PolicyError, ValueError, KeyError, TypeError, ArithmeticError) as error:
            logger.error("compensation for %s could not be decided: %r", tracker.sender_id, error)
            dispatcher.utter_message(
                text="I can't work out what our compensation policy gives you from the records I have, so I won't "
                "guess. A person can check it: shall I hand you over?",
                buttons=PERSON_BUTTONS,
            )
            return [SlotSet("handoff_offered", True)]
        if decision.offer is None:
            dispatcher.utter_message(text=_NO_OFFER[decision.why_not or "no_incident"], buttons=PERSON_BUTTONS)
            return [SlotSet("handoff_offered", True)]
        offer = decision.offer
        assert customer is not None and incident is not None
        try:
            recorded = await self.hub().record_compensation(
                {
                    "sender": tracker.sender_id,
                    "customer_id": customer["id"],
                    "incident_id": incident["id"],
                    "rule": offer.rule,
                    "kind": offer.kind,
                    "amount": str(offer.amount),
                    "agent_max_amount": str(offer.agent_max_amount.quantize(Decimal("0.01"))),
                    "currency": offer.currency,
                    "reason": offer.reason,
                    "status": "pending_approval" if offer.needs_approval else "offered",
                }
            )
        except HubError:
            dispatcher.utter_message(
                text="The policy gives you a credit for this incident, but I couldn't record it just now, so I won't "
                "promise it until it's on file. Ask me again in a minute, or ask for a person."
            )
            return []
        return _offer_events(dispatcher, recorded)


class ActionAnswerCompensation(CandorAction):
    """The customer said yes or no to the offer the bot just showed (affirm / deny while `compensation_offered`)."""

    def name(self) -> str:
        return "action_answer_compensation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        answer = "accepted" if intent == "affirm" else "declined"
        shown = tracker.get_slot("compensation_shown") or {}
        events = self.plain_talk_events(tracker)
        if not shown.get("id"):
            dispatcher.utter_message(text="I've lost track of which offer you mean. Ask me about compensation again?")
            return [*events, SlotSet("compensation_offered", False)]
        try:
            recorded = await self.hub().answer_compensation(
                int(shown["id"]), tracker.sender_id, answer, str(shown["amount"])
            )
        except HubError as error:
            logger.warning("answer to compensation %s for %s not recorded: %s", shown["id"], tracker.sender_id, error)
            current = (await self.context(tracker)).get("compensation") if error.status == 409 else None
            if current and int(current["id"]) == int(shown["id"]):  # it changed meanwhile: show it as it is now
                changed = str(current["amount"]) != str(shown["amount"])
                return [
                    *events,
                    *_offer_events(dispatcher, current, "That offer has changed since: " if changed else ""),
                ]
            dispatcher.utter_message(
                text="That didn't go through, so nothing has changed yet. Shall I try again?", buttons=OFFER_BUTTONS
            )
            return events  # still asking: the next yes or no answers the same offer
        if recorded.get("status") == "declined":
            dispatcher.utter_message(
                text="OK, no credit applied. It stays on record, so if you change your mind a person can reopen it."
            )
        else:
            dispatcher.utter_message(text=describe_offer(recorded))
        return [*events, SlotSet("compensation_offered", False), SlotSet("compensation_shown", None)]


check_policy()  # at import, that is when the action server starts: a broken policy must not wait for a customer
