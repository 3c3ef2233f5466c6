"""Typed shapes of the hub: request bodies, and the records the repository returns (docs/hub-api.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from handoff.routing import DEFAULT_CAPACITY, MAX_CAPACITY

__all__ = [
    "MAX_TEXT",
    "Agent",
    "AgentLogin",
    "AgentMessageBody",
    "AgentProfile",
    "Compensation",
    "CompensationAnswer",
    "CompensationAnswerBody",
    "CompensationBody",
    "CompensationOverrideBody",
    "CompensationStatus",
    "Conversation",
    "Customer",
    "Escalation",
    "EscalationBody",
    "FollowUp",
    "FollowUpDoneBody",
    "FrustrationPoint",
    "HandbackBody",
    "Incident",
    "IncidentBody",
    "IncidentFacts",
    "IncidentFactsBody",
    "IncidentUpdateBody",
    "Message",
    "PresenceBody",
    "QueueInfo",
    "ResolveBody",
    "ResponseAcceptBody",
    "ResponseCandidate",
    "ReviewEntity",
    "ReviewFlagBody",
    "ReviewItem",
    "ReviewLabelBody",
    "Team",
    "Trajectory",
    "TransferBody",
    "WebhookBody",
]

MAX_TEXT = 4000
MAX_MESSAGE_ID = 128
ConversationState = Literal["bot", "queued", "agent", "closed"]
Role = Literal["customer", "bot", "agent", "system"]
FrustrationLevel = Literal["none", "low", "medium", "high"]
FrustrationTrend = Literal["calm", "rising", "sustained", "falling"]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
# A sender is the key to its conversation (anyone who knows it can read the chat), so it must be hard to
# guess: 16 characters at least, e.g. a UUID as Rasa's widgets make them.
MIN_SENDER = 16
Sender = Annotated[str, StringConstraints(min_length=MIN_SENDER, max_length=128, pattern=r"^[\w.:@-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Routing: skills and teams are lowercase names ("internet", "billing", "tier-2"); presence as in routing.py.
Skill = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
TeamName = Skill
Presence = Literal["online", "away", "offline"]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
Severity = Literal["minor", "major", "critical"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Fact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
# offered / pending_approval: as the policy produced it; accepted / declined: the customer's answer;
# approved: an agent's approval or override (docs/hub-api.md, "Compensations").
CompensationStatus = Literal["offered", "pending_approval", "accepted", "declined", "approved"]
CompensationAnswer = Literal["accepted", "declined"]


def _decimal(value: Any) -> Any:
    """A decimal string ("5.17") or a JSON number; floats go through str() to stay exact."""
    if isinstance(value, bool):
        raise ValueError("must be a decimal string like '5.17' or a number")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            raise ValueError("must be a decimal string like '5.17'") from None
    return value


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))  # "5" and "5.00" are the same amount, shown as "5.00"


# An amount of money: 0 to 100,000 with at most two decimals.
Money = Annotated[Decimal, Field(ge=0, le=100000, decimal_places=2), BeforeValidator(_decimal), AfterValidator(_cents)]


class Record(BaseModel):
    """A value read from the store: immutable."""

    model_config = ConfigDict(frozen=True)


class Body(BaseModel):
    """A request body: strict types (no "1" for 1), unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class AgentSeed(BaseModel):
    """An agent as the seed file (handoff/seeding.py) or `python -m handoff.cli add-agent` gives it: what the store
    writes (routing's fields: docs/hub-api.md, "Routing")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str
    display_name: str
    password_hash: str
    role: Literal["agent", "supervisor", "trainer"] = "agent"
    team: TeamName | None = None
    skills: list[Skill] = Field(default_factory=list)
    capacity: int = Field(default=DEFAULT_CAPACITY, ge=1, le=MAX_CAPACITY)


# Records -------------------------------------------------------------------------------------------


class Customer(Record):
    id: str
    name: str
    email: str
    plan: str
    tier: str
    monthly_fee: Decimal
    currency: str
    region: str
    services: list[str]


class IncidentFacts(Record):
    what_happened: str = ""
    what_we_are_doing: str = ""
    next_update: str = ""
    eta: str = ""


class Incident(Record):
    id: str
    title: str
    status: str
    severity: str
    services: list[str]
    regions: list[str]
    started_at: datetime
    resolved_at: datetime | None
    facts: IncidentFacts


class Compensation(Record):
    id: int
    customer_id: str
    incident_id: str
    conversation_id: int | None
    rule: str
    kind: str
    amount: Decimal  # what the customer gets: the policy's amount, or an agent's override
    original_amount: Decimal  # what the policy produced; never changed
    agent_max_amount: Decimal  # the most an agent may set for this offer (the policy's limit)
    currency: str
    reason: str
    status: CompensationStatus
    decided_by: str | None  # customer:<sender> | agent:<username>: who took the latest decision
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Agent(Record):
    id: int
    username: str
    display_name: str
    role: Literal["agent", "supervisor", "trainer"] = "agent"


class AgentProfile(Record):
    """GET /api/agent/me: an agent with what routing knows of them (handoff/routing.py)."""

    agent: Agent
    team: str | None
    skills: list[str]
    capacity: int
    presence: Presence
    available: bool  # presence online and a live console session
    open_conversations: int


class Conversation(Record):
    id: int
    sender: str
    customer_id: str | None
    state: ConversationState
    agent: Agent | None
    created_at: datetime
    updated_at: datetime
    last_customer_message_at: datetime | None


class Message(Record):
    id: int
    conversation_id: int
    role: Role
    text: str
    extra: dict[str, Any]
    agent: Agent | None
    created_at: datetime
    delivered_at: datetime | None


class Escalation(Record):
    id: int
    conversation_id: int
    state: Literal["queued", "agent", "handed_back", "resolved"]
    reason: str
    summary: str
    problem: str | None
    frustration: list[dict[str, Any]]
    frustration_level: str
    trajectory: dict[str, Any] | None
    priority: int
    agent: Agent | None
    note: str | None
    created_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    skills: list[str] = []
    team: str | None = None
    transfers: list[dict[str, Any]] = []
    apologies: list[dict[str, Any]] = []


class QueueInfo(Record):
    position: int
    expected_wait_minutes: int
    agents_online: int
    open_now: bool = True  # the team is within its business hours (handoff/hours.py)
    opens_at: datetime | None = None  # when it is not: when people are back (None: not on a known date)


class Apology(Record):
    """An apology the bot sent (the agents' ledger, the supervisors' sameness figure)."""

    id: int
    conversation_id: int
    incident_id: str | None
    problem: str
    text: str
    created_at: datetime


class Team(Record):
    name: str
    display_name: str
    timezone: str
    hours: dict[str, list[str]]
    holidays: list[str]


class FollowUp(Record):
    id: int
    conversation_id: int
    sender: str
    customer_id: str | None
    email: str
    message: str
    state: Literal["open", "done"]
    created_at: datetime
    done_by: str | None
    done_at: datetime | None
    note: str | None


# Request bodies ------------------------------------------------------------------------------------


class WebhookBody(Body):
    """POST /webhooks/rest/webhook: a customer's message, as Rasa's REST channel takes it."""

    sender: Sender
    message: Text
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _message_id_is_a_short_string(self) -> WebhookBody:
        value = self.metadata.get("message_id")
        if value is not None and not (isinstance(value, str) and 1 <= len(value) <= MAX_MESSAGE_ID):
            raise ValueError(f"metadata.message_id must be a string of 1-{MAX_MESSAGE_ID} characters")
        return self

    @property
    def message_id(self) -> str | None:
        """The client's id for this message (metadata.message_id), for idempotent intake."""
        value = self.metadata.get("message_id")
        return value if isinstance(value, str) else None


