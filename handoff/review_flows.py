"""The review inbox's steps (handoff/review.py): after the bot answered a customer message, what it understood
of it, read from Rasa's tracker in the background (never on the customer's time); the messages that led up to
an escalation; an agent's "the bot should have handled this"."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from handoff import review
from handoff.errors import NotFound, RasaUnavailable
from handoff.schemas import Agent, ReviewItem

if TYPE_CHECKING:  # flows runs these steps: it imports this module
    from handoff.flows import Hub

__all__ = ["MESSAGE_ID", "after_bot_turn", "flag"]

logger = logging.getLogger(__name__)

MESSAGE_ID = "candor_message_id"  # the metadata key naming the hub's message, on every message sent to Rasa


async def after_bot_turn(hub: Hub, conversation_id: int, sender: str, message_id: int, text: str) -> None:
    """The bot answered customer message `message_id`: put it in the inbox if the bot was unsure of it or the
    customer says the bot sounds fake, and, if the bot escalated the conversation on it, the messages that led up
    to that too. Rasa failing here only loses the inbox's view of this turn (logged)."""
    repository = hub.repository
    escalated = await repository.escalated_on(conversation_id, message_id)
    if review.is_payload(text) and not escalated:
        return
    try:
        parses = await hub.rasa.parses(sender, latest_only=True)
        predictions = _by_message(parses)
        if message_id not in predictions or escalated:  # a newer message got there first, or the lead-up is wanted
            predictions = _by_message(await hub.rasa.parses(sender, latest_only=False))
    except RasaUnavailable as error:
        logger.warning("review inbox: no parse for message %s (%s)", message_id, error.message)
        predictions = {}
    settings = hub.settings
    prediction = predictions.get(message_id)
    if prediction is not None:
        reasons = review.reasons_for(
            prediction, text, confidence=settings.review_confidence, margin=settings.review_margin
        )
    else:
        reasons = ["sounds_fake"] if review.sounds_fake(text) else []
    if reasons and not review.is_payload(text):
        await repository.add_to_review(message_id, reasons, prediction)
    if escalated:
        for earlier in await repository.lead_up(conversation_id, message_id, review.LEAD_UP):
            await repository.add_to_review(earlier, ["escalated"], predictions.get(earlier))


async def flag(hub: Hub, conversation_id: int, message_id: int, agent: Agent, note: str) -> ReviewItem:
    """An agent says the bot should have handled this customer message; with what the bot made of it, when Rasa
    still has it."""
    message = await hub.repository.message(message_id)
    if message is None or message.conversation_id != conversation_id:
        raise NotFound(f"no message {message_id} in conversation {conversation_id}")
    conversation = await hub.repository.conversation(conversation_id)
    prediction = None
    try:
        prediction = _by_message(await hub.rasa.parses(conversation.sender, latest_only=False)).get(message_id)
    except RasaUnavailable as error:
        logger.warning("review inbox: no parse for flagged message %s (%s)", message_id, error.message)
    return await hub.repository.add_to_review(
        message_id, ["agent_flagged"], prediction, note=note, actor=f"agent:{agent.username}"
    )


def _by_message(parses: list[dict[str, Any]]) -> dict[int, review.Prediction]:
    """The predictions of the messages the hub sent (newest first in `parses`), by the hub's message id."""
    found: dict[int, review.Prediction] = {}
    for parse in parses:
        metadata = parse.get("metadata")
        key = metadata.get(MESSAGE_ID) if isinstance(metadata, Mapping) else None
        if isinstance(key, int) and not isinstance(key, bool) and key not in found:
            found[key] = review.prediction_of(parse)
    return found
