"""The OpenAPI 3.1 description of the hub (GET /openapi.json): each route with its request body and the JSON it
answers, kept next to the routes it lists.

tests/handoff/test_openapi.py checks that every route the app serves is listed here (and nothing else), and calls
each one on a running hub, validating what it answers against the schema given here.

Why 3.1 and not 3.0: the schemas are pydantic's, which are JSON Schema 2020-12, where `null` is a type (an
optional value is `anyOf: [..., {"type": "null"}]`). OpenAPI 3.1 takes JSON Schema 2020-12 as it is; 3.0 has its
own subset (`nullable: true`, no `null` type) into which every schema, request bodies included, would have to be
rewritten. With 3.1 the document says exactly what pydantic says, and the test validates with a plain JSON Schema
2020-12 validator: nothing is translated between what is described and what is checked.

The routes build their answers as plain JSON (dicts, and records of handoff/schemas.py dumped with
`model_dump(mode="json")`); the answer models below, and the records they reuse, describe those answers and are
not used to make them. Every field of an answer is present (required), defaults included, unless its model says
when it is left out (`exclude_if`). Objects are described open (a client should ignore keys it does not know);
the test holds them closed, so that a key the hub adds without describing it here fails.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from http import HTTPStatus
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from handoff.alertmanager import AlertmanagerPayload
from handoff.sameness import Sameness
from handoff.schemas import (
    Agent,
    AgentLogin,
    AgentMessageBody,
    AgentProfile,
    ApologyBody,
    Compensation,
    CompensationAnswerBody,
    CompensationBody,
    CompensationOverrideBody,
    CompensationStatus,
    Conversation,
    ConversationState,
    Customer,
    Escalation,
    EscalationBody,
    FollowUp,
    FollowUpDoneBody,
    FrustrationLevel,
    HandbackBody,
    Incident,
    IncidentBody,
    IncidentUpdateBody,
    Message,
    PresenceBody,
    QueueInfo,
    ResolveBody,
    ResponseAcceptBody,
    ResponseCandidate,
    ReviewFlagBody,
    ReviewItem,
    ReviewLabelBody,
    Role,
    Team,
    TransferBody,
    WebhookBody,
)
from handoff.schemas import Apology as ApologyRecord

__all__ = ["INTEGER_PARAMETERS", "MONEY", "OPENAPI_VERSION", "ROUTES", "Route", "document"]

OPENAPI_VERSION = "3.1.0"
MONEY = r"^\d+\.\d{2}$"  # an amount as the hub writes it: a decimal string with two decimals ("39.90")


# What the routes answer ---------------------------------------------------------------------------------------


class Answer(BaseModel):
    """A JSON answer, described (the routes build it as a dict)."""

    model_config = ConfigDict(frozen=True)


class Error(Answer):
    """Every error: 4xx or 5xx with what was wrong (handoff/errors.py; 429 also has Retry-After)."""

    error: str


class Health(Answer):
    """GET /health: ok once the hub has started; 503 with starting before."""

    status: Literal["ok", "starting"]


class ChannelHealth(Answer):
    """GET /webhooks/rest/: as Rasa's REST channel answers."""

    status: Literal["ok"]


class LoggedOut(Answer):
    status: Literal["logged out"]


class Description(Answer):
    """GET /openapi.json: this document."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


class ChannelCustom(Answer):
    """A channel message's `custom`: who wrote it, and what Rasa gave as custom (an object kept as it was; anything
    else under `data`)."""

    model_config = ConfigDict(extra="allow")

    from_: Role = Field(alias="from")
    agent: str = Field(default="", exclude_if=lambda name: not name, description="an agent's message: their name")


class ChannelMessage(Answer):
    """A message for the customer as Rasa's REST channel shapes it, with any other key Rasa gave (buttons, image)."""

    model_config = ConfigDict(extra="allow")

    recipient_id: str
    text: str = Field(default="", exclude_if=lambda text: not text, description="left out for a message without text")
    custom: ChannelCustom
    id: int


