"""How alike are the apologies customers were sent: the supervisors' "sameness" figure for an incident.

The story Candor comes from: every customer got the same perfect apology, and they noticed. This measures it on
what the bot really sent (the apologies it recorded with the hub): how much any two apologies share, as the
Jaccard similarity of their word trigrams (1.0: the same words in the same order; near 0: different sentences),
averaged over every pair, and the share of apologies whose words (case and punctuation aside) another apology
had too. For scale: the same sentence to everyone scores 1.0 and 100 %; Candor's bot, naming each customer's
problem and wait, scores far lower (tests/handoff/test_sameness.py has examples).

It is lexical on purpose: the hub has no sentence model (that lives in the bot's environment), and copy-paste
sameness is what customers recognise. It is not the figure `make bench` reports (scripts/bench_apologies.py:
the cosine similarity of MiniLM embeddings for a simulated incident, docs/apologies.md), which counts as alike
two sentences that say the same thing in other words, and is higher.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import combinations

from pydantic import BaseModel

__all__ = ["MAX_COMPARED", "Sameness", "sameness", "similarity"]

MAX_COMPARED = 100  # the latest apologies compared: 4,950 pairs, about 20 ms on this CPU (300: 160 ms)
WORD = re.compile(r"\w+")


class Sameness(BaseModel):
    apologies: int  # apologies sent in the incident
    compared: int  # the latest of them that were compared (at most MAX_COMPARED)
    mean_similarity: float | None  # over every pair compared, 0..1; None with fewer than two
    duplicate_share: float | None  # compared apologies whose exact words another one had, 0..1


def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    if len(words) < 3:
        return frozenset({tuple(words)})
    return frozenset(zip(words, words[1:], words[2:], strict=False))


def _jaccard(first: frozenset[tuple[str, ...]], second: frozenset[tuple[str, ...]]) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 1.0


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word trigrams (case and punctuation ignored)."""
    return _jaccard(_shingles(a), _shingles(b))


def sameness(texts: Sequence[str], total: int | None = None) -> Sameness:
    """The figure for these apologies (the latest last); `total`: how many were sent in all, if more."""
    compared = list(texts[-MAX_COMPARED:])
    shingles = [_shingles(t) for t in compared]
    pairs = [_jaccard(a, b) for a, b in combinations(shingles, 2)]
    normalised = Counter(" ".join(WORD.findall(t.lower())) for t in compared)
    duplicates = sum(n for n in normalised.values() if n > 1)
    return Sameness(
        apologies=total if total is not None else len(texts),
        compared=len(compared),
        mean_similarity=round(sum(pairs) / len(pairs), 3) if pairs else None,
        duplicate_share=round(duplicates / len(compared), 3) if len(compared) > 1 else None,
    )
