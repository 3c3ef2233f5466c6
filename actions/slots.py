"""action_validate_slot_mappings: fills the custom-mapped slots the policies see after every user message.

Rasa runs it inside action_extract_slots, before the next action is predicted. It sets
`frustration_trend` (actions.trajectory) only when the trend changes, so a story states
`slot_was_set: frustration_trend` exactly where it moves. It clears `compensation_offered` when the
bot's last action was not the offer (or a retried answer): a "yes" answers the question just asked,
never an offer made several turns ago.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from actions.trajectory import TRENDS, assess

__all__ = ["ActionValidateSlotMappings", "last_bot_action"]

TREND_SLOT = "frustration_trend"
OFFER_SLOT = "compensation_offered"
# The actions that leave an offer waiting for this very message's yes or no.
ASKING_FOR_AN_ANSWER = {"action_offer_compensation", "action_answer_compensation"}
_NOT_A_TURN = {"action_listen", "action_extract_slots", "action_validate_slot_mappings", "action_session_start"}


def last_bot_action(events: list[dict[str, Any]]) -> str | None:
    """The bot's last action before the latest customer message (listening and slot filling aside)."""
    seen_user = False
    for event in reversed(events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") not in _NOT_A_TURN:
            return str(event.get("name"))
    return None


class ActionValidateSlotMappings(ValidationAction):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_frustration_trend(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        trend = assess(tracker.events).trend
        return {} if trend == tracker.get_slot(TREND_SLOT) else {TREND_SLOT: trend}

    async def extract_compensation_offered(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot(OFFER_SLOT) and last_bot_action(tracker.events) not in ASKING_FOR_AN_ANSWER:
            return {OFFER_SLOT: False}
        return {}

    async def validate_frustration_trend(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {TREND_SLOT: value if value in TRENDS else None}