class FrustrationPoint(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    score: float = Field(ge=0, le=1)
    level: FrustrationLevel
    text: str = Field(default="", max_length=MAX_TEXT)


class Trajectory(Body):
    """The conversation-level frustration the bot assessed (docs/frustration.md, "Conversation level")."""

    trend: FrustrationTrend
    level: FrustrationLevel
    score: float = Field(ge=0, le=1)
    causes: list[Name] = Field(default_factory=list, max_length=20)


class ApologyNote(BaseModel):
    """One apology the bot made before the escalation (the agent's ledger)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
    at: Annotated[str, StringConstraints(max_length=40)] | None = None  # ISO 8601, as the bot knows it


class EscalationBody(Body):
    """POST /api/bot/conversations/{sender}/escalate."""

    reason: Name
    summary: Annotated[str, StringConstraints(max_length=16_000)] = ""
    frustration: list[FrustrationPoint] = Field(default_factory=list, max_length=1000)
    trajectory: Trajectory | None = None
    problem: Annotated[str, StringConstraints(max_length=500)] | None = None
    skills: list[Skill] = Field(default_factory=list, max_length=10)  # every one needed by its agent
    team: TeamName | None = None  # only this team's agents take it
    apologies: list[ApologyNote] = Field(default_factory=list, max_length=50)  # what the bot apologised for


class FollowUpDoneBody(Body):
    """POST /api/agent/follow-ups/{id}/done: how the customer was answered."""

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class PresenceBody(Body):
    """PUT /api/agent/me/presence."""

    presence: Presence


class TransferBody(Body):
    """POST /api/agent/conversations/{id}/transfer: to one agent, or back to the queue for a team."""

    to_agent: Name | None = None
    to_team: TeamName | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        if (self.to_agent is None) == (self.to_team is None):
            raise ValueError("give exactly one of to_agent (a username) and to_team (a team name)")
        return self


class ApologyBody(Body):
    """POST /api/bot/conversations/{sender}/apologies: an apology the bot just sent."""

    problem: Annotated[str, StringConstraints(min_length=1, max_length=200)]  # the bot's key for the problem
    text: Text
    incident_id: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None  # the one explaining it


class CompensationBody(Body):
    """POST /api/bot/compensations: an offer the policy produced, with the most an agent may set for it."""

    sender: Sender | None = None
    customer_id: Name
    incident_id: Name
    rule: Name
    kind: Name
    amount: Money
    agent_max_amount: Money
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    reason: Annotated[str, StringConstraints(max_length=1000)] = ""
    status: Literal["offered", "pending_approval"] = "offered"

    @model_validator(mode="after")
    def _limit_covers_the_amount(self) -> CompensationBody:
        if self.agent_max_amount < self.amount:
            raise ValueError(f"agent_max_amount ({self.agent_max_amount}) must be at least amount ({self.amount})")
        return self


class CompensationAnswerBody(Body):
    """POST /api/bot/compensations/{id}/answer: the customer's answer to an offer, relayed by the bot."""

    sender: Sender
    answer: CompensationAnswer
    # The amount the customer was shown, when the bot sends it: an answer to an amount the offer no longer
    # has (an agent changed it since) is refused with 409 rather than recorded.
    amount: Money | None = None


class CompensationOverrideBody(Body):
    """POST /api/agent/compensations/{id}/override: an agent sets another amount, from the policy's amount
    (original_amount) up to the offer's limit (agent_max_amount)."""

    amount: Money
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class PartialBody(Body):
    """A body whose fields may be left out (unchanged) but, when given, are not null."""

    @model_validator(mode="after")
    def _no_nulls(self) -> PartialBody:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null: leave a field out to keep it")
        return self


class IncidentFactsBody(PartialBody):
    """Customer-facing facts, written by people (docs/hub-api.md, "Shapes"); a field left out is unchanged,
    an empty one is cleared."""

    what_happened: Fact | None = None
    what_we_are_doing: Fact | None = None
    next_update: Fact | None = None
    eta: Fact | None = None


class IncidentBody(Body):
    """POST /api/agent/incidents: an operator opens an incident."""

    title: Title
    severity: Severity
    services: list[Name] = Field(default_factory=list, max_length=20)
    regions: list[Name] = Field(default_factory=list, max_length=50)
    status: Literal["investigating", "identified", "monitoring"] = "investigating"
    facts: IncidentFactsBody = Field(default_factory=IncidentFactsBody)


class IncidentUpdateBody(PartialBody):
    """PATCH /api/agent/incidents/{id}: what changes; status `resolved` resolves, another status reopens."""

    title: Title | None = None
    severity: Severity | None = None
    services: list[Name] | None = Field(default=None, max_length=20)
    regions: list[Name] | None = Field(default=None, max_length=50)
    status: IncidentStatus | None = None
    facts: IncidentFactsBody | None = None

    @model_validator(mode="after")
    def _something(self) -> IncidentUpdateBody:
        given = set(self.model_fields_set)
        if self.facts is not None and not self.facts.model_fields_set:
            given.discard("facts")
        if not given:
            raise ValueError("nothing to change: give at least one field")
        return self


class AgentLogin(Body):
    username: Name
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AgentMessageBody(Body):
    text: Text


class HandbackBody(Body):
    note: Annotated[str, StringConstraints(max_length=MAX_TEXT)] = ""


class ResolveBody(Body):
    """POST /api/agent/conversations/{id}/resolve: how it was resolved (required: the record says why)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]


# The trainers' review inbox (handoff/review.py).
ReviewState = Literal["open", "labelled", "discarded", "exported", "conflict"]
ReviewReason = Literal["fallback", "low_confidence", "ambiguous", "sounds_fake", "escalated", "agent_flagged"]
IntentName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
EntityName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class ReviewEntity(Body):
    """An entity in an item's redacted text: characters start..end (end excluded)."""

    start: int = Field(ge=0)
    end: int = Field(gt=0)
    entity: EntityName

    @model_validator(mode="after")
    def _ordered(self) -> ReviewEntity:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ReviewItem(Record):
    id: int
    message_id: int
    conversation_id: int
    text: str  # redacted
    entities: list[ReviewEntity]  # the bot's (order ids), or the trainer's once labelled
    context: list[dict[str, str]]  # [{"role", "text"}] before it, redacted
    reasons: list[ReviewReason]
    note: str | None
    intent: str | None
    confidence: float | None
    ranking: list[dict[str, Any]]
    frustration_score: float | None
    frustration_level: str | None
    state: ReviewState
    label_intent: str | None
    label_frustration: FrustrationLevel | None
    conflict: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    exported_at: datetime | None


class ReviewLabelBody(Body):
    """POST /api/trainer/review/{id}/label: the intent (confirmed or corrected), the frustration level the text
    shows, and its entities (omitted: the ones it has)."""

    intent: IntentName
    frustration: FrustrationLevel
    entities: list[ReviewEntity] | None = Field(default=None, max_length=20)


ResponseState = Literal["proposed", "accepted", "rejected", "exported"]
RESPONSE_NAME_PATTERN = r"^utter_[a-z0-9_]{1,93}$"  # a Rasa response name, as an accepted candidate's
RESPONSE_TEXT_MAX = 1000


class ResponseCandidate(Record):
    id: int
    text: str  # the agent's reply, redacted
    prompt: str  # the customer message it answered, redacted
    reaction: str  # the customer's next message, redacted
    reaction_intent: str | None
    conversation_id: int
    agent: str  # who wrote it first
    worked: int  # how many times it worked
    state: ResponseState
    response: str | None  # the trainer's: the response it becomes
    accepted_text: str | None  # the trainer's: what the bot will say
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    exported_at: datetime | None


class ResponseAcceptBody(Body):
    """POST /api/trainer/responses/{id}/accept: the response it becomes (one of the domain's, as one more
    variation, or a new utter_ name), and the text as the bot should say it (omitted: the redacted reply)."""

    response: Annotated[str, StringConstraints(pattern=RESPONSE_NAME_PATTERN)]
    text: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=RESPONSE_TEXT_MAX)] | None
    ) = None


class ReviewFlagBody(Body):
    """POST /api/agent/conversations/{id}/messages/{message_id}/flag: why the bot should have handled it."""

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