class ChannelAnswer(RootModel[list[ChannelMessage]]):
    """POST /webhooks/rest/webhook: the messages that answer the customer's, oldest first."""


class ChatUpdate(Answer):
    """GET /api/chat/{sender}/messages: the messages the customer has not seen, and where they stand (`queue`
    while queued)."""

    state: ConversationState
    queue: QueueInfo | None
    messages: list[ChannelMessage]


class BotContext(Answer):
    """GET /api/bot/conversations/{sender}/context (docs/hub-api.md, "Bot side")."""

    conversation_id: int | None
    state: ConversationState
    customer: Customer | None
    incident: Incident | None
    compensation: Compensation | None
    human_helped: bool


class EscalationAnswer(QueueInfo):
    """POST /api/bot/conversations/{sender}/escalate: where the conversation stands, and what to tell the customer."""

    escalation_id: int
    state: Literal["queued", "agent"]
    notice: str


class AlertDelivery(Answer):
    """POST /api/alerts/alertmanager: the group's incident (null: none open), and whether the delivery changed it."""

    incident: Incident | None
    changed: bool


class LoginAnswer(Answer):
    token: str
    agent: Agent


class QueueEntry(Answer):
    """One line of the agents' queue."""

    conversation_id: int
    sender: str
    customer: Customer | None
    reason: str
    summary: str
    priority: int  # the effective priority: waiting counts
    frustration_level: FrustrationLevel
    waiting_seconds: int
    state: Literal["queued", "agent"]
    skills: list[str]
    team: str | None
    silent_since: datetime | None


class Queue(Answer):
    """GET /api/agent/queue: waiting for anyone (in queue order), and with this agent."""

    queued: list[QueueEntry]
    mine: list[QueueEntry]


class ConversationAnswer(Answer):
    conversation: Conversation


class HandbackAnswer(ConversationAnswer):
    rasa_notified: bool  # false: Rasa could not be told a person helped (audited)


class Apology(Answer):
    text: str
    at: str | None
    problem: str | None  # the bot's key for the problem; None: listed at an escalation, before apologies were recorded


class Offer(Answer):
    id: int
    incident_id: str
    kind: str
    amount: Decimal
    currency: str
    status: CompensationStatus


class Ledger(Answer):
    """What was already said and given: the bot's apologies before the escalation, every offer to the customer."""

    apologies: list[Apology]
    offers: list[Offer]


class Directory(Answer):
    """GET /api/agent/directory."""

    agents: list[AgentProfile]
    teams: list[Team]


class Counts(Answer):
    bot: int
    queued: int
    agent: int
    closed: int
    silent: int  # with a person, and the customer has not answered them (unresolved-silent)


class FrustrationHour(Answer):
    hour: datetime
    escalations: int
    mean_score: float | None


class IncidentApologies(Sameness):
    incident_id: str
    title: str


class Overview(Answer):
    """GET /api/agent/overview."""

    counts: Counts
    frustration: list[FrustrationHour]
    apologies: IncidentApologies | None  # None: no open incident
    at: datetime


class HandoffPacket(Answer):
    """GET /api/agent/conversations/{conversation_id}: everything an agent needs to take over."""

    conversation: Conversation
    customer: Customer | None
    incident: Incident | None
    escalation: Escalation | None  # the latest one
    ledger: Ledger
    compensations: list[Compensation]
    messages: list[Message]


class ConversationMessages(Answer):
    state: ConversationState
    messages: list[Message]


class AuditEntry(Answer):
    id: int
    at: datetime
    actor: str
    action: str
    conversation_id: int | None
    detail: dict[str, Any]


class AuditTrail(Answer):
    entries: list[AuditEntry]


class WaitAlert(Answer):
    conversation_id: int
    sender: str
    reason: str
    priority: int
    waiting_seconds: int
    alerted_at: datetime


class WaitAlerts(Answer):
    alerts: list[WaitAlert]


class FollowUpList(Answer):
    follow_ups: list[FollowUp]


