"""What the customer says is wrong, in the bot's words: service, symptom and how long it has lasted.

Pure functions over the customer's own text, so an acknowledgement can name the actual problem
("your internet has been down since this morning") instead of "the issue you are experiencing".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Problem", "describe_problem", "stated_hours"]

# (key, how the bot names it, patterns in the customer's words): the first match wins, so services
# that customers name through generic words ("phone", "account", "box") come after internet and landline.
_SERVICES: tuple[tuple[str, str, str], ...] = (
    (
        "order",
        "order",
        r"\b(my|our) (?!standing )(\w+ )?(order|delivery|parcel)\b(?! (of|address))|"
        r"\border (number |no\.? |nr\.? |#)\s*\w*\d|\border #?\d{4,}",
    ),
    ("billing", "bill", r"\b(bill(ed|ing)?|charged?|charges|invoice|overcharg\w*|payment|paid|direct debit|refund)\b"),
    (
        "internet",
        "internet connection",
        r"\b(internet|wi-?fi|wifi|broadband|fib(re|er)|connection|speed|ethernet|lag\w*|router|modem)\b",
    ),
    ("tv", "TV service", r"\b(tv|television|channels?|set[- ]?top( box)?|streaming|netflix)\b"),
    ("landline", "phone line", r"\b(landline|land line|home phone|dial ?tone)\b"),
    ("mobile", "mobile service", r"\b(mobile|cell|calls?|texts?|sms|signal|4g|5g|mobile data|sim|phone)\b"),
    ("app", "account login", r"\b(app|log ?in|login|sign ?in|password|account|portal|website)\b"),
    ("email", "email", r"\b(e-?mails?|inbox|outlook)\b"),
)
_NOT_A_SERVICE = frozenset({"billing", "order"})  # "isn't working", "keeps dropping"... say nothing about these
_ORDERS = frozenset({"order"})
# (pattern, symptom now, symptom over a duration, the service keys it may describe: None = any but the above)
_SYMPTOMS: tuple[tuple[str, str, str, frozenset[str] | None], ...] = (
    (
        r"\b(charged|billed) (me )?(twice|double|two times)|double[- ]charged\b",
        "charged you twice",
        "charged you twice",
        frozenset({"billing"}),
    ),
    (
        r"\b(overcharg\w*|wrong amount|too much|higher than)\b",
        "charged you the wrong amount",
        "charged you the wrong amount",
        frozenset({"billing"}),
    ),
    (
        r"\b(never (arrived|came|turned up)|(hasn'?t|haven'?t|has not|have not|still not|not) (yet )?"
        r"(arrived|come|turned up|been delivered)|not delivered|(is|it'?s) (late|missing)|where is)\b",
        "hasn't arrived",
        "hasn't arrived",
        _ORDERS,
    ),
    (
        r"\b(slow|crawl\w*|sluggish|buffer\w*|lag\w*|speed)\b",
        "is far slower than it should be",
        "has been far slower than it should be",
        None,
    ),
    (
        r"\b(drop\w*|cuts? out|cutting out|disconnect\w*|keeps? going|on and off|intermittent\w*)\b",
        "keeps dropping",
        "has kept dropping",
        None,
    ),
    (r"\b(no signal|no service|no bars|no dial ?tone)\b", "has no signal", "has had no signal", None),
    (  # the device restarting itself, not the customer restarting it
        r"\b(keeps? (restarting|rebooting|turning (itself )?off)|(restart|reboot)(s|ed)? itself|"
        r"turn(s|ed)? itself off)\b",
        "keeps restarting",
        "has kept restarting",
        None,
    ),
    (
        r"\b(can'?t|cannot|unable to|won'?t let me) (log ?in|sign ?in|access|get in)\b",
        "won't let you in",
        "hasn't let you in",
        None,
    ),
    (
        r"\b(down|not working|doesn'?t work|isn'?t working|stopped working|dead|out|outage|no internet|offline|"
        r"broken|gone|nothing works|(can'?t|cannot|unable to) (send|receive|make|get|load|use|connect))\b",
        "isn't working",
        "hasn't been working",
        None,
    ),
)
_DEFAULT_SYMPTOM = {"order": "hasn't arrived"}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SINCE = re.compile(
    r"\b(since (?:yesterday|last night|this morning|this afternoon|last \w+|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|\d{1,2}(?::\d{2})?(?: ?(?:am|pm))?)|for (?:over |about |almost |nearly )?(?:\d+|an?|one|"
    r"two|three|four|five|six|several|a few|a couple of) (?:minutes?|hours?|hrs?|days?|weeks?)|"
    r"all (?:day|night|morning|week)|(?:\d+|two|three|four|five|six) (?:hours|days|weeks) now)\b",
    re.IGNORECASE,
)
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "a couple of": 2}
_UNIT_HOURS = {"minute": 1 / 60, "hour": 1, "hr": 1, "day": 24, "week": 168}
_FOR = re.compile(r"^for (?:over |about |almost |nearly )?(\d+|an?|one|two|three|four|five|six|a couple of) (\w+?)s?$")

# "order 48213", "ticket #A-7731", "case no. 5521", "my ticket number is 5521", "ref. X9K2": a word, then an id
# with a digit in it.
# Without a marker (number, no., #, ":") the id needs three digits: "order 10GB of data" is no reference.
_REFERENCE = re.compile(
    r"\b(order|ticket|case|reference|ref)\b\.?((?:\s+(?:number|no\.?|nr\.?|id|is))*\s*[:#]?)\s*"
    r"((?=[\w-]*\d)[a-z0-9][\w-]{2,19})\b",
    re.IGNORECASE,
)


def _reference(text: str) -> str | None:
    """'ticket A-7731' for the first order, ticket or case id the customer quoted, else None."""
    for match in _REFERENCE.finditer(text):
        word, marker, ident = match.groups()
        if marker.strip() or sum(c.isdigit() for c in ident) >= 3:
            return f"{word.lower()} {ident.upper()}"
    return None


def stated_hours(duration: str | None) -> float | None:
    """At least how many hours the customer's own words say the problem has lasted, when they say it
    clearly ("for 2 days" 48, "since yesterday" 12, "since monday" 24, "all week" 72), else None."""
    if not duration:
        return None
    match = _FOR.match(duration)
    if match:
        count, unit = match.groups()
        hours = _UNIT_HOURS.get(unit)
        return (int(count) if count.isdigit() else _NUMBERS.get(count, 1)) * hours if hours else None
    if duration in ("since yesterday", "since last night"):
        return 12.0
    if duration == "all week" or duration.startswith("since last week"):
        return 72.0
    if duration.removeprefix("since ").removeprefix("last ").lower() in _WEEKDAYS:
        return 24.0
    return None


@dataclass(frozen=True)
class Problem:
    key: str  # stable name of the problem, e.g. "internet:isn't working" (one apology per key)
    service: str | None  # "internet connection"
    symptom: str | None  # "isn't working"
    duration: str | None  # "since this morning"
    lasting: str | None  # the symptom over that duration: "hasn't been working"
    text: str  # the customer's own words
    reference: str | None = None  # the order, ticket or case the customer quoted: "order 48213"

    @property
    def skill(self) -> str | None:
        """The skill an agent needs for it (the hub's routing): the service's key, e.g. "internet"; None when
        the customer named no service."""
        area = self.key.split(":", 1)[0]
        return None if area == "unknown" else area

    def phrase(self) -> str:
        """The problem in a few words, starting with 'your': 'your internet connection isn't working'."""
        service = self.service or "service"
        if self.service == "order" and self.reference and self.reference.startswith("order "):
            service = self.reference
        if self.service == "bill" and not self.symptom:
            return "something's wrong with your bill"
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
        (
            (now, over)
            for pattern, now, over, services in _SYMPTOMS
            if (service_key not in _NOT_A_SERVICE if services is None else service_key in services)
            and re.search(pattern, lowered)
        ),
        (None, None),
    )
    if symptom is None and re.search(_SYMPTOMS[0][0], lowered):  # "I was charged twice" names the bill itself
        service_key, service = "billing", "bill"
        symptom = lasting = _SYMPTOMS[0][1]
    if symptom is None and service_key in _DEFAULT_SYMPTOM:
        symptom = lasting = _DEFAULT_SYMPTOM[service_key]
    duration_match = _SINCE.search(text)
    duration = duration_match.group(1).lower().strip() if duration_match else None
    if duration and duration.endswith(" now"):  # "2 days now" -> "for 2 days"
        duration = "for " + duration.removesuffix(" now")
    if duration:
        duration = " ".join(w.capitalize() if w in _WEEKDAYS else w for w in duration.split())
    key = f"{service_key or 'unknown'}:{symptom or 'unspecified'}"
    return Problem(
        key=key,
        service=service,
        symptom=symptom,
        duration=duration,
        lasting=lasting,
        text=text.strip(),
        reference=_reference(text),
    )
