"""Conversation-level frustration: the trend over the customer's messages and what is causing it.

Pure functions over a tracker's events (dicts, as rasa-sdk gives them); no I/O. Every number is a
named constant below, documented in docs/frustration.md ("Conversation level").

- trend (one of TRENDS), over the customer's last WINDOW messages (a plain "yes", "no" or "a person,
  please", NEUTRAL_INTENTS below a frustrated score, says nothing about the mood and is left out):
  rising     the latest message is frustrated, above the one before, and at least RISE above the
             lowest recent one (a conversation starts calm: a frustrated first message is rising);
  sustained  the latest message and at least one other recent one are frustrated;
  falling    a recent message was frustrated and the latest is at least FALL below it;
  calm       anything else (no message frustrated recently, or one that passed).
- causes: "rising_frustration" / "sustained_frustration" (the trend), "repeated_problem" (the customer
  told the same problem again), "bot_fallback" (the bot did not understand), "repeated_bot_answer"
  (the bot sent the same text twice).
- score: the higher of the latest message's score and the recent mean, plus CAUSE_WEIGHT for each
  thing the bot got wrong or made the customer repeat (capped at 1); level: from the score with the
  per-message thresholds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from actions.problems import describe_problem

__all__ = [
    "CAUSE_WEIGHT",
    "FALL",
    "FRUSTRATED",
    "RISE",
    "SAME_WORDS",
    "TRENDS",
    "WINDOW",
    "Trajectory",
    "assess",
    "describe",
    "trend_of",
]

TRENDS = ("calm", "rising", "sustained", "falling")
# The trend looks at the customer's last WINDOW messages.
WINDOW = 3
# A message is frustrated from this score on: the per-message "medium" threshold.
FRUSTRATED = 0.5
# Rising: the latest score is at least this much above the lowest recent one (and above the one before).
RISE = 0.25
# Falling: the latest score is at least this much below the most frustrated recent message.
FALL = 0.25
# Added to the conversation score for each cause the bot is responsible for (see _BOT_CAUSES).
CAUSE_WEIGHT = 0.1
# Conversation level from the conversation score: the per-message thresholds (docs/frustration.md).
LEVELS = (("high", 0.80), ("medium", 0.50), ("low", 0.30))
# Two customer messages tell the same problem when describe_problem names the same service and symptom,
# or when at least SAME_WORDS of their content words are shared (each having at least MIN_WORDS).
SAME_WORDS = 0.6
MIN_WORDS = 3
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_two_stage_fallback", "utter_default"})
FALLBACK_INTENT = "nlu_fallback"
# "yes", "no", "a person, please": left out of the trend and the score unless frustrated themselves
# ("NO!!! I said no"); said calmly, they tell nothing about the mood, and the customer who accepts or
# asks for a person after shouting has not calmed down.
NEUTRAL_INTENTS = frozenset({"affirm", "deny", "request_human"})

_BOT_CAUSES = ("repeated_problem", "bot_fallback", "repeated_bot_answer")
_WORD = re.compile(r"[a-z0-9']+")
_STOPWORDS = frozenset(
    {"the", "and", "for", "you", "your", "are", "was", "were", "this", "that", "with", "can", "could", "would"}
    | {"please", "just", "what", "when", "why", "how", "our", "from", "has", "have", "had", "any", "all", "there"}
)


@dataclass(frozen=True)
class Trajectory:
    trend: str  # one of TRENDS
    level: str  # none | low | medium | high, for the conversation
    score: float  # 0..1, for the conversation
    causes: tuple[str, ...]  # in the order of the module docstring
    messages: int  # how many customer messages there are

    def as_dict(self) -> dict[str, Any]:
        """The shape the hub stores (docs/hub-api.md, escalate)."""
        return {"trend": self.trend, "level": self.level, "score": self.score, "causes": list(self.causes)}


def trend_of(scores: Sequence[float]) -> str:
    """The trend of the customer's per-message frustration scores, oldest first."""
    if not scores:
        return "calm"
    # A conversation starts calm: a first message is compared with a calm baseline (0).
    recent = list(scores[-WINDOW:]) if len(scores) > 1 else [0.0, scores[0]]
    latest, earlier = recent[-1], recent[:-1]
    if latest >= FRUSTRATED and latest > earlier[-1] and round(latest - min(earlier), 3) >= RISE:
        return "rising"
    if latest >= FRUSTRATED and any(s >= FRUSTRATED for s in earlier):
        return "sustained"
    if max(earlier) >= FRUSTRATED and round(max(earlier) - latest, 3) >= FALL:
        return "falling"
    return "calm"


