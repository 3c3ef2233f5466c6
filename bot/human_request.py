"""HumanRequestClassifier: a trainable Rasa intent classifier that decides whether a message asks for a person.

DIET ranks all intents at once and, trained on a few hundred examples, takes many off-topic requests
("call my coworker", "who is your supervisor") for `request_human`. This component makes that one
decision with a binary logistic regression over the MiniLM sentence embedding (reused from the
FrustrationScorer's features) and TF-IDF word n-grams. It is trained by `rasa train` on the NLU data
(`request_human` against every other intent) plus, when present, labelled CSV files named in its
config (by default the third-party `../shared/data/human_request.csv`, read in place, never copied).

After DIET, it sets the intent: `request_human` when the probability reaches the threshold, unless DIET
chose an intent in `keep_intents` and the probability is below `keep_below` (a bot challenge, "are you
a real person?", is answered honestly and offers a person anyway); and when DIET said `request_human`
but the probability is below the threshold, DIET's next intent. Every parsed message gets
`"human_request": {"probability": float, "intent_before": str | null}` so the evaluation can replay the
decision (see docs/evaluation.md).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.embeddings import embed
from bot.weights import read_weights, write_weights

__all__ = [
    "HUMAN_REQUEST",
    "REQUEST_HUMAN",
    "HumanRequestClassifier",
    "HumanRequestModel",
    "Rule",
    "asks_for_person",
    "decide",
    "read_labelled_csv",
]

logger = logging.getLogger(__name__)

REQUEST_HUMAN = "request_human"
HUMAN_REQUEST = "human_request"
WEIGHTS_FILE = "human_request.json"
# Labels of the extra CSV files: request_human is positive, `not` negative, anything else is skipped.
NEGATIVE_LABEL = "not"


def read_labelled_csv(path: Path) -> list[tuple[str, bool]]:
    """(text, asks for a person) from a CSV with `text` and `label` columns; other labels are skipped."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path} needs `text` and `label` columns, found {reader.fieldnames}")
        return [
            (row["text"], row["label"] == REQUEST_HUMAN)
            for row in reader
            if row["text"] and row["label"] in (REQUEST_HUMAN, NEGATIVE_LABEL)
        ]


