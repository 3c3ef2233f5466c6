"""What the conversation so far says: the customer's messages, their frustration, what the bot did.

Reads the events of a rasa-sdk Tracker; no I/O.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker

from actions.problems import Problem, describe_problem
from actions.trajectory import Trajectory, describe
from actions.wording import is_plain

__all__ = [
    "asked_to_stop_apologizing",
    "first_contact",
    "frustration_history",
    "latest_frustration",
    "latest_problem",
    "summary",
]

STOP_APOLOGIZING = "stop_apologizing"
# A message classified as something else still counts as asking for plain talk when the classifier
# gives stop_apologizing at least this much ("stop sounding sorry and get me a person").
STOP_APOLOGIZING_SECOND_CHOICE = 0.15
# ... or says so in as many words, whatever else it asks for.
_STOP_APOLOGIZING_WORDS = re.compile(
    r"\b(stop|quit|enough( with)?|no more|cut( out)?|drop|skip|spare me|don'?t need|do not need)\b"
    r"[^.!?]{0,40}?\b(sorry|sorries|apolog\w*|sympathy|empathy|pity)",
    re.IGNORECASE,
)


def _user_events(tracker: Tracker) -> list[dict[str, Any]]:
    return [e for e in tracker.events if e.get("event") == "user"]


def first_contact(tracker: Tracker) -> datetime | None:
    """When the customer first wrote in this conversation (the start of their wait), or None."""
    stamps = [e.get("timestamp") for e in _user_events(tracker)]
    first = next((s for s in stamps if isinstance(s, (int, float))), None)
    return datetime.fromtimestamp(first, timezone.utc) if first is not None else None


def apologies_made(tracker: Tracker) -> list[dict[str, Any]]:
    """What the bot has apologised for so far, oldest first: {"text", "at"} of each of its messages that is not
    plain (actions/wording.py), for the agent's ledger in the handoff packet."""
    made = []
    for event in tracker.events:
        text = event.get("text")
        if event.get("event") == "bot" and isinstance(text, str) and text and not is_plain(text):
            stamp = event.get("timestamp")
            at = datetime.fromtimestamp(stamp, timezone.utc).isoformat() if isinstance(stamp, (int, float)) else None
            made.append({"text": text, "at": at})
    return made


def latest_frustration(tracker: Tracker) -> dict[str, Any]:
    return dict(tracker.latest_message.get("frustration") or {"score": 0.0, "level": "none"})


def frustration_history(tracker: Tracker) -> list[dict[str, Any]]:
    """One entry per customer message: text, intent, frustration score and level."""
    history = []
    for event in _user_events(tracker):
        parse = event.get("parse_data") or {}
        frustration = parse.get("frustration") or {}
        history.append(
            {
                "text": event.get("text") or "",
                "intent": (parse.get("intent") or {}).get("name"),
                "score": float(frustration.get("score", 0.0)),
                "level": frustration.get("level", "none"),
            }
        )
    return history


def asked_to_stop_apologizing(tracker: Tracker) -> bool:
    """The latest message asks for plain talk, as its intent or as a strong second choice."""
    message = tracker.latest_message
    if (message.get("intent") or {}).get("name") == STOP_APOLOGIZING:
        return True
    if _STOP_APOLOGIZING_WORDS.search(message.get("text") or ""):
        return True
    return any(
        r.get("name") == STOP_APOLOGIZING and float(r.get("confidence", 0)) >= STOP_APOLOGIZING_SECOND_CHOICE
        for r in message.get("intent_ranking") or []
    )


def latest_problem(tracker: Tracker) -> Problem | None:
    """The most recent problem the customer reported, or the latest message naming a service.

    A report that names no service ("it's still not working") is about the last problem that did, if
    any: it is the same problem, and gets no second apology.
    """
    latest = None
    for event in reversed(_user_events(tracker)):
        text = event.get("text") or ""
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        problem = describe_problem(text)
        if problem.service:
            return problem
        if intent == "report_problem" and latest is None:
            latest = problem
    return latest


def summary(
    tracker: Tracker,
    reason: str,
    customer: dict[str, Any] | None,
    history: list[dict[str, Any]],
    problem: Problem | None,
    trajectory: Trajectory,
) -> str:
    """A few lines for the agent: who, what, how it went (the trajectory in plain words), why it is escalated."""
    who = (
        f"{customer.get('name')} ({customer.get('id')}, {customer.get('plan')})"
        if customer
        else "Unidentified customer"
    )
    lines = [f"{who}."]
    if problem:
        lines.append(f'Problem: {problem.phrase().replace("your ", "their ", 1)} ("{problem.text[:160]}").')
    levels = [h["level"] for h in history]
    if levels:
        lines.append(f"Frustration over {len(levels)} messages: {' → '.join(levels)}.")
        lines.append(describe(trajectory))
    apologized = tracker.get_slot("apologized_problems") or []
    lines.append(f"Bot apologised {len(apologized)} time(s)." if apologized else "Bot has not apologised.")
    if tracker.get_slot("apologies_stopped"):
        lines.append("Customer asked for plain talk: no apologies.")
    lines.append(f"Escalated because: {reason.replace('_', ' ')}.")
    return " ".join(lines)