class FollowUpAnswer(Answer):
    follow_up: FollowUp


class IncidentList(Answer):
    incidents: list[Incident]


class IncidentAnswer(Answer):
    incident: Incident


class CompensationList(Answer):
    compensations: list[Compensation]


class DecidedCompensation(Answer):
    """The offer after an agent's decision."""

    compensation: Compensation


class TrainerLoginAnswer(Answer):
    token: str
    trainer: Agent


class TrainerAnswer(Answer):
    trainer: Agent


class Vocabulary(Answer):
    """GET /api/trainer/intents: what a label may name (the bot's domain file)."""

    intents: list[str]
    entities: list[str]
    frustration_levels: list[FrustrationLevel]
    responses: list[str]


class ReviewInbox(Answer):
    """GET /api/trainer/review: a page of items, and how many are open in all."""

    items: list[ReviewItem]
    open: int


class ReviewItemAnswer(Answer):
    item: ReviewItem


class ResponseCandidates(Answer):
    """GET /api/trainer/responses: a page of candidates, and how many are proposed in all."""

    candidates: list[ResponseCandidate]
    proposed: int


class ResponseCandidateAnswer(Answer):
    candidate: ResponseCandidate


class FlaggedAnswer(Answer):
    review_item: ReviewItem


# The routes -----------------------------------------------------------------------------------------------------


class Route(NamedTuple):
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    auth: str | None = None  # "service" | "agent" | "trainer" | "bearer-service" (the service token as a bearer)
    answer: type[BaseModel] | str = "text/html"  # the JSON a success answers (a model), or the media type it has
    statuses: tuple[int, ...] = (200,)  # the statuses it answers with `answer`


