"""What the customer says is wrong, in the bot's words: service, symptom and how long it has lasted.

Pure functions over the customer's own text, so an acknowledgement can name the actual problem
("your internet has been down since this morning") instead of "the issue you are experiencing".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Problem", "describe_problem"]

# (key, how the bot names it, patterns in the customer's words): the first match wins, so services
# that customers name through generic words ("phone", "account", "box") come after internet.
_SERVICES: tuple[tuple[str, str, str], ...] = (
    ("billing", "bill", r"\b(bill(ed|ing)?|charged?|charges|invoice|overcharg\w*|payment|paid|direct debit|refund)\b"),
    (
        "internet",
        "internet connection",
        r"\b(internet|wi-?fi|wifi|broadband|fib(re|er)|connection|speed|ethernet|lag\w*|router|modem)\b",
    ),
    ("tv", "TV service", r"\b(tv|television|channels?|set[- ]?top( box)?|streaming|netflix)\b"),
    ("mobile", "mobile service", r"\b(mobile|cell|calls?|texts?|sms|signal|4g|5g|mobile data|sim|phone)\b"),
    ("app", "account login", r"\b(app|log ?in|login|sign ?in|password|account|portal|website)\b"),
    ("email", "email", r"\b(e-?mail|inbox|outlook)\b"),
)
# (pattern, symptom now, symptom over a duration)
_SYMPTOMS: tuple[tuple[str, str, str], ...] = (
    (
        r"\b(charged|billed) (me )?(twice|double|two times)|double[- ]charged\b",
        "charged you twice",
        "charged you twice",
    ),
    (
        r"\b(overcharg\w*|wrong amount|too much|higher than)\b",
        "charged you the wrong amount",
        "charged you the wrong amount",
    ),
    (
        r"\b(slow|crawl\w*|sluggish|buffer\w*|lag\w*|speed)\b",
        "is far slower than it should be",
        "has been far slower than it should be",
    ),
    (
        r"\b(drop\w*|cuts? out|cutting out|disconnect\w*|keeps? going|on and off|intermittent\w*)\b",
        "keeps dropping",
        "has kept dropping",
    ),
    (r"\b(no signal|no service|no bars)\b", "has no signal", "has had no signal"),
    (
        r"\b(can'?t|cannot|unable to|won'?t let me) (log ?in|sign ?in|access|get in)\b",
        "won't let you in",
        "hasn't let you in",
    ),
    (
        r"\b(down|not working|doesn'?t work|isn'?t working|stopped working|dead|out|outage|no internet|offline|"
        r"broken|gone|nothing works)\b",
        "isn't working",
        "hasn't been working",
    ),
)
_SINCE = re.compile(
    r"\b(since (?:yesterday|last night|this morning|this afternoon|last \w+|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|\d{1,2}(?::\d{2})? ?(?:am|pm)?)|for (?:over |about |almost |nearly )?(?:\d+|an?|one|two|"
    r"three|four|five|six|several|a few|a couple of) (?:minutes?|hours?|hrs?|days?|weeks?)|"
    r"all (?:day|night|morning|week))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Problem:
    key: str  # stable name of the problem, e.g. "internet:isn't working" (one apology per key)
    service: str | None  # "internet connection"
    symptom: str | None  # "isn't working"
    duration: str | None  # "since this morning"
    lasting: str | None  # the symptom over that duration: "hasn't been working"
    text: str  # the customer's own words

    def phrase(self) -> str:
        """The problem in a few words, starting with 'your': 'your internet connection isn't working'."""
        service = self.service or "service"
        symptom = self.symptom or "isn't working properly"
        if symptom.startswith("charged"):
            return f"we {symptom}" if service == "bill" else f"your {service}: we {symptom}"
        if self.duration and self.lasting:
            return f"your {service} {self.lasting} {self.duration}"
        return f"your {service} {symptom}"


def describe_problem(text: str) -> Problem:
    """Service, symptom and duration named in a customer's message (None where it names none)."""
    lowered = text.lower()
    service_key, service = next(
        ((key, name) for key, name, pattern in _SERVICES if re.search(pattern, lowered)), (None, None)
    )
    symptom, lasting = next(
        ((now, over) for pattern, now, over in _SYMPTOMS if re.search(pattern, lowered)), (None, None)
    )
    if symptom and symptom.startswith("charged") and service_key is None:
        service_key, service = "billing", "bill"
    duration_match = _SINCE.search(text)
    duration = duration_match.group(1).lower() if duration_match else None
    key = f"{service_key or 'unknown'}:{symptom or 'unspecified'}"
    return Problem(key=key, service=service, symptom=symptom, duration=duration, lasting=lasting, text=text.strip())
