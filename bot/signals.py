"""Signals of frustration that sentence embeddings miss: shouting, !!!/???, repeated contact,
profanity, sarcasm and long waits. Each signal is a number in [0, 1]; pure functions, no model."""

from __future__ import annotations

import re

__all__ = ["SIGNAL_NAMES", "signal_vector", "signals"]

SIGNAL_NAMES = ("shouting", "exclamations", "questions", "repeat_contact", "profanity", "sarcasm", "waiting")

# Short capitalised words that are names, not shouting.
_ACRONYMS = {
    "TV",
    "ETA",
    "SMS",
    "ISP",
    "ID",
    "OK",
    "PIN",
    "SIM",
    "APP",
    "URL",
    "VPN",
    "DNS",
    "IP",
    "FAQ",
    "CEO",
    "EU",
    "UK",
    "USA",
    "AM",
    "PM",
    "GB",
    "MB",
    "WIFI",
    "4G",
    "5G",
    "DSL",
    "ADSL",
    "I",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z']+")
_REPEAT = re.compile(
    r"\b(again|still|(second|third|fourth|fifth|2nd|3rd|4th|5th|\d+(st|nd|rd|th)) time|"
    r"(many|several|multiple|numerous) times|how many times|keeps? (happening|dropping|failing|going)|"
    r"every (single )?(day|time|week)|already (told|called|explained|asked|reported|contacted)|"
    r"(called|contacted|written|messaged|chatted)( you)? (\w+ )?(times|twice)|twice|once more|yet again)\b",
    re.IGNORECASE,
)
_PROFANITY = re.compile(
    r"\b(wtf|ffs|omfg|fck\w*|f+u+c+k+\w*|sh[i1]t\w*|crap\w*|damn\w*|bloody|hell|bs|bullsh[i1]t|pissed|"
    r"screw (you|this|it)|piss\w*|arse|ass|asshole|jerks?|idiots?|morons?|stupid|useless|garbage|trash|"
    r"rubbish|joke|scam\w*)\b",
    re.IGNORECASE,
)
_SARCASM = re.compile(
    r"\b(great,? just great|just great|just perfect|oh (great|wonderful|perfect|brilliant|fantastic|lovely)|"
    r"thanks for nothing|thanks a lot|(so|very|really) helpful(?! thanks)|yeah,? right|love (how|that|it when)|"
    r"what a (surprise|shock|joke)|wow,? (just )?(great|amazing|wonderful)|fantastic service|great service|"
    r"well done|bravo|slow clap|shocker|color me|colour me)\b",
    re.IGNORECASE,
)
_NUMBER = r"(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|several|many|few|couple of)"
_LONG_WAIT = re.compile(
    rf"\b({_NUMBER}\s+(hours?|hrs?|days?|weeks?|months?)|since (yesterday|last \w+|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|this morning|last night|\d+ ?(am|pm))|all (day|night|morning|week)|"
    r"for ages|forever|for hours|hours and hours)\b",
    re.IGNORECASE,
)
_SHORT_WAIT = re.compile(rf"\b{_NUMBER}\s+(minutes?|mins?)\b", re.IGNORECASE)


def _shouting(text: str) -> float:
    words = [w for w in _WORD.findall(text) if len(w) >= 2]
    if not words:
        return 0.0
    loud = [w for w in words if w.isupper() and w.upper() not in _ACRONYMS and len(w) >= 3]
    share = len(loud) / len(words)
    return min(1.0, share * 2) if len(loud) >= 1 else 0.0


def _runs(text: str, mark: str) -> float:
    longest = max((len(m) for m in re.findall(rf"[{re.escape(mark)}]+", text)), default=0)
    return 0.0 if longest == 0 else (0.3 if longest == 1 else 1.0)


def signals(text: str) -> dict[str, float]:
    """Each signal's strength for one message."""
    return {
        "shouting": _shouting(text),
        "exclamations": _runs(text, "!"),
        "questions": 1.0 if re.search(r"\?{2,}|\?!|!\?", text) else 0.0,
        "repeat_contact": 1.0 if _REPEAT.search(text) else 0.0,
        "profanity": 1.0 if _PROFANITY.search(text) else 0.0,
        "sarcasm": 1.0 if _SARCASM.search(text) else 0.0,
        "waiting": 1.0 if _LONG_WAIT.search(text) else (0.4 if _SHORT_WAIT.search(text) else 0.0),
    }


def signal_vector(text: str) -> list[float]:
    """The signals in SIGNAL_NAMES order."""
    values = signals(text)
    return [values[name] for name in SIGNAL_NAMES]