def _score(event: Mapping[str, Any]) -> float:
    frustration = (event.get("parse_data") or {}).get("frustration") or {}
    return min(1.0, max(0.0, float(frustration.get("score", 0.0))))


def _intent(event: Mapping[str, Any]) -> str | None:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOPWORDS)


def _repeats_a_problem(texts: Sequence[str]) -> bool:
    """Two of the texts tell the same problem: same known service and symptom, or mostly the same words."""
    told = [(describe_problem(t), _words(t)) for t in texts]
    for (one, a), (other, b) in combinations(told, 2):
        if one.service and one.key == other.key:
            return True
        if min(len(a), len(b)) >= MIN_WORDS and len(a & b) / len(a | b) >= SAME_WORDS:
            return True
    return False


def _causes(events: Sequence[Mapping[str, Any]], users: Sequence[Mapping[str, Any]], trend: str) -> list[str]:
    fell_back = any(_intent(e) == FALLBACK_INTENT for e in users) or any(
        e.get("event") == "action" and e.get("name") in FALLBACK_ACTIONS for e in events
    )
    said = [" ".join(str(e.get("text") or "").lower().split()) for e in events if e.get("event") == "bot"]
    said = [s for s in said if s]
    found = {
        "rising_frustration": trend == "rising",
        "sustained_frustration": trend == "sustained",
        "repeated_problem": _repeats_a_problem([str(e.get("text") or "") for e in users]),
        "bot_fallback": fell_back,
        "repeated_bot_answer": len(set(said)) < len(said),
    }
    return [cause for cause, present in found.items() if present]


def _level(score: float) -> str:
    return next((name for name, threshold in LEVELS if score >= threshold), "none")


def assess(events: Iterable[Mapping[str, Any]]) -> Trajectory:
    """The conversation's frustration from its events (user messages carry parse_data["frustration"])."""
    events = list(events)
    users = [e for e in events if e.get("event") == "user"]
    scores = [_score(e) for e in users if _intent(e) not in NEUTRAL_INTENTS or _score(e) >= FRUSTRATED]
    trend = trend_of(scores)
    causes = _causes(events, users, trend)
    recent = scores[-WINDOW:]
    base = max(recent[-1], sum(recent) / len(recent)) if recent else 0.0
    score = round(min(1.0, base + CAUSE_WEIGHT * sum(c in _BOT_CAUSES for c in causes)), 3)
    return Trajectory(trend=trend, level=_level(score), score=score, causes=tuple(causes), messages=len(users))


_CAUSE_WORDS = {
    "repeated_problem": "they had to tell us the same problem again",
    "bot_fallback": "the bot did not understand them",
    "repeated_bot_answer": "the bot gave them the same answer twice",
}
_TREND_WORDS = {
    "calm": "no rising frustration",
    "rising": "frustration rising",
    "sustained": "frustration sustained over several messages",
    "falling": "frustration easing off",
}


def describe(trajectory: Trajectory) -> str:
    """The trajectory in plain words for the agent: 'Conversation: frustration rising (now high); ...'."""
    if trajectory.messages == 0:
        return "Conversation: no customer messages yet."
    text = f"Conversation: {_TREND_WORDS[trajectory.trend]} (now {trajectory.level})"
    reasons = [_CAUSE_WORDS[c] for c in trajectory.causes if c in _CAUSE_WORDS]
    if reasons:
        text += "; " + ", ".join(reasons[:-1]) + (" and " if len(reasons) > 1 else "") + reasons[-1]
    return text + "."
