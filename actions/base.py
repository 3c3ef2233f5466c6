"""The base of Candor's actions: access to the hub, and the conversation's plain-talk setting."""

from __future__ import annotations

import abc
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.conversation import asked_to_stop_apologizing
from actions.hub_client import HubClient, HubError
from actions.settings import settings

__all__ = ["PERSON_BUTTONS", "CandorAction"]

logger = logging.getLogger(__name__)

# Offered with every question "shall I get you a person?"; the payloads are the affirm/deny intents.
PERSON_BUTTONS = [
    {"title": "Yes, get me a person", "payload": "/affirm"},
    {"title": "No, carry on", "payload": "/deny"},
]


class CandorAction(Action, abc.ABC):
    """An action that may ask the hub about the conversation (abstract: rasa-sdk skips it)."""

    @abc.abstractmethod
    def name(self) -> str: ...

    @staticmethod
    def hub() -> HubClient:
        return HubClient(settings())

    async def context(self, tracker: Tracker) -> dict[str, Any]:
        """The hub's context for this conversation, or {} when the hub cannot answer (logged)."""
        try:
            return await self.hub().context(tracker.sender_id)
        except HubError as error:
            logger.warning("no context from the hub for %s: %s", tracker.sender_id, error)
            return {}

    @staticmethod
    def plain_talk(tracker: Tracker) -> bool:
        """No apology words: the customer asked for that, earlier or in this very message."""
        return bool(tracker.get_slot("apologies_stopped")) or asked_to_stop_apologizing(tracker)

    @staticmethod
    def plain_talk_events(tracker: Tracker) -> list[EventType]:
        """Remember a request for plain talk made in this message (whatever its intent)."""
        if not tracker.get_slot("apologies_stopped") and asked_to_stop_apologizing(tracker):
            return [SlotSet("apologies_stopped", True)]
        return []
