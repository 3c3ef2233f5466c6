"""FrustrationScorer: a trainable Rasa NLU component that scores how frustrated a message is.

Score: a logistic regression over the all-MiniLM-L6-v2 sentence embedding and the lexical signals of
`bot.signals`, trained by `rasa train` on the NLU examples' `frustration` metadata (none, low, medium,
high; see docs/frustration.md). The score is the probability that the writer is frustrated (medium or
high); the level comes from the thresholds in the component's config. Every parsed message gets
`"frustration": {"score": float, "level": str}` (contract 1) and, for the intent classifier, the
sentence embedding as a dense sentence feature.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, METADATA, METADATA_EXAMPLE, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.embeddings import EMBEDDING_DIM, embed
from bot.signals import SIGNAL_NAMES, signal_vector
from bot.weights import read_weights, write_weights

__all__ = ["FRUSTRATION", "LEVELS", "FrustrationModel", "FrustrationScorer", "level_for"]

logger = logging.getLogger(__name__)

FRUSTRATION = "frustration"
LEVELS = ("none", "low", "medium", "high")
FRUSTRATED_LEVELS = {"medium", "high"}
WEIGHTS_FILE = "frustration.json"


def level_for(score: float, thresholds: dict[str, float]) -> str:
    """The level of a score: the highest level whose threshold the score reaches."""
    level = "none"
    for name in LEVELS[1:]:
        if score >= thresholds[name]:
            level = name
    return level


def label_of(message: Message) -> str | None:
    """A training example's frustration label: its own metadata first, then its intent block's."""
    metadata = message.get(METADATA) or {}
    for source in (metadata.get(METADATA_EXAMPLE), metadata.get(METADATA_INTENT)):
        if isinstance(source, dict) and source.get(FRUSTRATION) is not None:
            label = str(source[FRUSTRATION]).strip().lower()
            if label not in LEVELS:
                raise ValueError(f"frustration label {label!r} on {message.get(TEXT)!r} is not one of {LEVELS}")
            return label
    return None


@dataclass(frozen=True)
class FrustrationModel:
    """Logistic-regression weights over [embedding, signals * signal_scale]."""

    coef: list[float]
    intercept: float
    signal_scale: float

    def features(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        lexical = np.array([signal_vector(t) for t in texts], dtype=np.float32).reshape(len(texts), len(SIGNAL_NAMES))
        return np.hstack([embeddings, lexical * self.signal_scale])

    def scores(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        logits = self.features(embeddings, texts) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    @classmethod
    def fit(
        cls,
        embeddings: np.ndarray,
        texts: list[str],
        frustrated: np.ndarray,
        c: float,
        signal_scale: float,
        weights: np.ndarray | None = None,
    ) -> FrustrationModel:
        from sklearn.linear_model import LogisticRegression

        template = cls(coef=[], intercept=0.0, signal_scale=signal_scale)
        regression = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        regression.fit(template.features(embeddings, texts), frustrated, sample_weight=weights)
        return cls(
            coef=regression.coef_[0].tolist(), intercept=float(regression.intercept_[0]), signal_scale=signal_scale
        )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class FrustrationScorer(GraphComponent):
    """Adds `frustration` {score, level} and the sentence embedding to every message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # score >= threshold gives that level (see docs/frustration.md for how they were chosen)
            "thresholds": {"low": 0.3, "medium": 0.55, "high": 0.8},
            # inverse regularisation strength of the logistic regression
            "C": 1.0,
            # how much the lexical signals weigh against the unit-length embedding
            "signal_scale": 2.0,
            # also give the embedding to the intent classifier as a dense sentence feature
            "add_sentence_features": True,
            "alias": "frustration_scorer",
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: FrustrationModel | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        thresholds = self._config["thresholds"]
        if not (0 < thresholds["low"] < thresholds["medium"] < thresholds["high"] < 1):
            raise ValueError(f"FrustrationScorer thresholds must rise strictly within (0, 1), got {thresholds}")
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
    ) -> FrustrationScorer:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FrustrationScorer:
        weights = read_weights(model_storage, resource, WEIGHTS_FILE)
        if weights is None:
            logger.warning("FrustrationScorer has no trained weights; frustration will be scored as none.")
            return cls(config, model_storage, resource)
        # Load the sentence model now, once per process, so that the first customer's message does not
        # wait for it (and Rasa's REST channel does not time out on it).
        embed(["warm-up"])
        return cls(config, model_storage, resource, FrustrationModel(**weights))

    def train(self, training_data: TrainingData) -> Resource:
        labelled = [(m.get(TEXT), label_of(m)) for m in training_data.intent_examples]
        examples = [(text, label) for text, label in labelled if label is not None]
        targets = np.array([label in FRUSTRATED_LEVELS for _, label in examples], dtype=int)
        if len(set(targets.tolist())) < 2:
            raise ValueError(
                "FrustrationScorer needs NLU examples labelled with `frustration` metadata at both calm "
                "(none/low) and frustrated (medium/high) levels; see docs/frustration.md"
            )
        texts = [text for text, _ in examples]
        self._model = FrustrationModel.fit(
            embed(texts), texts, targets, c=float(self._config["C"]), signal_scale=float(self._config["signal_scale"])
        )
        logger.info("FrustrationScorer trained on %d labelled examples (%d frustrated)", len(texts), targets.sum())
        write_weights(self._storage, self._resource, WEIGHTS_FILE, asdict(self._model))
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._annotate([m for m in training_data.training_examples if m.get(TEXT)], for_training=True)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._annotate([m for m in messages if m.get(TEXT) is not None], for_training=False)
        return messages

    def _annotate(self, messages: list[Message], for_training: bool) -> None:
        if not messages:
            return
        texts = [m.get(TEXT) or "" for m in messages]
        embeddings = embed(texts)
        scores = self._model.scores(embeddings, texts) if self._model else np.zeros(len(texts))
        for message, vector, score in zip(messages, embeddings, scores, strict=True):
            if self._config["add_sentence_features"]:
                message.add_features(
                    Features(vector.reshape(1, EMBEDDING_DIM), FEATURE_TYPE_SENTENCE, TEXT, self._config["alias"])
                )
            if not for_training:
                rounded = round(float(score), 4)
                message.set(
                    FRUSTRATION,
                    {"score": rounded, "level": level_for(rounded, self._config["thresholds"])},
                    add_to_output=True,
                )
