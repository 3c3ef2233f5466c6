"""The base of Candor's actions: access to the hub, and the conversation's plain-talk setting."""

from __future__ import annotations

import abc
import logging
from typing import Any

from rasa_sdk import Action, Tracker

from actions.hub_client import HubClient, HubError
from actions.settings import settings

__all__ = ["CandorAction"]

logger = logging.getLogger(__name__)


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
        return bool(tracker.get_slot("apologies_stopped"))
