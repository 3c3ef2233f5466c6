"""The steps of each hub request, composing the repository, the rules and the Rasa client.

Route handlers parse input and call one function here; these return records or plain JSON values.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from handoff import hours, models, response_flows, review_flows, service
from handoff.customer_tokens import SIGNED_IN_CUSTOMER_ONLY, Claim, claim_from
from handoff.errors import NotFound, RasaUnavailable, Unauthorized
from handoff.rasa_client import RasaClient
from handoff.rate_limits import Limits
from handoff.repository import Received, Repository
from handoff.schemas import (
    Agent,
    Apology,
    ApologyBody,
    Compensation,
    CompensationAnswerBody,
    CompensationBody,
    Conversation,
    Escalation,
    EscalationBody,
    Incident,
    Message,
    QueueInfo,
    TransferBody,
    WebhookBody,
)
from handoff.settings import Settings
from handoff.updates import Updates, wait_for_change

__all__ = [
    "BOT_UNAVAILABLE",
    "Hub",
    "answer_compensation",
    "bot_context",
    "chat_messages",
    "claim",
    "customer_message",
    "escalate",
    "handback",
    "new_messages",
    "queue_notice",
    "record_apology",
    "record_compensation",
    "route",
    "standing",
    "tell_queue_changes",
    "to_channel",
    "transfer",
]

logger = logging.getLogger(__name__)

# A retry waits for its first request's answer: at most the Rasa timeout and this, from the first's arrival.
RETRY_GRACE_SECONDS = 2.0
RETRY_LOOK_SECONDS = 0.25  # a retry waiting for the first answer looks again this often, unless woken first

# What the hub itself says to customers. Plain words, no apology words (the product promises that).
BOT_UNAVAILABLE = "The automated assistant isn't answering right now, so I've put you in the queue for a person."
HANDED_BACK = (
    "{agent} handed this conversation back to the automated assistant. You can ask for a person again at any time."
)
RESOLVED = "{agent} closed this conversation. If you write again, the automated assistant will pick it up."
TRANSFERRED = "Your conversation has been passed to {target}, who will reply here."
_WITH_AGENT = "{agent} from the team has this conversation now."


@dataclass(frozen=True)
class Hub:
    """What the flows need; one per running app (on app.ctx.hub)."""

    repository: Repository
    rasa: RasaClient
    settings: Settings
    limits: Limits
    updates: Updates = field(default_factory=Updates)
    background: set[asyncio.Task[None]] = field(default_factory=set)  # work after an answer (in_background)

    def in_background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` after the current request, off the customer's time; its failure is logged, never raised.
        The hub waits for what is still running when it stops (finish_background)."""
        task = asyncio.create_task(_logged(work, name), name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def finish_background(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` seconds for the background work still running, then cancel what is left."""
        if self.background:
            _, pending = await asyncio.wait(set(self.background), timeout=timeout)
            for task in pending:
                task.cancel()

    def admit(self, body: WebhookBody) -> Claim:
        """Who a customer's message says its customer is, the message counted against its sender's rate limit
        (the REST webhook and the socket.io channel). Per sender and proven customer: requests without the
        customer's token (refused anyway) cannot use up the signed-in customer's share."""
        claim = self.claim(body.metadata.get("customer_token"), body.metadata.get("customer_id"))
        self.limits.sender.check(f"{body.sender}|{claim.customer_id if claim.verified else ''}")
        return claim

    def claim(self, token: object, customer_id: object = None) -> Claim:
        """Who a chat request says its customer is (handoff/customer_tokens.py)."""
        settings = self.settings
        return claim_from(
            token,
            customer_id,
            secret=settings.customer_token_secret,
            trust_customer_id=settings.trust_customer_id,
            required=settings.checks_customer_tokens,
            now=models.utcnow(),
        )


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        logger.exception("background work %s failed", name)


LEAVE_A_MESSAGE = (
    "If you'd rather not wait, write your question and an email address here, and the team will get back to you "
    "by email."
)
FOLLOW_UP_TAKEN = (
    "Thanks. The team will get back to you at {email} if nobody reaches you here first; your conversation also "
    "stays in the queue."
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def queue_notice(info: QueueInfo, when: str | None = None) -> str:
    """Where a waiting customer stands, honestly. `when`: when people are back, said in words, if the team is
    closed now."""
    if not info.open_now:  # agents of other teams may be online: they do not take this team's conversations
        back = f"people are back {when}" if when else "no opening time is set for the coming weeks"
        return (
            f"The team is closed at the moment; {back}. Your conversation stays in the queue and a person will reply "
            f"here then. {LEAVE_A_MESSAGE}"
        )
    if info.agents_online == 0:
        return (
            "Nobody from the team is online at this moment. Your conversation stays in the queue, and a person "
            f"will reply here as soon as someone is available. {LEAVE_A_MESSAGE}"
        )
    ahead = "You're next in line for a person" if info.position <= 1 else f"You're number {info.position} in the queue"
    wait = "a couple of minutes" if info.expected_wait_minutes <= 2 else f"about {info.expected_wait_minutes} minutes"
    return f"{ahead}; the expected wait is {wait}."


def to_channel(message: Message, sender: str) -> dict[str, Any]:
    """A stored message as Rasa's REST channel shapes it, with custom.from telling who wrote it."""
    extra = dict(message.extra)
    given = extra.pop("custom", None)
    custom: dict[str, Any] = dict(given) if isinstance(given, dict) else ({"data": given} if given is not None else {})
    custom["from"] = message.role
    if message.agent is not None:
        custom["agent"] = message.agent.display_name
    shaped: dict[str, Any] = {"recipient_id": sender}
    if message.text:
        shaped["text"] = message.text
    shaped.update(extra)
    shaped["custom"] = custom
    shaped["id"] = message.id
    return shaped


async def queue_info(hub: Hub, conversation_id: int) -> QueueInfo:
    info, _ = await _queue_info(hub, conversation_id)
    return info


async def _queue_info(hub: Hub, conversation_id: int) -> tuple[QueueInfo, str | None]:
    """Where the conversation stands in the queue, and when its team is back in words (None: open now)."""
    now = models.utcnow()
    facts = await hub.repository.queue_facts(conversation_id)
    info = service.queue_info(conversation_id, facts.queued, facts.handle_times, facts.agents_online, now)
    opens_at, zone = hours.opening(facts.teams, facts.team, now)
    if opens_at == now:
        return info, None
    when = hours.spoken(opens_at, zone, now) if opens_at and zone else None
    return info.model_copy(update={"open_now": False, "opens_at": opens_at}), when


async def notice_for(hub: Hub, conversation_id: int) -> str:
    info, when = await _queue_info(hub, conversation_id)
    return await _telling(hub, conversation_id, info, when)


async def _telling(hub: Hub, conversation_id: int, info: QueueInfo, when: str | None) -> str:
    """The queue notice for `info`, with what it tells recorded (the sweeper tells again when it changes a lot)."""
    await hub.repository.record_told(conversation_id, info.position, info.expected_wait_minutes)
    return queue_notice(info, when)


async def tell_queue_changes(hub: Hub) -> list[int]:
    """Tell each waiting customer their new place and wait when these changed a lot since they were last told
    (service.worth_telling), with agents online to make them mean something; the conversations told."""
    repo, now = hub.repository, models.utcnow()
    online = await repo.agents_online()
    if not online:
        return []
    positions, handle_times = service.queue_positions(await repo.queued(), now), await repo.handle_times()
    told_now = []
    for conversation_id, told in (await repo.told()).items():
        info = service.queue_info_at(positions.get(conversation_id, 1), handle_times, online)
        if service.worth_telling(told, info):
            notice = await _telling(hub, conversation_id, info, None)
            await repo.add_messages(conversation_id, "system", [(f"An update: {notice}", {})])
            told_now.append(conversation_id)
    return told_now


async def customer_message(hub: Hub, body: WebhookBody, claim: Claim) -> list[dict[str, Any]]:
    """POST /webhooks/rest/webhook: store first, then the bot or the queue answers; a retry of a message
    (the same metadata.message_id) gets the first answer and is not a new turn."""
    received = await hub.repository.take_customer_message(body.sender, body.message, claim, body.message_id)
    if received.stored_before:
        return await _answer_again(hub, received.conversation, received.message, body)
    return await _answer(hub, received.conversation, received.message, body, received)


async def _answer(
    hub: Hub, conversation: Conversation, message: Message, body: WebhookBody, received: Received | None = None
) -> list[dict[str, Any]]:
    """`received`: what storing the message took in already (its undelivered agent messages, maybe recorded as
    its answer in that same transaction)."""
    recorded: bool | None = None  # whether this request recorded the answer (None: not tried yet)
    if conversation.state == "bot":
        answer, recorded = await _ask_bot(hub, conversation, body, message.id)
    else:  # queued or agent: the bot is not called at all.
        if received is not None and received.delivered is not None:
            undelivered = received.delivered
            recorded = True if received.answered else None
        else:
            undelivered = await hub.repository.take_undelivered_agent_messages(conversation.id)
        answer = [to_channel(m, body.sender) for m in undelivered]
        if conversation.state == "queued" and not answer:
            info, when = await _queue_info(hub, conversation.id)
            email = EMAIL.search(body.message)
            if email and (info.agents_online == 0 or not info.open_now):  # as the notice offered
                actor = f"customer:{body.sender}"
                await hub.repository.leave_follow_up(conversation.id, email[0], body.message, actor)
                notice = FOLLOW_UP_TAKEN.format(email=email[0])
            else:
                notice = await _telling(hub, conversation.id, info, when)
            (stored,) = await hub.repository.add_messages(conversation.id, "system", [(notice, {})])
            answer.append(to_channel(stored, body.sender))
    if body.message_id is not None:
        if recorded is None:
            recorded = await hub.repository.record_answer(message.id, [m["id"] for m in answer])
        if not recorded:
            # A late retry answered it too (the first request outlived its deadline): both callers get the first
            # answer.
            first = await hub.repository.answer_of(message.id)
            return [to_channel(m, body.sender) for m in first or []]
    return answer


async def _answer_again(
    hub: Hub, conversation: Conversation, message: Message, body: WebhookBody
) -> list[dict[str, Any]]:
    """The answer the message got, waiting for it while its first request is still being answered. If that
    request never answered (the hub stopped mid-turn), this one answers the message now."""
    deadline = message.created_at + timedelta(seconds=hub.settings.rasa_timeout + RETRY_GRACE_SECONDS)
    while True:
        stored = hub.updates.watch(conversation.id)  # before reading: an answer stored meanwhile still wakes us
        if (answered := await hub.repository.answer_of(message.id)) is not None:
            return [to_channel(m, body.sender) for m in answered]
        left = (deadline - models.utcnow()).total_seconds()
        if left <= 0:
            logger.warning(
                "message %s of conversation %s was never answered: answering its retry", message.id, conversation.id
            )
            return await _answer(hub, conversation, message, body)
        # Woken when the first request stores its answer's messages; an answer recorded on its own (or by another
        # hub process) is seen at the next look.
        await wait_for_change(stored, min(left, RETRY_LOOK_SECONDS))


async def _ask_bot(
    hub: Hub, conversation: Conversation, body: WebhookBody, message_id: int
) -> tuple[list[dict[str, Any]], bool | None]:
    """The bot's answer, stored; and whether it was recorded as the answer of `message_id` with it (when the
    message has a metadata.message_id; None: not recorded yet)."""
    try:
        # The token stays here: Rasa's tracker store keeps metadata, and the bot reads the customer from the hub.
        metadata = {key: value for key, value in body.metadata.items() if key != "customer_token"}
        metadata[review_flows.MESSAGE_ID] = message_id  # the review inbox finds the turn in the tracker by it
        replies = await hub.rasa.send(body.sender, body.message, metadata)
    except RasaUnavailable as error:
        logger.warning("Rasa failed for conversation %s: %s", conversation.id, error)
        await hub.repository.audit("hub", "rasa_failed", conversation.id, error=error.message)
        escalation = EscalationBody(
            reason="bot_unavailable",
            summary=f"The automated assistant did not answer ({error.message}). Last customer message: {body.message}",
        )
        await hub.repository.escalate(conversation.id, escalation, actor="hub")
        await route(hub, told_otherwise=conversation.id)  # the notice below is the customer's news
        notice = f"{BOT_UNAVAILABLE} {await notice_for(hub, conversation.id)}"
        stored = await hub.repository.add_messages(conversation.id, "system", [(notice, {})])
        return [to_channel(m, body.sender) for m in stored], None
    if hub.settings.review_inbox:
        hub.in_background(
            review_flows.after_bot_turn(hub, conversation.id, body.sender, message_id, body.message),
            f"candor-review-{message_id}",
        )
    items = []
    for reply in replies:
        text = reply.get("text")
        extra = {k: v for k, v in reply.items() if k not in ("recipient_id", "text")}
        items.append((text if isinstance(text, str) else "", extra))
    if body.message_id is not None:  # stored and recorded as the answer in one transaction
        stored, recorded = await hub.repository.add_answer(conversation.id, "bot", items, answering=message_id)
        return [to_channel(m, body.sender) for m in stored], recorded
    stored = await hub.repository.add_messages(conversation.id, "bot", items) if items else []
    return [to_channel(m, body.sender) for m in stored], None


async def new_messages(
    hub: Hub, conversation_id: int, after: int, wait: float, *, customer: bool = False
) -> list[Message]:
    """The conversation's messages after `after` (for the customer: not their own, and the agent's are now
    delivered); with `wait`, when there are none yet, waits up to that many seconds for one (a long poll)."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        stored = hub.updates.watch(conversation_id)  # before reading: a message stored meanwhile still wakes us
        found = await hub.repository.messages(conversation_id, after, mark_delivered=customer)
        if customer:
            found = [m for m in found if m.role != "customer"]
        left = deadline - asyncio.get_running_loop().time()
        if found or left <= 0:
            return found
        await wait_for_change(stored, left)


async def chat_messages(hub: Hub, sender: str, after: int, token: str | None, wait: float = 0) -> dict[str, Any]:
    """GET /api/chat/{sender}/messages: what the customer has not seen yet, and where they stand.
    `token`: the customer token (bearer), needed when the conversation is linked to a customer; `wait`:
    seconds to wait for a message when there is none yet."""
    conversation = await hub.repository.conversation_by_sender(sender)
    if conversation is None:
        raise NotFound("no conversation for this sender yet: send a message first")
    if not hub.claim(token).may_use(conversation.customer_id):
        raise Unauthorized(SIGNED_IN_CUSTOMER_ONLY)
    messages = await new_messages(hub, conversation.id, after, wait, customer=True)
    if wait and messages:
        conversation = await hub.repository.conversation(conversation.id)  # it may have moved while we waited
    return {**await standing(hub, conversation), "messages": [to_channel(m, sender) for m in messages]}


async def standing(hub: Hub, conversation: Conversation) -> dict[str, Any]:
    """Where the customer stands: {"state", "queue": QueueInfo while queued, else None} (the chat poll; the
    socket.io channel's candor_state)."""
    queue = await queue_info(hub, conversation.id) if conversation.state == "queued" else None
    return {"state": conversation.state, "queue": queue.model_dump(mode="json") if queue else None}


async def _conversation_for(hub: Hub, sender: str) -> Conversation:
    conversation = await hub.repository.conversation_by_sender(sender)
    if conversation is None:
        raise NotFound(f"no conversation for sender {sender!r}")
    return conversation


async def _compensation_for(repo: Repository, customer_id: str, incident: Incident | None) -> Compensation | None:
    """The offer for the context's incident if there is one; otherwise the customer's most recent offer that
    still awaits a decision, whatever its incident's state (an offer outlives its incident)."""
    recorded = await repo.compensation(customer_id, incident.id) if incident else None
    return recorded or await repo.awaiting_compensation(customer_id)


async def bot_context(hub: Hub, sender: str) -> dict[str, Any]:
    """GET /api/bot/conversations/{sender}/context. An unknown sender (someone talking to Rasa
    directly) gets no customer and the most severe open incident, rather than an error."""
    repo = hub.repository
    conversation = await repo.conversation_by_sender(sender)
    customer = await repo.customer(conversation.customer_id) if conversation and conversation.customer_id else None
    incident = service.incident_for(customer, await repo.incidents())
    compensation = await _compensation_for(repo, customer.id, incident) if customer else None
    return {
        "conversation_id": conversation.id if conversation else None,
        "state": conversation.state if conversation else "bot",
        "customer": customer.model_dump(mode="json") if customer else None,
        "incident": incident.model_dump(mode="json") if incident else None,
        "compensation": compensation.model_dump(mode="json") if compensation else None,
        "human_helped": await repo.human_helped(conversation.id) if conversation else False,
    }


async def route(hub: Hub, told_otherwise: int | None = None) -> None:
    """Give waiting conversations to available agents (handoff/routing.py), when the hub assigns them
    (CANDOR_ASSIGNMENT=auto), and tell each customer who has theirs now. Called after anything that may let
    someone take one: an escalation, an agent coming online, freeing a place, a transfer to a team.
    `told_otherwise`: a conversation whose customer hears it another way (the escalation's answer, which the bot
    says). A failure is logged and leaves them queued: the next call tries again."""
    if hub.settings.assignment != "auto":
        return
    try:
        skills_for = timedelta(seconds=hub.settings.skills_wait)
        for conversation_id, agent in await hub.repository.assign_waiting(skills_for):
            logger.info("conversation %s assigned to %s", conversation_id, agent.username)
            if conversation_id != told_otherwise:
                await _tell_who_has_it(hub, conversation_id, agent)
    except Exception:  # the request that triggered routing has succeeded; routing must not undo that
        logger.exception("routing failed; waiting conversations stay queued")


async def claim(hub: Hub, conversation_id: int, agent: Agent) -> dict[str, Any]:
    """POST /api/agent/conversations/{id}/claim: the agent takes a waiting conversation, and its customer is told
    who has it (until then their widget said their place in the queue)."""
    conversation = await hub.repository.claim(conversation_id, agent)
    await _tell_who_has_it(hub, conversation_id, agent)
    return {"conversation": conversation.model_dump(mode="json")}


async def _tell_who_has_it(hub: Hub, conversation_id: int, agent: Agent) -> None:
    await hub.repository.add_messages(conversation_id, "system", [(_WITH_AGENT.format(agent=agent.display_name), {})])


async def escalate(hub: Hub, sender: str, body: EscalationBody) -> dict[str, Any]:
    """POST /api/bot/conversations/{sender}/escalate: queue it (and route it), or answer the escalation it has."""
    conversation = await _conversation_for(hub, sender)
    escalation, created = await hub.repository.escalate(conversation.id, body, actor="bot")
    if created:
        await route(hub, told_otherwise=conversation.id)  # the bot says who has it (the notice below)
        escalation = await hub.repository.open_escalation(conversation.id) or escalation
    if escalation.state == "queued":
        info, when = await _queue_info(hub, conversation.id)
        notice = await _telling(hub, conversation.id, info, when)  # the bot says it to the customer
    else:
        info = QueueInfo(position=0, expected_wait_minutes=0, agents_online=await hub.repository.agents_online())
        notice = _WITH_AGENT.format(agent=_name(escalation))
    return {"escalation_id": escalation.id, "state": escalation.state, **info.model_dump(mode="json"), "notice": notice}


async def record_compensation(hub: Hub, body: CompensationBody) -> tuple[dict[str, Any], bool]:
    conversation = await hub.repository.conversation_by_sender(body.sender) if body.sender else None
    record, created = await hub.repository.record_compensation(body, conversation.id if conversation else None, "bot")
    return record.model_dump(mode="json"), created


async def answer_compensation(hub: Hub, compensation_id: int, body: CompensationAnswerBody) -> dict[str, Any]:
    """POST /api/bot/compensations/{id}/answer: the customer accepted or declined the offer (at the amount
    they were shown, when the bot sends it)."""
    record = await hub.repository.answer_compensation(compensation_id, body.sender, body.answer, body.amount)
    return record.model_dump(mode="json")


def _name(escalation: Escalation) -> str:
    return escalation.agent.display_name if escalation.agent else "A person from the team"


async def transfer(hub: Hub, conversation_id: int, agent: Agent, body: TransferBody) -> dict[str, Any]:
    """POST /api/agent/conversations/{id}/transfer: to another agent, or back to the queue for a team."""
    conversation = await hub.repository.transfer(
        conversation_id, agent, body, lambda target: TRANSFERRED.format(target=target)
    )
    if conversation.state == "queued":
        await route(hub)
        conversation = await hub.repository.conversation(conversation_id)
    return {"conversation": conversation.model_dump(mode="json")}


async def handback(hub: Hub, conversation_id: int, agent: Agent, note: str) -> dict[str, Any]:
    """The conversation goes back to the bot, then Rasa is told who helped and their note (failure is audited)."""
    notice = HANDED_BACK.format(agent=agent.display_name)
    conversation = await hub.repository.handback(conversation_id, agent, note, notice)
    try:
        await hub.rasa.handed_back(conversation.sender, agent.display_name, note)
        notified = True
    except RasaUnavailable as error:
        logger.warning("handback of %s: Rasa not told: %s", conversation_id, error)
        await hub.repository.audit(
            f"agent:{agent.username}", "rasa_notify_failed", conversation_id, error=error.message
        )
        notified = False
    await _look_for_candidates(hub, conversation_id)
    await route(hub)  # the agent has a free place now
    return {"conversation": conversation.model_dump(mode="json"), "rasa_notified": notified}


async def resolve(hub: Hub, conversation_id: int, agent: Agent, reason: str) -> dict[str, Any]:
    notice = RESOLVED.format(agent=agent.display_name)
    conversation = await hub.repository.resolve(conversation_id, agent, reason, notice)
    await _look_for_candidates(hub, conversation_id)
    await route(hub)
    return {"conversation": conversation.model_dump(mode="json")}


async def _look_for_candidates(hub: Hub, conversation_id: int) -> None:
    """The agent's stretch (the escalation just closed) ended: propose its replies that worked as bot responses,
    in the background."""
    if hub.settings.review_inbox and (escalation := await hub.repository.latest_escalation(conversation_id)):
        hub.in_background(response_flows.after_agent(hub, escalation), f"candor-responses-{escalation.id}")


async def handoff_packet(hub: Hub, conversation_id: int) -> dict[str, Any]:
    """Everything an agent needs to take over without asking the customer to repeat themselves."""
    repo = hub.repository
    conversation = await repo.conversation(conversation_id)
    customer = await repo.customer(conversation.customer_id) if conversation.customer_id else None
    incident = service.incident_for(customer, await repo.incidents())
    escalation = await repo.latest_escalation(conversation_id)
    compensations = await repo.compensations_of(customer.id) if customer else []
    messages = await repo.messages(conversation_id)
    return {
        "conversation": conversation.model_dump(mode="json"),
        "customer": customer.model_dump(mode="json") if customer else None,
        "incident": incident.model_dump(mode="json") if incident else None,
        "escalation": escalation.model_dump(mode="json") if escalation else None,
        "ledger": ledger(escalation, compensations, await repo.apologies_of(conversation_id)),
        "compensations": [c.model_dump(mode="json") for c in compensations],
        "messages": [m.model_dump(mode="json") for m in messages],
    }


def ledger(
    escalation: Escalation | None, compensations: list[Compensation], apologies: list[Apology]
) -> dict[str, Any]:
    """What was already said and given, so that nobody apologises or compensates twice: the bot's apologies (as it
    recorded them; for conversations from before it did, the ones it listed when it escalated), and every offer
    made to the customer with where it stands."""
    said: list[dict[str, Any]] = [
        {"text": a.text, "at": a.created_at.isoformat(), "problem": a.problem} for a in apologies
    ]
    if not said and escalation:
        said = [{"text": a.get("text"), "at": a.get("at"), "problem": None} for a in escalation.apologies]
    return {
        "apologies": said,
        "offers": [
            {
                "id": c.id,
                "incident_id": c.incident_id,
                "kind": c.kind,
                "amount": str(c.amount),
                "currency": c.currency,
                "status": c.status,
            }
            for c in compensations
        ],
    }


async def record_apology(hub: Hub, sender: str, body: ApologyBody) -> dict[str, Any]:
    """POST /api/bot/conversations/{sender}/apologies: an apology the bot sent, for the ledger and the sameness."""
    conversation = await _conversation_for(hub, sender)
    record = await hub.repository.record_apology(conversation.id, body)
    return record.model_dump(mode="json")
