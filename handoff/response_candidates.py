"""Response candidates: which agent replies "worked", and what a trainer may accept (pure, no I/O).

When an agent resolves a conversation or hands it back to the bot, the hub looks at that stretch with the agent.
An agent reply worked when the customer's next message, before the agent wrote again, thanked, agreed or said
goodbye (Rasa's NLU: intent `thank`, `affirm` or `goodbye` with at least CANDOR_REVIEW_CONFIDENCE) without
frustration (level none or low). Such a reply is proposed, redacted (handoff/redaction.py, and the customer's and
the agent's names as `[name]`), with the customer message it answered and the reaction. The same reply working
again counts on its candidate (`worked`).

Nothing is used without review. A trainer accepts a candidate as a response of the bot's domain (an existing one,
as one more variation, or a new `utter_` name), writing the text as the bot should say it, or rejects it. An
export (handoff/response_export.py) writes accepted ones into domain.yml and validates.

States: `proposed` → `accepted` or `rejected` (a trainer may change either decision until the export);
an export moves `accepted` to `exported`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from handoff.errors import BadRequest
from handoff.nlu_export import normalised
from handoff.redaction import ORDER_ID_PLACEHOLDER, PLACEHOLDERS, redact
from handoff.review import Prediction, is_payload
from handoff.schemas import RESPONSE_NAME_PATTERN, RESPONSE_TEXT_MAX

__all__ = [
    "MIN_WORDS",
    "NAME_PLACEHOLDER",
    "STATES",
    "WORKED_INTENTS",
    "Proposal",
    "Reply",
    "check_acceptance",
    "key_of",
    "redacted",
    "replies",
    "worked",
]

STATES = ("proposed", "accepted", "rejected", "exported")
DECIDABLE = ("proposed", "accepted", "rejected")
WORKED_INTENTS = frozenset({"thank", "affirm", "goodbye"})
CALM = frozenset({"none", "low"})
MIN_WORDS = 4  # shorter replies ("ok, done") say too little to become a bot response
MAX_CHARS = RESPONSE_TEXT_MAX
NAME_PLACEHOLDER = "[name]"
CUSTOMER_PLACEHOLDER = "[customer]"
RESPONSE_NAME = re.compile(RESPONSE_NAME_PATTERN)
_LEFT_OVER = re.compile(
    "|".join(
        re.escape(p) for p in (*PLACEHOLDERS.values(), ORDER_ID_PLACEHOLDER, NAME_PLACEHOLDER, CUSTOMER_PLACEHOLDER)
    )
)


@dataclass(frozen=True)
class Reply:
    """An agent's reply (message id, text) with the customer message it answered and the customer's next one."""

    message_id: int
    text: str
    prompt: str
    reaction_id: int
    reaction: str


@dataclass(frozen=True)
class Proposal:
    """A reply that worked, redacted, for the store (CandidateStore.propose_response)."""

    message_id: int
    conversation_id: int
    agent: str  # the username of who wrote it
    text: str
    prompt: str
    reaction: str
    reaction_intent: str | None


def replies(messages: Sequence[tuple[int, str, str]]) -> list[Reply]:
    """The agent replies in `messages` ((id, role, text), in order) that a customer answered: each with the
    customer's last typed message before it and their first one after it, before the agent wrote again."""
    found = []
    prompt: str | None = None
    waiting: tuple[int, str, str | None] | None = None  # an agent reply, and its prompt, waiting for a reaction
    for id_, role, text in messages:
        if role == "customer" and not is_payload(text) and text.strip():
            if waiting is not None and waiting[2] is not None:
                found.append(Reply(waiting[0], waiting[1], waiting[2], id_, text))
            waiting = None
            prompt = text
        elif role == "agent":
            long_enough = len(text.split()) >= MIN_WORDS and len(text) <= MAX_CHARS
            waiting = (id_, text, prompt) if long_enough else None
    return found


def worked(prediction: Prediction | None, confidence: float) -> bool:
    """Whether the customer's reaction shows the reply landed: thanks, agreement or goodbye, calmly."""
    if prediction is None or prediction.fell_back or prediction.intent not in WORKED_INTENTS:
        return False
    if prediction.confidence is None or prediction.confidence < confidence:
        return False
    return prediction.frustration_level is None or prediction.frustration_level in CALM


def redacted(text: str, names: Iterable[str], customer_ids: Iterable[str] = ()) -> str:
    """`text` with personal data redacted (handoff/redaction.py), the given people's names (whole or any part, in
    any case: "thanks ana") as [name] and the customer ids as [customer]. Names the hub does not know (a third
    party, a name an anonymous customer typed) it cannot find: the trainer reads every candidate before it is used.
    """
    clean = redact(text).text
    for ids in customer_ids:
        clean = re.sub(rf"(?<!\w){re.escape(ids)}(?!\w)", CUSTOMER_PLACEHOLDER, clean, flags=re.IGNORECASE)
    parts = {part.strip(".,") for name in names for part in [name, *name.split()]}
    for part in sorted((p for p in parts if len(p) >= 2), key=len, reverse=True):
        clean = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", NAME_PLACEHOLDER, clean, flags=re.IGNORECASE)
    return clean


def key_of(text: str) -> str:
    """What two replies are the same by: the redacted text, compared as training examples are (case and spacing
    aside)."""
    return hashlib.sha256(normalised(text).encode()).hexdigest()


def check_acceptance(response: str, text: str, responses: Iterable[str]) -> None:
    """BadRequest unless `response` is a Rasa response name and `text` is something the bot can say as it is.
    `responses`: the domain's response names (a new name is allowed: the export adds it)."""
    if not RESPONSE_NAME.match(response):
        known = ", ".join(sorted(responses))
        raise BadRequest(
            f"response: {response!r} is not a response name (utter_ and a-z, 0-9, _; the domain has {known})"
        )
    if not text.strip():
        raise BadRequest("text: empty")
    if len(text) > MAX_CHARS:
        raise BadRequest(f"text: longer than {MAX_CHARS} characters")
    if "{" in text or "}" in text:
        raise BadRequest("text: braces fill slots in Rasa responses; write the text without { or }")
    if left := _LEFT_OVER.search(text):
        raise BadRequest(f"text: {left[0]} is a redaction placeholder; write the text as the bot should say it")
    if (found := redact(text)).text != text:
        kinds = ", ".join(kind for kind, count in found.found._asdict().items() if count)
        raise BadRequest(f"text: it holds personal data ({kinds}); the bot would say it to every customer")
