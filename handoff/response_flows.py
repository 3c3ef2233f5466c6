"""Response candidates' step (handoff/response_candidates.py): when an agent's stretch of a conversation ends
(resolved, or handed back to the bot), the agent replies in it that worked are proposed, redacted. It runs in the
background, after the agent has the answer; Rasa failing there only loses those proposals (logged)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from handoff import nlu_export, response_candidates, review
from handoff.errors import RasaUnavailable
from handoff.schemas import Escalation, ResponseCandidate

if TYPE_CHECKING:
    from handoff.repository import Repository

if TYPE_CHECKING:  # flows runs this step: it imports this module
    from handoff.flows import Hub

__all__ = ["accept", "after_agent"]

logger = logging.getLogger(__name__)

ENDED = ("resolved", "handed_back")


async def after_agent(hub: Hub, escalation: Escalation) -> None:
    """Propose the replies that worked in an escalation's stretch with agents, once it has ended."""
    if escalation.state not in ENDED or escalation.closed_at is None:
        return
    repository, conversation_id = hub.repository, escalation.conversation_id
    # Up to the stretch's end: a reply's prompt may be what the customer told the bot before the escalation.
    transcript = [m for m in await repository.messages(conversation_id) if m.created_at <= escalation.closed_at]
    authors = {
        m.id: m.agent
        for m in transcript
        if m.role == "agent" and m.agent is not None and m.created_at >= escalation.created_at
    }
    conversation = await repository.conversation(conversation_id)
    customer = await repository.customer(conversation.customer_id) if conversation.customer_id else None
    names = [a.display_name for a in authors.values()] + ([customer.name] if customer else [])
    customer_ids = [customer.id] if customer else []
    for reply in response_candidates.replies([(m.id, m.role, m.text) for m in transcript]):
        if reply.message_id not in authors:  # an earlier stretch's: judged when that one ended
            continue
        try:
            prediction = review.prediction_of(await hub.rasa.parse(reply.reaction))
        except RasaUnavailable as error:
            logger.warning("response candidates: no parse for message %s (%s)", reply.reaction_id, error.message)
            return
        if not response_candidates.worked(prediction, hub.settings.review_confidence):
            continue
        proposal = response_candidates.Proposal(
            message_id=reply.message_id,
            conversation_id=conversation_id,
            agent=authors[reply.message_id].username,
            text=response_candidates.redacted(reply.text, names, customer_ids),
            prompt=response_candidates.redacted(reply.prompt, names, customer_ids),
            reaction=response_candidates.redacted(reply.reaction, names, customer_ids),
            reaction_intent=prediction.intent,
        )
        await repository.propose_response(proposal)


async def accept(
    repository: Repository, candidate_id: int, response: str, text: str | None, domain_file: Path, actor: str
) -> ResponseCandidate:
    """A trainer accepts a candidate as `response` (the review page and the shell): `text` (None: the redacted
    reply as it is) checked as something the bot can say (response_candidates.check_acceptance), then stored."""
    if text is None:
        text = (await repository.response_candidate(candidate_id)).text
    response_candidates.check_acceptance(response, text, nlu_export.domain_names(domain_file).responses)
    return await repository.accept_response(candidate_id, response, text, actor)
