"""action_offer_compensation: the written policy decides; the offer is made once and recorded.

The hub keeps one offer per customer per incident: asking again gives the recorded offer back, never
a second one. Nothing is promised outside policy/compensation.yml.
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
from actions.settings import settings

__all__ = ["ActionOfferCompensation", "describe_offer"]

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


@lru_cache(maxsize=4)
def _policy(path: Path) -> Policy:
    return load_policy(path)


def describe_offer(offer: dict[str, Any]) -> str:
    amount = Decimal(str(offer["amount"])).quantize(Decimal("0.01"))
    what = f"a {offer['currency']} {amount} credit on your next bill"
    status = offer.get("status")
    if status == "pending_approval":
        return (
            f"Under our compensation policy you qualify for {what}. Amounts this size need a team member's "
            "sign-off, so it's recorded as waiting for their approval and isn't final until they approve it."
        )
    if status in ("accepted", "approved"):
        return f"Your {what} is confirmed and will show on your next bill."
    if status == "declined":
        return f"You declined {what} earlier; if you've changed your mind, a person can reopen it."
    return (
        f"Under our compensation policy you get {what} for this incident. "
        "I've recorded it against your account; you don't need to ask again."
    )


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
            dispatcher.utter_message(text="As offered earlier: " + describe_offer(context["compensation"]))
            return []
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
        dispatcher.utter_message(text=describe_offer(recorded))
        return []
