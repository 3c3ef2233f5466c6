"""The trainers' review inbox: which customer messages it takes and why, what it shows (pure, no I/O).

A customer message enters the inbox, redacted (handoff/redaction.py), for any of these reasons:
- `fallback`: the bot's NLU fell back (`nlu_fallback`, Rasa's FallbackClassifier);
- `low_confidence`: its best intent's confidence is under CANDOR_REVIEW_CONFIDENCE (0.6);
- `ambiguous`: its two best intents are closer than CANDOR_REVIEW_MARGIN (0.1);
- `sounds_fake`: the customer says the bot sounds fake or automated (intent `bot_challenge`, or such words);
- `escalated`: it is one of the customer's last LEAD_UP messages before the conversation escalated;
- `agent_flagged`: an agent marked it "the bot should have handled this", with a note.

States: `open` (waiting for a trainer) → `labelled` (intent, frustration and entities confirmed or corrected) or
`discarded`; an export (handoff/nlu_export.py) moves a labelled item to `exported`, or to `conflict` when its
text is already an example of another intent; a trainer's new label moves a conflict back to `labelled`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FALLBACK_INTENT",
    "LEAD_UP",
    "REASONS",
    "STATES",
    "Prediction",
    "context_before",
    "is_payload",
    "merged",
    "prediction_of",
    "reasons_for",
    "sounds_fake",
]

FALLBACK_INTENT = "nlu_fallback"
REASONS = ("fallback", "low_confidence", "ambiguous", "sounds_fake", "escalated", "agent_flagged")
STATES = ("open", "labelled", "discarded", "exported", "conflict")
LEAD_UP = 3  # the customer messages before an escalation that enter the inbox
CONTEXT_TURNS = 6  # the messages before an item shown with it
RANKING_KEPT = 5
_FAKE = re.compile(
    r"\b(?:fake|robotic|robots?|automated|scripted|canned|copy[- ]?past(?:e|ed)|templated?|generic|"
    r"(?:a|an|the|you'?re an?|this is an?) (?:bot|script|ai)|not (?:a )?(?:real|human))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Prediction:
    """What the bot understood of one message (Rasa's parse data, as its tracker keeps it)."""

    intent: str | None
    confidence: float | None
    ranking: tuple[tuple[str, float], ...]  # best first, the fallback pseudo-intent left out
    fell_back: bool
    frustration_score: float | None
    frustration_level: str | None

    def ranking_json(self) -> list[dict[str, Any]]:
        return [{"name": name, "confidence": confidence} for name, confidence in self.ranking]


def prediction_of(parse: Mapping[str, Any]) -> Prediction:
    """The prediction in Rasa parse data (`latest_message` of a tracker, or a `user` event's `parse_data`).

    When the NLU fell back, the intent shown is the best real one of the ranking, so the trainer sees what the
    bot half-thought."""
    intent = _mapping(parse.get("intent"))
    name = intent.get("name") if isinstance(intent.get("name"), str) else None
    ranking = tuple(
        (entry["name"], round(float(entry["confidence"]), 4))
        for entry in parse.get("intent_ranking") or []
        if isinstance(entry, Mapping)
        and isinstance(entry.get("name"), str)
        and entry["name"] != FALLBACK_INTENT
        and isinstance(entry.get("confidence"), int | float)
    )[:RANKING_KEPT]
    confidence = intent.get("confidence")
    fell_back = name == FALLBACK_INTENT
    if fell_back or (name is not None and not ranking):
        name, confidence = ranking[0] if ranking else (name, confidence)
    frustration = _mapping(parse.get("frustration"))
    score = frustration.get("score")
    level = frustration.get("level")
    return Prediction(
        intent=name,
        confidence=round(float(confidence), 4) if isinstance(confidence, int | float) else None,
        ranking=ranking,
        fell_back=fell_back,
        frustration_score=round(float(score), 4) if isinstance(score, int | float) else None,
        frustration_level=level if isinstance(level, str) else None,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def is_payload(text: str) -> bool:
    """A button's payload ("/request_human"), not words the customer typed: never reviewed."""
    return text.startswith("/")


def sounds_fake(text: str) -> bool:
    """The customer says the bot sounds fake, scripted or automated ("why does every response sound fake?")."""
    return _FAKE.search(text) is not None


def reasons_for(prediction: Prediction, text: str, *, confidence: float, margin: float) -> list[str]:
    """Why the bot's turn on `text` belongs in the inbox (REASONS order); [] when it does not."""
    reasons = []
    if prediction.fell_back:
        reasons.append("fallback")
    if prediction.confidence is not None and prediction.confidence < confidence:
        reasons.append("low_confidence")
    if len(prediction.ranking) > 1 and prediction.ranking[0][1] - prediction.ranking[1][1] < margin:
        reasons.append("ambiguous")
    if prediction.intent == "bot_challenge" or sounds_fake(text):
        reasons.append("sounds_fake")
    return reasons


def merged(reasons: Iterable[str], more: Iterable[str]) -> list[str]:
    """Both lists' reasons, each once, in REASONS order."""
    given = set(reasons) | set(more)
    return [reason for reason in REASONS if reason in given]


def context_before(
    messages: Sequence[tuple[int, str, str]], message_id: int, turns: int = CONTEXT_TURNS
) -> list[tuple[str, str]]:
    """The (role, text) of up to `turns` messages before `message_id` in `messages` ((id, role, text), in order)."""
    earlier = [(role, text) for id_, role, text in messages if id_ < message_id and text]
    return earlier[-turns:]