ROUTES = [
    Route("GET", "/health", 'Readiness: {"status": "ok"}, or 503 while starting', answer=Health, statuses=(200, 503)),
    Route("GET", "/openapi.json", "This description", answer=Description),
    Route("GET", "/", "Chat widget (HTML)"),
    Route("GET", "/console", "Agent console (HTML)"),
    Route("GET", "/review", "Trainers' review inbox (HTML)"),
    Route("GET", "/assets/socket.io.min.js", "The socket.io browser client the widget uses", answer="text/javascript"),
    Route(
        "GET",
        "/socket.io/",
        "Rasa's socket.io channel (engine.io transport: docs/hub-api.md, socket.io channel)",
        answer="text/plain",
    ),
    Route(
        "POST",
        "/socket.io/",
        "Rasa's socket.io channel (engine.io transport: docs/hub-api.md, socket.io channel)",
        answer="text/plain",
    ),
    Route("GET", "/webhooks/rest/", "Rasa REST channel health", answer=ChannelHealth),
    Route(
        "POST",
        "/webhooks/rest/webhook",
        "A customer's message; answers the messages for them (Rasa REST protocol). Optional metadata: "
        "customer_token (signed customer identity), message_id (a retry with it is answered once)",
        WebhookBody,
        answer=ChannelAnswer,
    ),
    Route(
        "GET",
        "/api/chat/{sender}/messages",
        "Bot, agent and system messages after ?after=<id>, state and queue place; ?wait=<0-30 s> long-polls",
        answer=ChatUpdate,
    ),
    Route(
        "GET",
        "/api/bot/conversations/{sender}/context",
        "Customer, matching open incident, and the offer for it, else the latest offer still awaiting a decision",
        auth="service",
        answer=BotContext,
    ),
    Route(
        "POST",
        "/api/bot/conversations/{sender}/escalate",
        "Queue the conversation for a person",
        EscalationBody,
        "service",
        answer=EscalationAnswer,
    ),
    Route(
        "POST",
        "/api/bot/conversations/{sender}/apologies",
        "Record an apology the bot sent (the agents' ledger, the supervisors' sameness figure)",
        ApologyBody,
        "service",
        answer=ApologyRecord,
        statuses=(201,),
    ),
    Route(
        "POST",
        "/api/bot/compensations",
        "Record a compensation offer (once per customer and incident): 201 new, 200 the one recorded",
        CompensationBody,
        "service",
        answer=Compensation,
        statuses=(201, 200),
    ),
    Route(
        "POST",
        "/api/bot/compensations/{compensation_id}/answer",
        "The customer accepts or declines an offer (only from a conversation of its customer; "
        "409 if `amount` is given and the offer's amount changed)",
        CompensationAnswerBody,
        "service",
        answer=Compensation,
    ),
    Route(
        "POST",
        "/api/alerts/alertmanager",
        "Prometheus Alertmanager webhook (version 4): opens, updates and resolves the group's incident",
        AlertmanagerPayload,
        "bearer-service",
        answer=AlertDelivery,
    ),
    Route("POST", "/api/agent/login", "Agent login; answers a bearer token", AgentLogin, answer=LoginAnswer),
    Route("POST", "/api/agent/logout", "End this agent session", auth="agent", answer=LoggedOut),
    Route("GET", "/api/agent/queue", "Conversations waiting, and this agent's", auth="agent", answer=Queue),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/claim",
        "Take a queued conversation (one agent wins)",
        auth="agent",
        answer=ConversationAnswer,
    ),
    Route(
        "GET",
        "/api/agent/conversations/{conversation_id}",
        "The handoff packet: context, escalation, transcript",
        auth="agent",
        answer=HandoffPacket,
    ),
    Route(
        "GET",
        "/api/agent/conversations/{conversation_id}/messages",
        "Messages after ?after=<id>; ?wait=<0-30 s> long-polls",
        auth="agent",
        answer=ConversationMessages,
    ),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/messages",
        "Send a message to the customer (answers 201 with it)",
        AgentMessageBody,
        "agent",
        answer=Message,
        statuses=(201,),
    ),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/messages/{message_id}/flag",
        '"The bot should have handled this": the customer message goes to the trainers\' review inbox, with a note '
        "(201 with its item)",
        ReviewFlagBody,
        "agent",
        answer=FlaggedAnswer,
        statuses=(201,),
    ),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/transfer",
        "Pass the conversation to another available agent (to_agent) or back to the queue for a team (to_team), "
        "with a note; 409 naming why the agent cannot take it",
        TransferBody,
        "agent",
        answer=ConversationAnswer,
    ),
    Route(
        "GET",
        "/api/agent/directory",
        "Every agent (team, skills, capacity, presence, available, open conversations) and every team: whom a "
        "conversation can be transferred to",
        auth="agent",
        answer=Directory,
    ),
    Route(
        "GET",
        "/api/agent/me",
        "The logged-in agent: role, team, skills, capacity, presence, open conversations",
        auth="agent",
        answer=AgentProfile,
    ),
    Route(
        "PUT",
        "/api/agent/me/presence",
        "Set presence: online, away or offline",
        PresenceBody,
        "agent",
        answer=AgentProfile,
    ),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/handback",
        "Give the conversation back to the bot",
        HandbackBody,
        "agent",
        answer=HandbackAnswer,
    ),
    Route(
        "POST",
        "/api/agent/conversations/{conversation_id}/resolve",
        "Close the conversation",
        ResolveBody,
        "agent",
        answer=ConversationAnswer,
    ),
    Route(
        "GET",
        "/api/agent/audit",
        "Supervisors (403 otherwise): audit entries after ?after=<id>, of ?conversation_id=, at most ?limit= (100, "
        "up to 500): who did what and when",
        auth="agent",
        answer=AuditTrail,
    ),
    Route(
        "GET",
        "/api/agent/overview",
        "Supervisors (403 otherwise): conversations per state and silent, escalations' frustration per hour, and how "
        "alike the open incident's apologies are",
        auth="agent",
        answer=Overview,
    ),
    Route(
        "GET",
        "/api/agent/wait-alerts",
        "Supervisors (403 otherwise): conversations still waiting whose wait passed CANDOR_WAIT_ALERT_SECONDS",
        auth="agent",
        answer=WaitAlerts,
    ),
    Route(
        "GET",
        "/api/agent/follow-ups",
        "Messages waiting customers left with an email address (?state=open, the default, or done)",
        auth="agent",
        answer=FollowUpList,
    ),
    Route(
        "POST",
        "/api/agent/follow-ups/{follow_up_id}/done",
        "Mark a follow-up done, with how the customer was answered (409 if done already)",
        FollowUpDoneBody,
        "agent",
        answer=FollowUpAnswer,
    ),
    Route("GET", "/api/agent/customers/{customer_id}", "A customer of the directory", auth="agent", answer=Customer),
    Route("GET", "/api/agent/incidents", "All incidents", auth="agent", answer=IncidentList),
    Route(
        "POST",
        "/api/agent/incidents",
        "Open an incident (answers 201 with it)",
        IncidentBody,
        "agent",
        answer=IncidentAnswer,
        statuses=(201,),
    ),
    Route(
        "PATCH",
        "/api/agent/incidents/{incident_id}",
        "Change an incident: title, severity, services, regions, status (resolved resolves), facts",
        IncidentUpdateBody,
        "agent",
        answer=IncidentAnswer,
    ),
    Route(
        "GET",
        "/api/agent/compensations",
        "Compensation records, newest first; ?status=<status> keeps one status (e.g. pending_approval)",
        auth="agent",
        answer=CompensationList,
    ),
    Route(
        "POST",
        "/api/agent/compensations/{compensation_id}/approve",
        "Approve an offer pending approval",
        auth="agent",
        answer=DecidedCompensation,
    ),
    Route(
        "POST",
        "/api/agent/compensations/{compensation_id}/override",
        "Set another amount (from the offer's original_amount up to its agent_max_amount, with a reason); "
        "the offer becomes approved",
        CompensationOverrideBody,
        "agent",
        answer=DecidedCompensation,
    ),
    Route(
        "POST",
        "/api/trainer/login",
        "Trainer login (trainer accounts only; 403 for agents); answers a bearer token",
        AgentLogin,
        answer=TrainerLoginAnswer,
    ),
    Route("POST", "/api/trainer/logout", "End this trainer session", auth="trainer", answer=LoggedOut),
    Route("GET", "/api/trainer/me", "The logged-in trainer", auth="trainer", answer=TrainerAnswer),
    Route(
        "GET",
        "/api/trainer/intents",
        "The intents and entities a label may name (the bot's domain), and the frustration levels",
        auth="trainer",
        answer=Vocabulary,
    ),
    Route(
        "GET",
        "/api/trainer/review",
        "Review items, oldest first, after ?after=<id>, in ?state= (open by default; labelled, discarded, exported, "
        "conflict, or all), at most ?limit= (50, up to 200); and how many are open",
        auth="trainer",
        answer=ReviewInbox,
    ),
    Route("GET", "/api/trainer/review/{item_id}", "One review item", auth="trainer", answer=ReviewItemAnswer),
    Route(
        "POST",
        "/api/trainer/review/{item_id}/label",
        "Confirm or correct the intent, set the frustration level, mark entities (409 once exported or discarded)",
        ReviewLabelBody,
        "trainer",
        answer=ReviewItemAnswer,
    ),
    Route(
        "POST",
        "/api/trainer/review/{item_id}/discard",
        "Leave the item out of the training data (409 once exported)",
        auth="trainer",
        answer=ReviewItemAnswer,
    ),
    Route(
        "GET",
        "/api/trainer/responses",
        "Response candidates (agents' replies that worked), oldest first, after ?after=<id>, in ?state= (proposed by "
        "default; accepted, rejected, exported, or all), at most ?limit= (50, up to 200); and how many are proposed",
        auth="trainer",
        answer=ResponseCandidates,
    ),
    Route(
        "GET",
        "/api/trainer/responses/{candidate_id}",
        "One response candidate",
        auth="trainer",
        answer=ResponseCandidateAnswer,
    ),
    Route(
        "POST",
        "/api/trainer/responses/{candidate_id}/accept",
        "Accept it as a variation of a domain response, or as a new utter_ response, with the text as the bot should "
        "say it (400 if it still holds a redaction placeholder or braces; 409 once exported); the export writes it "
        "into domain.yml",
        ResponseAcceptBody,
        "trainer",
        answer=ResponseCandidateAnswer,
    ),
    Route(
        "POST",
        "/api/trainer/responses/{candidate_id}/reject",
        "Never use this reply as a bot response (409 once exported)",
        auth="trainer",
        answer=ResponseCandidateAnswer,
    ),
]

