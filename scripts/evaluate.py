"""Measure detection: intents, request_human, frustration and parse latency, on data never trained on.

Run by `make eval` in the bot environment. Reads the project's held-out NLU test file and, when
`../shared/data` exists, the third-party files described in its README. Prints the figures, and
writes them with a confusion matrix and a reliability plot to the output folder.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import json
import random
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FRUSTRATED = {"medium", "high"}


def read_nlu_test(path: Path) -> list[dict[str, Any]]:
    """(text, intent, frustration label) of each example of a Rasa NLU file with frustration metadata."""
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.frustration import label_of

    data = load_data(str(path))
    return [{"text": m.get(TEXT), "intent": m.get(INTENT), "frustration": label_of(m)} for m in data.intent_examples]


def sample(rows: list[dict[str, str]], limit: int) -> list[dict[str, str]]:
    """All rows, or a fixed random sample of `limit` of them."""
    if not limit or limit >= len(rows):
        return rows
    return random.Random(0).sample(rows, limit)  # noqa: S311 (a reproducible sample, not a secret)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class Parser:
    """The trained model, in process; parses and times each message."""

    def __init__(self, model: Path) -> None:
        import logging

        from rasa.core.agent import Agent
        from rasa.utils.common import configure_logging_and_warnings
        from rasa.utils.log_utils import configure_structlog

        from bot.frustration import FrustrationScorer

        configure_logging_and_warnings(logging.WARNING)
        configure_structlog(logging.WARNING)
        # Time the component inside every parse; patched before loading, as the graph binds its methods.
        self.component_seconds: list[float] = []
        self.frustration_scorer: FrustrationScorer | None = None
        original = FrustrationScorer.process

        def timed(component: FrustrationScorer, messages: list[Any]) -> list[Any]:
            self.frustration_scorer = component
            start = time.perf_counter()
            try:
                return original(component, messages)
            finally:
                self.component_seconds.append(time.perf_counter() - start)

        FrustrationScorer.process = timed  # type: ignore[method-assign]

        self.agent = Agent.load(str(model))
        self.seconds: list[float] = []

    def parse(self, texts: Iterable[str]) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            results = []
            for text in texts:
                start = time.perf_counter()
                results.append(await self.agent.parse_message(text))
                self.seconds.append(time.perf_counter() - start)
            return results

        return asyncio.run(run())


def binary_scores(truth: list[bool], predicted: list[bool]) -> dict[str, float]:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "n": len(truth),
        "positives": sum(truth),
    }


def auc(truth: list[bool], scores: list[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(truth, scores)), 4)


def frustration_figures(truth: list[bool], scores: list[float]) -> dict[str, Any]:
    """Frustrated (medium or high level) against calm, and how well the score ranks."""
    from bot.frustration import FrustrationScorer, level_for

    thresholds = component_config(FrustrationScorer)["thresholds"]
    predicted = [level_for(score, thresholds) in FRUSTRATED for score in scores]
    return {**binary_scores(truth, predicted), "auc": auc(truth, scores)}


def served_calibration(parser: Parser) -> np.ndarray:
    """The calibration of the FrustrationScorer in the model being evaluated."""
    scorer = parser.frustration_scorer
    if scorer is None or scorer.model is None:
        raise SystemExit("the model has no trained FrustrationScorer to evaluate")
    return scorer.model.calibration


def component_config(component: type) -> dict[str, Any]:
    """A pipeline component's settings in config.yml, over its defaults."""
    import yaml

    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    settings = next((c for c in pipeline if c["name"].endswith(component.__name__)), {})
    return {**component.get_default_config(), **settings}


def human_request_config() -> dict[str, Any]:
    from bot.human_request import HumanRequestClassifier

    return component_config(HumanRequestClassifier)


def frustration_sources() -> dict[Path, dict[str, Any]]:
    """The third-party files the FrustrationScorer trains on (config.yml `extra_data`), by resolved path."""
    from bot.frustration import FrustrationScorer

    return {(ROOT / s["path"]).resolve(): s for s in component_config(FrustrationScorer)["extra_data"]}


@functools.cache
def _own_frustration_training() -> Any:
    """The project's labelled NLU examples, embedded once per evaluation."""
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.embeddings import embed
    from bot.frustration import label_of, own_training

    examples = [(m.get(TEXT), label_of(m)) for m in load_data(str(ROOT / "data" / "nlu")).intent_examples]
    examples = [(text, label) for text, label in examples if text and label]
    texts = [text for text, _ in examples]
    return own_training(texts, [label for _, label in examples], embed(texts))


