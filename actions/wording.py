"""Words Candor never says, and words it stops saying when asked.

- BANNED_PHRASES: empty corporate filler; never in any bot message (tests scan every template and
  composed variant).
- apology words and empathy filler: allowed in one specific apology per problem, never after the
  customer asked for plain talk (`stop_apologizing`).
"""

from __future__ import annotations

import re

__all__ = ["BANNED_PHRASES", "banned_phrases_in", "is_plain", "quotable"]

BANNED_PHRASES = (
    "your trust remains our highest priority",
    "we understand how frustrating this situation has been",
    "we sincerely apologise for any inconvenience",
    "we sincerely apologize for any inconvenience",
    "we apologise for any inconvenience",
    "we apologize for any inconvenience",
    "sorry for any inconvenience",
    "sorry for the inconvenience",
    "your call is important to us",
    "your satisfaction is our top priority",
    "we value your patience",
    "thank you for your patience",
    "we appreciate your understanding",
    "rest assured",
    "we are committed to providing",
    "i understand your frustration",
    "i completely understand",
    "we take this very seriously",
    "we're here for you",
)

_APOLOGY = re.compile(r"\b(sorry|apolog\w*|regret\w*|forgive\w*|my bad|pardon)\b", re.IGNORECASE)
_EMPATHY_FILLER = re.compile(
    r"\b(i understand|i hear you|i know how|frustrat\w*|inconvenien\w*|your patience|we value|we appreciate|"
    r"that must be|must be (so )?(hard|annoying|difficult))\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def banned_phrases_in(text: str) -> list[str]:
    """The banned phrases a message contains (case-insensitive)."""
    lowered = " ".join(text.lower().replace("\u2019", "'").split())
    return [phrase for phrase in BANNED_PHRASES if phrase in lowered]


def is_plain(text: str) -> bool:
    """True when a message has no apology words and no empathy filler."""
    return not (_APOLOGY.search(text) or _EMPATHY_FILLER.search(text))


def quotable(text: str) -> str:
    """The sentences of a human-written text (incident facts) that the bot may quote: no apology
    (the bot makes at most one, in its own words), no empathy filler, no banned phrase."""
    return " ".join(s for s in _SENTENCE.split(text.strip()) if s and is_plain(s) and not banned_phrases_in(s))
