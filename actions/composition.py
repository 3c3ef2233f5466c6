"""Composing what the bot says about a problem: acknowledgement, ownership, facts, next step.

Pure functions. Each message is assembled from parts with several wordings each, picked by a seed
(the conversation and the problem), so customers in the same incident get different sentences while
one customer always gets the same one. Facts come only from the incident the hub holds; when there
are none, the text says so instead of inventing them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from actions.problems import Problem
from actions.wording import quotable

__all__ = ["IncidentFacts", "compose_apology", "compose_offer_person", "compose_plain_update", "compose_status"]


@dataclass(frozen=True)
class IncidentFacts:
    title: str
    status: str
    what_happened: str
    what_we_are_doing: str
    next_update: str
    eta: str

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
        )

    @property
    def known(self) -> bool:
        return bool(self.what_happened or self.what_we_are_doing or self.eta)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _rng(seed: str) -> random.Random:
    return random.Random(seed)  # noqa: S311 (variety of wording, not security)


_ACKNOWLEDGE = (
    "I'm sorry: {phrase}.",
    "{Phrase}, and I'm sorry about that.",
    "Sorry. {Phrase}, and that's not good enough.",
    "{Phrase}. That's on us, and I'm sorry.",
    "You're right to flag it: {phrase}. I'm sorry.",
    "I'm sorry {phrase}.",
    "{Phrase}, which shouldn't happen. Sorry.",
)
_OWN = ("", "", "It's our network, so it's ours to fix.", "You shouldn't have had to chase us for this.", "")
_FACTS_INTRO = (
    "It's part of a known incident ({title}): {what_happened}",
    "This is down to something we're already working on. {what_happened}",
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
)
_NEXT_NO_INCIDENT = (
    "A person can check it directly: say the word and I'll hand you over.",
    "Want me to get a person to look at it now?",
    "The quickest route is a person with access to your account; just ask and I'll connect you.",
)
_PLAIN_OPEN = ("Noted: {phrase}.", "Got it: {phrase}.", "OK. {Phrase}.", "Understood: {phrase}.")


def _facts_sentences(rng: random.Random, facts: IncidentFacts | None) -> list[str]:
    if facts is None:
        return [rng.choice(_NO_INCIDENT)]
    if not facts.known:
        return [rng.choice(_NO_FACTS)]
    happened, doing = quotable(facts.what_happened), quotable(facts.what_we_are_doing)
    parts = []
    if happened:
        parts.append(
            _sentence(rng.choice(_FACTS_INTRO).format(title=facts.title or "an outage", what_happened=happened))
        )
    if doing:
        lower = doing[0].lower() + doing[1:]
        parts.append(_sentence(rng.choice(_DOING).format(what_we_are_doing=doing, lower_doing=lower)))
    if facts.eta:
        parts.append(rng.choice(_ETA).format(eta=facts.eta.rstrip(".")))
    elif facts.next_update:
        parts.append(rng.choice(_NO_ETA).format(next_update=facts.next_update.rstrip(".")))
    return parts


def _next_step(rng: random.Random, facts: IncidentFacts | None) -> str:
    return rng.choice(_NEXT_INCIDENT if facts is not None else _NEXT_NO_INCIDENT)


def _fill(template: str, problem: Problem) -> str:
    phrase = problem.phrase()
    return template.format(phrase=phrase, Phrase=phrase[0].upper() + phrase[1:])


def compose_apology(problem: Problem, facts: IncidentFacts | None, seed: str) -> str:
    """One specific apology: names the problem, owns it, gives the facts we have and the next step."""
    rng = _rng(f"apology|{seed}|{problem.key}")
    parts = [_fill(rng.choice(_ACKNOWLEDGE), problem), rng.choice(_OWN) if facts is not None else ""]
    parts += _facts_sentences(rng, facts)
    parts.append(_next_step(rng, facts))
    return " ".join(p for p in parts if p)


def compose_plain_update(problem: Problem | None, facts: IncidentFacts | None, seed: str) -> str:
    """Facts and next step, with no apology words and no empathy filler."""
    rng = _rng(f"plain|{seed}|{problem.key if problem else ''}")
    parts = [_fill(rng.choice(_PLAIN_OPEN), problem)] if problem else []
    parts += _facts_sentences(rng, facts)
    parts.append(_next_step(rng, facts))
    return " ".join(p for p in parts if p)


def compose_status(facts: IncidentFacts | None, seed: str) -> str:
    """Answer to "when will it be fixed?" from the incident's facts, or a plain "no facts yet" (never apologises)."""
    rng = _rng(f"status|{seed}")
    if facts is None:
        return (
            "There's no outage on record right now. If something isn't working for you, tell me what it is "
            "and I'll check, or ask for a person."
        )
    status = f"Status of {facts.title or 'the incident'}: {facts.status or 'open'}."
    return " ".join([status, *_facts_sentences(rng, facts)])


def compose_offer_person(problem: Problem | None) -> str:
    """After an apology has already been made: no second apology, the offer of a person instead."""
    about = f" about your {problem.service}" if problem and problem.service else ""
    return (
        f"More words from me won't get this fixed{about}. A person from the team can take it over now, "
        "with everything you've told me. Shall I hand you over?"
    )
