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
    ("order", "order", r"\b(my|the|our|this|an?) (\w+ )?(order|delivery|parcel)\b|\border (number|no|#|\d)"),
    ("billing", "bill", r"\b(bill(ed|ing)?|charged?|charges|invoice|overcharg\w*|payment|paid|direct debit|refund)\b"),
    (
        "internet",
        "internet connection",
        r"\b(internet|wi-?fi|wifi|broadband|fib(re|er)|connection|speed|ethernet|lag\w*|router|modem)\b",
    ),
    ("tv", "TV service", r"\b(tv|television|channels?|set[- ]?top( box)?|streaming|netflix)\b"),
    ("mobile", "mobile service", r"\b(mobile|cell|calls?|texts?|sms|signal|4g|5g|mobile data|sim|phone)\b"),
    ("landline", "phone line", r"\b(landline|land line|home phone|dial ?tone)\b"),
    ("app", "account login", r"\b(app|log ?in|login|sign ?in|password|account|portal|website)\b"),
    ("email", "email", r"\b(e-?mails?|inbox|outlook)\b"),
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
    (r"\b(no signal|no service|no bars|no dial ?tone)\b", "has no signal", "has had no signal"),
    (r"\b(restart\w*|reboot\w*|turns? (itself )?off)\b", "keeps restarting", "has kept restarting"),
    (
        r"\b(can'?t|cannot|unable to|won'?t let me) (log ?in|sign ?in|access|get in)\b",
        "won't let you in",
        "hasn't let you in",
    ),
    (
        r"\b(never (arrived|came|turned up)|(has|have|hasn'?t|haven'?t|not|still not) (arrived|come|turned up)|"
        r"(is|it'?s) late|(is|it'?s) missing|not (been )?delivered)\b",
        "hasn't arrived",
        "hasn't arrived",
    ),
    (
        r"\b(down|not working|doesn'?t work|isn'?t working|stopped working|dead|out|outage|no internet|offline|"
        r"broken|gone|nothing works|(can'?t|cannot|unable to) (send|receive|make|get|load|use|connect))\b",
        "isn't working",
        "hasn't been working",
    ),
)
_SINCE = re.compile(
    r"\b(since (?:yesterday|last night|this morning|this afternoon|last \w+|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|\d{1,2}(?::\d{2})? ?(?:am|pm)?)|for (?:over |about |almost |nearly )?(?:\d+|an?|one|two|"
    r"three|four|five|six|several|a few|a couple of) (?:minutes?|hours?|hrs?|days?|weeks?)|"
    r"all (?:day|night|morning|week)|(?:\d+|two|three|four|five|six) (?:hours|days|weeks) now)\b",
    re.IGNORECASE,
)

# "order 48213", "ticket #A-7731", "case no. 5521", "reference: X9K2": a word, then an id with a digit in it.
_REFERENCE = re.compile(
    r"\b(order|ticket|case|reference|ref)\b(?:\s+(?:number|no\.?|id|is))?\s*[:#]?\s*((?=[\w-]*\d)[a-z0-9][\w-]{2,19})\b",
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
    reference: str | None = None  # the order, ticket or case the customer quoted: "order 48213"

    def phrase(self) -> str:
        """The problem in a few words, starting with 'your': 'your internet connection isn't working'."""
        service = self.service or "service"
        if self.service == "order" and self.reference and self.reference.startswith("order "):
            service = self.reference
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
    reference = _REFERENCE.search(text)
    duration_match = _SINCE.search(text)
    duration = duration_match.group(1).lower() if duration_match else None
    if duration and duration.endswith(" now"):  # "2 days now" -> "for 2 days"
        duration = "for " + duration.removesuffix(" now")
    key = f"{service_key or 'unknown'}:{symptom or 'unspecified'}"
    return Problem(
        key=key,
        service=service,
        symptom=symptom,
        duration=duration,
        lasting=lasting,
        text=text.strip(),
        reference=f"{reference.group(1).lower()} {reference.group(2).upper()}" if reference else None,
    )