@functools.cache
def _third_party_training(path: Path) -> Any:
    """A third-party file the FrustrationScorer trains on, read and embedded once per evaluation."""
    from bot.embeddings import embed
    from bot.frustration import extra_training, read_bound_csv

    source = frustration_sources()[path]
    rows = read_bound_csv(path, source["column"])
    return extra_training(source, rows, embed([text for text, _ in rows]))


def cross_validated_frustration(path: Path, calibration: np.ndarray, folds: int = 5) -> np.ndarray:
    """Frustration scores of a third-party file the FrustrationScorer also trains on, by k-fold CV.

    Each fold trains the network as `rasa train` does (the project's labelled NLU examples, the other
    third-party files whole, and the other folds of this one) and scores the held-out fold; the served
    model's calibration is applied (calibration is fitted on the project's own examples only, so it
    does not depend on the fold).
    """
    from sklearn.model_selection import StratifiedKFold

    from bot.frustration import FrustrationScorer
    from bot.frustration_model import FrustrationModel, Training, calibrate

    config = component_config(FrustrationScorer)
    others = [_third_party_training(other) for other in frustration_sources() if other != path and other.is_file()]
    parts = [_own_frustration_training(), *others]
    measured = _third_party_training(path)
    labels = measured.targets[:, 0] == 1.0  # a positive row is known to reach the source's level
    scores = np.zeros(len(measured.texts))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train, held in splitter.split(measured.embeddings, labels):
        model = FrustrationModel.fit(
            Training.join([*parts, measured.subset(train)]),
            hidden=int(config["hidden"]),
            epochs=int(config["epochs"]),
            signal_scale=float(config["signal_scale"]),
            folds=0,
        )
        raw = model.raw_scores(measured.embeddings[held], [measured.texts[i] for i in held])
        scores[held] = calibrate(raw, calibration)
    return scores


def cross_validated_requests(
    rows: list[dict[str, str]], parsed: list[dict[str, Any]], folds: int = 5
) -> tuple[list[bool], list[float]]:
    """request_human decisions on a file the HumanRequestClassifier also trains on, by k-fold CV.

    Each fold trains the classifier as `rasa train` does (the project's NLU data plus the other folds)
    and replays the component's decision on DIET's own intent (`intent_before`; DIET never sees these
    files), so every row is judged by a model that did not train on it.
    """
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.loading import load_data
    from sklearn.model_selection import StratifiedKFold

    from bot.embeddings import embed
    from bot.human_request import REQUEST_HUMAN, HumanRequestModel, Rule, asks_for_person

    config = human_request_config()
    nlu = [m for m in load_data(str(ROOT / "data" / "nlu")).intent_examples if m.get(TEXT)]
    nlu_texts = [m.get(TEXT) for m in nlu]
    nlu_asks = np.array([m.get(INTENT) == REQUEST_HUMAN for m in nlu])
    nlu_embeddings = embed(nlu_texts)
    texts = [r["text"] for r in rows]
    asks = np.array([r["label"] == REQUEST_HUMAN for r in rows])
    embeddings = embed(texts)
    probabilities = np.zeros(len(rows))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train, held in splitter.split(embeddings, asks):
        model = HumanRequestModel.fit(
            np.vstack([nlu_embeddings, embeddings[train]]),
            nlu_texts + [texts[i] for i in train],
            np.concatenate([nlu_asks, asks[train]]),
            c=float(config["C"]),
        )
        probabilities[held] = model.probabilities(embeddings[held], [texts[i] for i in held])
    rule = Rule.from_config(config)
    decisions = [
        asks_for_person(result["human_request"]["intent_before"], float(probability), rule)
        for result, probability in zip(parsed, probabilities, strict=True)
    ]
    return decisions, probabilities.tolist()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def latency(parser: Parser, texts: list[str]) -> dict[str, float]:
    """Parse latency of the whole pipeline, the FrustrationScorer's share of it, and the rest.

    One message at a time, after a warm-up; the component's time is measured inside the same parses.
    """
    parser.parse(texts[:20])  # warm-up: first calls build TensorFlow graphs
    parser.seconds.clear()
    parser.component_seconds.clear()
    parser.parse(texts)
    full, inside = list(parser.seconds), list(parser.component_seconds)
    without = [f - c for f, c in zip(full, inside, strict=True)]
    return {
        "with_p50_ms": round(percentile(full, 50), 1),
        "with_p95_ms": round(percentile(full, 95), 1),
        "without_p50_ms": round(percentile(without, 50), 1),
        "without_p95_ms": round(percentile(without, 95), 1),
        "component_p50_ms": round(percentile(inside, 50), 1),
        "component_p95_ms": round(percentile(inside, 95), 1),
        "n": len(texts),
    }


