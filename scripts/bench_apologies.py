"""How alike are the apologies customers get in one incident? `make bench` prints it.

A simulated incident: the demo seed's open incident (INC-2041, its real facts) and N affected
customers (200 by default). Each customer writes one of the project's real problem reports (the
report_problem examples of data/nlu and tests/nlu that the incident explains: internet, or no service
named), has waited a few minutes to an hour with the bot, and gets the apology action_apologize would
send them (`actions.apologies.apology_for`). The apologies are embedded with the all-MiniLM-L6-v2
sentence-transformers model (`bot.embeddings.embed`, the same vectors as encode) and the script prints:

- mean and 95th percentile of the pairwise cosine similarity over all pairs of customers;
- the share of pairs that are near-identical (cosine >= 0.95) and the share of customers whose
  apology is an exact duplicate of another customer's;
- the same figures for the same apologies without the sentence about the customer's wait (the part of
  the variety that comes from wording and the customer's own words alone), and for the customers' own
  messages, as the floor set by what they wrote.

Reproducible: customers, waits and conversation ids come from a seeded generator (`--seed`).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

NEAR_IDENTICAL = 0.95
SEED_FILE = ROOT / "handoff" / "seed" / "demo.yml"
REPORTS = (ROOT / "data" / "nlu" / "problems.yml", ROOT / "tests" / "nlu" / "test_nlu.yml")


def seed_incident(incident_id: str, now: datetime) -> dict[str, Any]:
    """The incident as the hub's context gives it, with a relative start ("-5h") resolved against now."""
    incidents = yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))["incidents"]
    incident = dict(next(i for i in incidents if i["id"] == incident_id))
    start = str(incident["started_at"])
    if start.startswith("-"):
        unit = {"m": "minutes", "h": "hours", "d": "days"}[start[-1]]
        incident["started_at"] = (now - timedelta(**{unit: float(start[1:-1])})).isoformat()
    return incident


def problem_reports(incident: dict[str, Any]) -> list[str]:
    """The report_problem examples the incident explains, from the training and test NLU files."""
    from evaluate import read_nlu_test

    from actions.apologies import relevant_facts
    from actions.problems import describe_problem

    texts = [row["text"] for path in REPORTS for row in read_nlu_test(path) if row["intent"] == "report_problem"]
    return sorted({t for t in texts if relevant_facts(describe_problem(t), incident, None) is not None})


def similarity(vectors: np.ndarray) -> dict[str, float]:
    """Pairwise cosine over all distinct pairs of unit vectors."""
    cosine = vectors @ vectors.T
    pairs = cosine[np.triu_indices(len(vectors), k=1)]
    return {
        "mean": float(pairs.mean()),
        "p95": float(np.percentile(pairs, 95)),
        "near_identical": float((pairs >= NEAR_IDENTICAL).mean()),
    }


def exact_duplicates(texts: list[str]) -> float:
    """Share of texts that are word for word the same as another text in the list."""
    counts = Counter(texts)
    return sum(n for n in counts.values() if n > 1) / len(texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--incident", default="INC-2041")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=3, help="print this many sample apologies")
    args = parser.parse_args(argv)

    from actions.apologies import apology_for
    from bot.embeddings import embed

    rng = random.Random(args.seed)  # noqa: S311 (a reproducible simulation, not a secret)
    now = datetime.now(timezone.utc)
    incident = seed_incident(args.incident, now)
    reports = problem_reports(incident)
    messages, apologies, unwaited = [], [], []
    for _ in range(args.customers):
        message = rng.choice(reports)
        sender = str(uuid.UUID(int=rng.getrandbits(128)))
        waited = timedelta(minutes=rng.uniform(0, 60))
        messages.append(message)
        apologies.append(apology_for(message, incident, sender, now - waited, now))
        unwaited.append(apology_for(message, incident, sender, None, now))

    figures = {"apologies": apologies, "... without the wait": unwaited, "customers' messages": messages}
    print(f"{args.customers} customers in {incident['id']} ({incident['title']}), {len(reports)} distinct reports")
    print(f"{'':22} {'mean cos':>9} {'p95 cos':>8} {'>=0.95':>8} {'exact dup':>10}")
    for name, texts in figures.items():
        sims = similarity(embed(texts))
        print(
            f"{name:22} {sims['mean']:9.3f} {sims['p95']:8.3f} {sims['near_identical']:8.1%} "
            f"{exact_duplicates(texts):10.1%}"
        )
    print(f"words per apology: {np.mean([len(a.split()) for a in apologies]):.0f} on average")
    for message, apology in list(zip(messages, apologies, strict=True))[: args.show]:
        print(f"\n> {message}\n{apology}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