@dataclass(frozen=True)
class HumanRequestModel:
    """TF-IDF word n-grams (vocabulary + idf) and logistic-regression weights over [embedding, tf-idf]."""

    vocabulary: dict[str, int]
    idf: list[float]
    coef: list[float]
    intercept: float

    @cached_property
    def _vectorizer(self) -> Any:
        """Built once per loaded model: rebuilding it from the vocabulary costs milliseconds per parse."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = _new_vectorizer(vocabulary=self.vocabulary)
        vectorizer.idf_ = np.asarray(self.idf)
        assert isinstance(vectorizer, TfidfVectorizer)
        return vectorizer

    def probabilities(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        words = self._vectorizer.transform(texts)
        coef = np.asarray(self.coef)
        dim = embeddings.shape[1]
        logits = embeddings @ coef[:dim] + words @ coef[dim:] + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logits)))

    @classmethod
    def fit(cls, embeddings: np.ndarray, texts: list[str], asks: np.ndarray, c: float) -> HumanRequestModel:
        from scipy.sparse import csr_matrix, hstack
        from sklearn.linear_model import LogisticRegression

        vectorizer = _new_vectorizer().fit(texts)
        features = hstack([csr_matrix(embeddings), vectorizer.transform(texts)]).tocsr()
        regression = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(features, asks)
        return cls(
            vocabulary={term: int(index) for term, index in vectorizer.vocabulary_.items()},
            idf=vectorizer.idf_.tolist(),
            coef=regression.coef_[0].tolist(),
            intercept=float(regression.intercept_[0]),
        )


def _new_vectorizer(vocabulary: dict[str, int] | None = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, vocabulary=vocabulary)


@dataclass(frozen=True)
class Rule:
    """When a message is taken as request_human.

    `threshold`: the classifier's probability that makes it a request. `keep_intents`: DIET intents
    kept below `keep_below` ("are you a real person?" is a bot challenge: answered honestly, with a
    person offered); from `keep_below` on, the message is a request whatever DIET said ("talking to a
    bot is stupid, get me a person").
    """

    threshold: float
    keep_intents: frozenset[str]
    keep_below: float

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Rule:
        rule = cls(float(config["threshold"]), frozenset(config["keep_intents"]), float(config["keep_below"]))
        if not 0 < rule.threshold <= rule.keep_below <= 1:
            raise ValueError(
                "HumanRequestClassifier needs 0 < threshold <= keep_below <= 1, "
                f"got {rule.threshold} and {rule.keep_below}"
            )
        return rule

    def keeps(self, intent_before: str | None, probability: float) -> bool:
        return intent_before in self.keep_intents and probability < self.keep_below


def asks_for_person(intent_before: str | None, probability: float, rule: Rule) -> bool:
    """Whether the message is taken as request_human, given DIET's intent and the classifier's probability."""
    return probability >= rule.threshold and not rule.keeps(intent_before, probability)


def decide(
    intent: dict[str, Any] | None, ranking: list[dict[str, Any]], probability: float, rule: Rule
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The intent and ranking after the request-for-a-person decision (pure).

    Confidences stay a distribution: request_human gets the classifier's probability and the other
    intents share the rest in DIET's proportions (all of it when request_human is ruled out), so the
    FallbackClassifier's threshold and ambiguity check mean what they meant on DIET's ranking.
    """
    name = (intent or {}).get(INTENT_NAME_KEY)
    if rule.keeps(name, probability):
        return intent, ranking
    others = [r for r in ranking if r.get(INTENT_NAME_KEY) != REQUEST_HUMAN]
    if asks_for_person(name, probability, rule):
        chosen = {INTENT_NAME_KEY: REQUEST_HUMAN, PREDICTED_CONFIDENCE_KEY: round(probability, 4)}
        return chosen, [chosen, *_shared(others, 1.0 - probability)]
    if name == REQUEST_HUMAN and others:
        rest = _shared(others, 1.0)
        return dict(rest[0]), rest
    return intent, ranking


def _shared(entries: list[dict[str, Any]], total: float) -> list[dict[str, Any]]:
    """The entries with their confidences scaled to sum to `total` (order kept)."""
    mass = sum(float(e.get(PREDICTED_CONFIDENCE_KEY) or 0.0) for e in entries)
    if mass <= 0:
        return [dict(e) for e in entries]
    return [
        {**e, PREDICTED_CONFIDENCE_KEY: round(float(e.get(PREDICTED_CONFIDENCE_KEY) or 0.0) / mass * total, 4)}
        for e in entries
    ]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class HumanRequestClassifier(GraphComponent):
    """Decides `request_human` after DIET; adds `human_request` {probability, intent_before}."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # probability >= threshold makes the intent request_human (docs/evaluation.md: how it was chosen)
            "threshold": 0.5,
            # inverse regularisation strength of the logistic regression
            "C": 64.0,
            # labelled CSV files (text, label: request_human | not | other) trained on when they exist;
            # relative paths are relative to the directory `rasa train` runs in
            "extra_data": [],
            # intents DIET keeps even when the message also sounds like a request for a person, unless the
            # probability reaches keep_below (docs/evaluation.md)
            "keep_intents": ["bot_challenge"],
            "keep_below": 0.8,
            # the FrustrationScorer's alias: its sentence embedding is reused rather than computed again
            "embedding_alias": "frustration_scorer",
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: HumanRequestModel | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._rule = Rule.from_config(self._config)
        self._storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> HumanRequestClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> HumanRequestClassifier:
        weights = read_weights(model_storage, resource, WEIGHTS_FILE)
        if weights is None:
            logger.warning("HumanRequestClassifier has no trained weights; DIET's intent is kept.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, HumanRequestModel(**weights))

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        texts = [m.get(TEXT) for m in examples]
        asks = [m.get(INTENT) == REQUEST_HUMAN for m in examples]
        embeddings = [self._embeddings(examples)]
        for name in self._config["extra_data"]:
            path = Path(name)
            if not path.is_file():
                logger.warning("HumanRequestClassifier: %s not found; training without it", path)
                continue
            rows = read_labelled_csv(path)
            texts += [text for text, _ in rows]
            asks += [ask for _, ask in rows]
            embeddings.append(embed([text for text, _ in rows]))
            logger.info("HumanRequestClassifier: %d labelled rows from %s", len(rows), path)
        if not any(asks) or all(asks):
            raise ValueError("HumanRequestClassifier needs request_human examples and examples of other intents")
        self._model = HumanRequestModel.fit(np.vstack(embeddings), texts, np.array(asks), c=float(self._config["C"]))
        write_weights(self._storage, self._resource, WEIGHTS_FILE, asdict(self._model))
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        messages = [m for m in messages if m.get(TEXT)]
        if not messages or self._model is None:
            return messages
        texts = [m.get(TEXT) for m in messages]
        probabilities = self._model.probabilities(self._embeddings(messages), texts)
        for message, probability in zip(messages, probabilities, strict=True):
            before = message.get(INTENT)
            intent, ranking = decide(before, message.get(INTENT_RANKING_KEY) or [], float(probability), self._rule)
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            message.set(
                HUMAN_REQUEST,
                {"probability": round(float(probability), 4), "intent_before": (before or {}).get(INTENT_NAME_KEY)},
                add_to_output=True,
            )
        return messages

    def _embeddings(self, messages: list[Message]) -> np.ndarray:
        """The sentence embedding the FrustrationScorer added, or a fresh one when it is missing."""
        alias = self._config["embedding_alias"]
        rows = []
        for message in messages:
            _, sentence = message.get_dense_features(TEXT, [alias])
            rows.append(sentence.features.reshape(-1) if sentence is not None else None)
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            fresh = embed([messages[i].get(TEXT) for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                rows[i] = vector
        return np.vstack(rows).astype(np.float32)