INTEGER_PARAMETERS = frozenset(
    {"conversation_id", "compensation_id", "follow_up_id", "message_id", "item_id", "candidate_id"}
)  # <name:int> in the routes
_REF = "#/components/schemas/{model}"


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema, with the hub's answers described as it writes them: every field present (the routes
    dump defaults too) unless its model leaves it out (`exclude_if`), and amounts as decimal strings (MONEY)."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        if self.mode == "serialization":
            return {"type": "string", "pattern": MONEY}
        return super().decimal_schema(schema)


def _schemas() -> tuple[dict[type[BaseModel], JsonSchemaValue], dict[type[BaseModel], JsonSchemaValue], Any]:
    """The request bodies' schemas (what the hub takes), the answers' (what it writes), and all of their
    definitions."""
    bodies = {route.body for route in ROUTES if route.body is not None}
    answers = {route.answer for route in ROUTES if not isinstance(route.answer, str)} | {Error}
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((model, "validation") for model in sorted(bodies, key=lambda m: m.__name__)),
        *((model, "serialization") for model in sorted(answers, key=lambda m: m.__name__)),
    ]
    refs, top = models_json_schema(wanted, ref_template=_REF, schema_generator=_Schemas)
    taken = {model: refs[(model, "validation")] for model in bodies}
    given = {model: refs[(model, "serialization")] for model in answers}
    return taken, given, top.get("$defs", {})


