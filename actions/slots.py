"""action_validate_slot_mappings: fills the custom-mapped slots the policies see after every user message.

Rasa runs it inside action_extract_slots, before the next action is predicted. It sets
`frustration_trend` (actions.trajectory) only when the trend changes, so a story states
`slot_was_set: frustration_trend` exactly where it moves.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from actions.trajectory import TRENDS, assess

__all__ = ["ActionValidateSlotMappings"]

TREND_SLOT = "frustration_trend"


class ActionValidateSlotMappings(ValidationAction):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_frustration_trend(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        trend = assess(tracker.events).trend
        return {} if trend == tracker.get_slot(TREND_SLOT) else {TREND_SLOT: trend}

    async def validate_frustration_trend(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {TREND_SLOT: value if value in TRENDS else None}
