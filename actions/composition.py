"""Composing what the bot says about a problem: acknowledgement, ownership, facts, next step.

Pure functions. Each message is assembled from parts with several wordings each, picked by a seed
(the conversation and the problem), so customers in the same incident get different sentences while
one customer always gets the same one. Facts come only from the incident the hub holds; when there
are none, the text says so instead of inventing them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from actions.problems import Problem, stated_hours
from actions.wording import quotable

__all__ = [
    "IncidentFacts",
    "Moment",
    "compose_apology",
    "compose_offer_person",
    "compose_plain_update",
    "compose_status",
    "spoken_duration",
]


@dataclass(frozen=True)
class IncidentFacts:
    title: str
    status: str
    what_happened: str
    what_we_are_doing: str
    next_update: str
    eta: str
    started_at: datetime | None = None

    @classmethod
    def from_hub(cls, incident: dict[str, Any] | None) -> IncidentFacts | None:
        if not incident:
            return None
        facts = incident.get("facts") or {}
        return cls(
            title=str(incident.get("title") or "").strip(),
            status=str(incident.get("status") or "").strip(),
            what_happened=str(facts.get("what_happened") or "").strip(),
            what_we_are_doing=str(facts.get("what_we_are_doing") or "").strip(),
            next_update=str(facts.get("next_update") or "").strip(),
            eta=str(facts.get("eta") or "").strip(),
            started_at=_moment(incident.get("started_at")),
        )

    @property
    def known(self) -> bool:
        return bool(self.what_happened or self.what_we_are_doing or self.eta)


@dataclass(frozen=True)
class Moment:
    """When the bot speaks, and since when this customer has been talking to us (the measured wait)."""

    now: datetime
    first_contact: datetime | None = None

    @property
    def waited(self) -> timedelta | None:
        return self.now - self.first_contact if self.first_contact else None


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 time from the hub ("...Z" or with an offset; naive means UTC), or None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def spoken_duration(delta: timedelta) -> str:
    """'25 minutes', 'about 5 hours', '2 days': how a person says how long something has lasted."""
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 60:
        return "a minute" if minutes == 1 else f"{minutes} minutes"
    hours = round(minutes / 60)
    if hours < 48:
        return "about an hour" if hours == 1 else f"about {hours} hours"
    return f"{round(hours / 24)} days"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _rng(seed: str) -> random.Random:
    return random.Random(seed)  # noqa: S311 (variety of wording, not security)


WAIT_WORTH_SAYING = timedelta(minutes=3)  # a shorter wait is not worth a sentence
_ACKNOWLEDGE = (
    "I'm sorry: {phrase}.",
    "{Phrase}, and I'm sorry about that.",
    "Sorry. {Phrase}, and that's not good enough.",
    "{Phrase}. That's on us, and I'm sorry.",
    "You're right to flag it: {phrase}. I'm sorry.",
    "I'm sorry {phrase}.",
    "{Phrase}, which shouldn't happen. Sorry.",
    "Sorry, that's a real problem: {phrase}.",
    "{Phrase}. I'm sorry, that's not the service you pay for.",
)
_OWN = ("", "", "It's our network, so it's ours to fix.", "You shouldn't have had to chase us for this.", "")
_FACTS_INTRO = (
    "It's part of a known incident ({title}): {what_happened}",
    "This is down to something we're already working on. {What_happened}",
    "The reason is on our side, not yours: {what_happened}",
    "What we know: {what_happened}",
    "The cause is on our side: {what_happened}",
    "Here's what's going on: {what_happened}",
)
_DOING = ("{what_we_are_doing}", "Right now {lower_doing}", "What we're doing: {lower_doing}")
_ETA = (
    "Current estimate for a fix: {eta}.",
    "We expect it back {eta}; ask me any time for the latest.",
    "Estimated fix: {eta}.",
    "Engineers expect service back {eta}.",
)
_NO_ETA = (
    "There's no reliable fix time yet; the next update is due {next_update}.",
    "Nobody can give a fix time yet. Next update: {next_update}.",
    "No ETA yet. We'll post the next update {next_update}.",
)
_NO_FACTS = (
    "The incident is open but the engineers haven't confirmed the cause yet, so I won't guess.",
    "We know something is wrong, but there are no confirmed details yet. I'd rather not make any up.",
)
_NO_INCIDENT = (
    "I don't see a known outage that explains it, so it looks specific to your account or line.",
    "None of the incidents we're working on explains it, so this needs a look at your account itself.",
    "Nothing on our incident board covers it, which usually means the fault is on your line specifically.",
)
_NEXT_INCIDENT = (
    "If it isn't back after that, tell me and I'll get a person to check your line.",
    "Nothing for you to do for now; if it's still not right after the fix, a person can look at your connection.",
    "If you'd rather have a person follow this up, say so and I'll hand you over.",
    "I can also check what compensation applies, or get you a person.",
    "Ask me for the status whenever you like, or for a person if you'd rather talk it through.",
)
_NEXT_NO_INCIDENT = (
    "A person can check it directly: say the word and I'll hand you over.",
    "Want me to get a person to look at it now?",
    "The quickest route is a person with access to your account; just ask and I'll connect you.",
)
_WAITED = (
    "You've been on this chat for {wait} already.",
    "That's {wait} of your time on it so far.",
    "You've spent {wait} with us on it already.",
)
_REFERENCE = ("I have {reference} here.", "{Reference} is noted on this chat.", "I've noted {reference}.")
_AGE = ("It started {age} ago.", "It's been going on for {age}.", "That began {age} ago.")
_AGE_SHORTER = (  # the customer's trouble started before the incident did
    "It started {age} ago, though, so it doesn't explain the time before that; a person can check that part.",
    "That began only {age} ago, so something else may be behind the earlier trouble; a person can look into it.",
)
_PLAIN_OPEN = ("Noted: {phrase}.", "Got it: {phrase}.", "OK. {Phrase}.", "Understood: {phrase}.")


def _facts_sentences(
    rng: random.Random,
    facts: IncidentFacts | None,
    now: datetime | None = None,
    brief: bool = False,
    lasted_hours: float | None = None,
) -> list[str]:
    """What the incident's facts say. Brief (in an apology): the fact that explains the problem and what
    happens next; what is being done only when there is no time to give. In full: all of them.
    `lasted_hours`: how long the customer says the problem has lasted; when that is clearly longer than
    the incident, the text says the incident does not explain the time before it."""
    if facts is None:
        return [rng.choice(_NO_INCIDENT)]
    if not facts.known:
        return [rng.choice(_NO_FACTS)]
    happened, doing = quotable(facts.what_happened), quotable(facts.what_we_are_doing)
    parts = []
    if happened:
        parts.append(
            _sentence(
                rng.choice(_FACTS_INTRO).format(
                    title=facts.title or "an outage", what_happened=happened, What_happened=_capital(happened)
                )
            )
        )
    if now is not None and facts.started_at is not None and facts.started_at < now:
        age = now - facts.started_at
        longer = lasted_hours is not None and lasted_hours > age.total_seconds() / 3600 + 1
        parts.append(rng.choice(_AGE_SHORTER if longer else _AGE).format(age=spoken_duration(age)))
    if doing and not (brief and happened and (facts.eta or facts.next_update)):
        lower = doing[0].lower() + doing[1:]
        parts.append(_sentence(rng.choice(_DOING).format(what_we_are_doing=doing, lower_doing=lower)))
    if facts.eta:
        parts.append(rng.choice(_ETA).format(eta=facts.eta.rstrip(".")))
    elif facts.next_update:
        parts.append(rng.choice(_NO_ETA).format(next_update=facts.next_update.rstrip(".")))
    return parts


def _customer_sentences(rng: random.Random, problem: Problem, moment: Moment | None) -> list[str]:
    """What this customer told us beyond the problem itself: the order or ticket, and how long they have waited."""
    parts = []
    if problem.reference:
        reference = problem.reference
        if not (problem.service == "order" and reference.startswith("order ")):  # already named in the phrase
            parts.append(rng.choice(_REFERENCE).format(reference=reference, Reference=_capital(reference)))
    waited = moment.waited if moment else None
    if waited is not None and waited >= WAIT_WORTH_SAYING:
        parts.append(rng.choice(_WAITED).format(wait=spoken_duration(waited)))
    return parts


def _next_step(rng: random.Random, facts: IncidentFacts | None) -> str:
    return rng.choice(_NEXT_INCIDENT if facts is not None else _NEXT_NO_INCIDENT)


def _fill(template: str, problem: Problem) -> str:
    phrase = problem.phrase()
    return template.format(phrase=phrase, Phrase=phrase[0].upper() + phrase[1:])


def compose_apology(problem: Problem, facts: IncidentFacts | None, seed: str, moment: Moment | None = None) -> str:
    """One specific apology: names the problem (its order or ticket, how long the customer has waited),
    owns it, gives the fact that explains it and what happens next."""
    rng = _rng(f"apology|{seed}|{problem.key}")
    parts = [_fill(rng.choice(_ACKNOWLEDGE), problem), rng.choice(_OWN) if facts is not None else ""]
    parts += _customer_sentences(rng, problem, moment)
    parts += _facts_sentences(rng, facts, moment.now if moment else None, True, stated_hours(problem.duration))
    parts.append(_next_step(rng, facts))
    return " ".join(p for p in parts if p)


def compose_plain_update(
    problem: Problem | None, facts: IncidentFacts | None, seed: str, now: datetime | None = None
) -> str:
    """Facts and next step, with no apology words and no empathy filler."""
    rng = _rng(f"plain|{seed}|{problem.key if problem else ''}")
    parts = [_fill(rng.choice(_PLAIN_OPEN), problem)] if problem else []
    parts += _facts_sentences(rng, facts, now, lasted_hours=stated_hours(problem.duration) if problem else None)
    parts.append(_next_step(rng, facts))
    return " ".join(p for p in parts if p)


def compose_status(facts: IncidentFacts | None, seed: str, now: datetime | None = None) -> str:
    """Answer to "when will it be fixed?" from the incident's facts, or a plain "no facts yet" (never apologises)."""
    rng = _rng(f"status|{seed}")
    if facts is None:
        return (
            "There's no outage on record right now. If something isn't working for you, tell me what it is "
            "and I'll check, or ask for a person."
        )
    status = f"Status of {facts.title or 'the incident'}: {facts.status or 'open'}."
    return " ".join([status, *_facts_sentences(rng, facts, now)])


def compose_offer_person(problem: Problem | None) -> str:
    """After an apology has already been made: no second apology, the offer of a person instead."""
    about = f" about your {problem.service}" if problem and problem.service else ""
    return (
        f"More words from me won't get this fixed{about}. A person from the team can take it over now, "
        "with everything you've told me. Shall I hand you over?"
    )