def _json(schema: JsonSchemaValue) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


@cache
def document() -> dict[str, Any]:
    taken, given, schemas = _schemas()
    paths: dict[str, Any] = {}
    for route in ROUTES:
        responses: dict[str, Any] = {}
        for status in route.statuses:
            described: dict[str, Any] = {"description": HTTPStatus(status).phrase}
            if isinstance(route.answer, str):
                described["content"] = {route.answer: {"schema": {"type": "string"}}}
            else:
                described["content"] = _json(given[route.answer])
            responses[str(status)] = described
        responses |= {"4XX": {"$ref": "#/components/responses/Error"}, "5XX": {"$ref": "#/components/responses/Error"}}
        operation: dict[str, Any] = {"summary": route.summary, "responses": responses}
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if name in INTEGER_PARAMETERS else "string"},
            }
            for part in route.path.split("/")
            if part.startswith("{") and (name := part[1:-1])
        ]
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {
                "required": route.body not in (HandbackBody, ResolveBody, ReviewFlagBody),
                "content": _json(taken[route.body]),
            }
        if route.auth == "service":
            operation["security"] = [{"serviceToken": []}]
        elif route.auth == "agent":
            operation["security"] = [{"agentToken": []}]
        elif route.auth == "trainer":
            operation["security"] = [{"trainerToken": []}]
        elif route.auth == "bearer-service":
            operation["security"] = [{"serviceBearer": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Candor handoff hub", "version": "0.1.0", "description": "See docs/hub-api.md."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Error": {
                    "description": "An error: what was wrong (docs/hub-api.md; 429 also says Retry-After)",
                    "content": _json(given[Error]),
                }
            },
            "securitySchemes": {
                "serviceToken": {"type": "apiKey", "in": "header", "name": "X-Candor-Service-Token"},
                "serviceBearer": {"type": "http", "scheme": "bearer", "description": "the service token"},
                "agentToken": {"type": "http", "scheme": "bearer"},
                "trainerToken": {"type": "http", "scheme": "bearer", "description": "a trainer's token"},
            },
        },
    }