def plot_confusion(labels: list[str], truth: list[str], predicted: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(9, 8))
    ConfusionMatrixDisplay.from_predictions(truth, predicted, labels=labels, ax=ax, xticks_rotation=60, colorbar=False)
    ax.set_title("Intents on tests/nlu/test_nlu.yml (held out)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_reliability(series: dict[str, tuple[list[bool], list[float]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, (truth, scores) in series.items():
        observed, predicted = calibration_curve(truth, scores, n_bins=10, strategy="quantile")
        ax.plot(predicted, observed, marker="o", label=name)
    ax.set_xlabel("frustration score (mean per bin)")
    ax.set_ylabel("share labelled frustrated / complaint / negative")
    ax.set_title("Reliability of the frustration score")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser_args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser_args.add_argument("--model", type=Path, required=True)
    parser_args.add_argument("--out", type=Path, default=ROOT / "docs" / "evaluation")
    parser_args.add_argument("--shared", type=Path, default=(ROOT.parent / "shared" / "data").resolve())
    parser_args.add_argument("--limit", type=int, default=0, help="at most this many rows per shared file (0: all)")
    args = parser_args.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    parser = Parser(args.model)
    figures: dict[str, Any] = {"model": args.model.name}

    # The project's own held-out file.
    examples = read_nlu_test(ROOT / "tests" / "nlu" / "test_nlu.yml")
    results = parser.parse([e["text"] for e in examples])
    truth_intents = [e["intent"] for e in examples]
    predicted_intents = [r["intent"]["name"] for r in results]
    from sklearn.metrics import classification_report

    # Per-intent figures over the intents of the file: a fallback prediction counts as a miss, not a class.
    report = classification_report(
        truth_intents, predicted_intents, labels=sorted(set(truth_intents)), output_dict=True, zero_division=0
    )
    accuracy = sum(t == p for t, p in zip(truth_intents, predicted_intents, strict=True)) / len(truth_intents)
    figures["project"] = {
        "intent_accuracy": round(accuracy, 4),
        "intent_macro_f1": round(report["macro avg"]["f1-score"], 4),
        "per_intent_f1": {
            k: round(v["f1-score"], 4) for k, v in report.items() if isinstance(v, dict) and "avg" not in k
        },
        "request_human": binary_scores(
            [t == "request_human" for t in truth_intents], [p == "request_human" for p in predicted_intents]
        ),
        "frustration": frustration_figures(
            [e["frustration"] in FRUSTRATED for e in examples], [r["frustration"]["score"] for r in results]
        ),
    }
    labels = sorted(set(truth_intents) | set(predicted_intents))
    plot_confusion(labels, truth_intents, predicted_intents, args.out / "confusion_matrix.png")
    reliability = {
        "project test file": (
            [e["frustration"] in FRUSTRATED for e in examples],
            [r["frustration"]["score"] for r in results],
        )
    }

    if args.shared.is_dir():
        figures["shared"] = {}
        rows = read_csv(args.shared / "human_request.csv")
        rows = sample([r for r in rows if r["label"] in ("request_human", "not")], args.limit)
        parsed = parser.parse([r["text"] for r in rows])
        trained_on = (args.shared / "human_request.csv").resolve() in {
            (ROOT / name).resolve() for name in human_request_config()["extra_data"]
        }
        if trained_on:
            decisions, _ = cross_validated_requests(rows, parsed)
        else:
            decisions = [p["intent"]["name"] == "request_human" for p in parsed]
        figures["shared"]["human_request"] = {
            **binary_scores([r["label"] == "request_human" for r in rows], decisions),
            "cross_validated": trained_on,
            "bot_challenges_taken_as_requests": sum(
                d for r, d in zip(rows, decisions, strict=True) if r["source"].endswith("are_you_a_bot")
            ),
        }
        for name, label in (("complaints", "complaint"), ("goemotions", "negative_emotion")):
            path = (args.shared / f"{name}.csv").resolve()
            trained_on = path in frustration_sources()
            if trained_on:
                rows = read_csv(path)  # every row: the folds must cover the whole file
                scores = cross_validated_frustration(path, served_calibration(parser)).tolist()
            else:
                rows = sample(read_csv(path), args.limit)
                scores = [p["frustration"]["score"] for p in parser.parse([r["text"] for r in rows])]
            truth = [r[label] == "1" for r in rows]
            figures["shared"][name] = {**frustration_figures(truth, scores), "cross_validated": trained_on}
            reliability[f"{name}.csv"] = (truth, scores)
    plot_reliability(reliability, args.out / "reliability.png")

    figures["latency"] = latency(parser, [e["text"] for e in examples] * 2)
    (args.out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"\nwritten: {args.out / 'figures.json'}, confusion_matrix.png, reliability.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
