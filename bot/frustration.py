"""FrustrationScorer: a trainable Rasa NLU component that scores how frustrated a message is.

`rasa train` trains it on the NLU examples' `frustration` metadata (none, low, medium, high; see
docs/frustration.md) and on the labelled CSV files named in its config when they exist (by default the
complaint tweets and GoEmotions comments in `../shared/data`, read in place, never copied). The model
(`bot.frustration_model`) is an ordinal network over the all-MiniLM-L6-v2 sentence embedding and the
lexical signals of `bot.signals`; the score is its calibrated probability that the writer is frustrated
(medium or high), and the level comes from the thresholds in the component's config. Every parsed
message gets `"frustration": {"score": float, "level": str}` (contract 1) and, for the intent
classifier, the sentence embedding as a dense sentence feature.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
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
from bot.frustration_model import LEVELS, FrustrationModel, Training, targets_for_bound, targets_for_label
from bot.weights import read_arrays, write_arrays

__all__ = [
    "FRUSTRATION",
    "LEVELS",
    "FrustrationScorer",
    "extra_training",
    "label_of",
    "level_for",
    "own_training",
    "read_bound_csv",
]

logger = logging.getLogger(__name__)

FRUSTRATION = "frustration"
WEIGHTS_FILE = "frustration.npz"


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


def own_training(texts: list[str], labels: list[str], embeddings: np.ndarray) -> Training:
    """The trainers' labelled examples: every step of the ordinal model is known, weight 1."""
    return Training(
        texts=list(texts),
        embeddings=embeddings,
        targets=np.array([targets_for_label(label) for label in labels], dtype=np.float32).reshape(-1, 3),
        weights=np.ones(len(texts)),
        own=np.ones(len(texts), dtype=bool),
    )


def read_bound_csv(path: Path, column: str) -> list[tuple[str, bool]]:
    """(text, label is 1) from a CSV with a `text` column and a 0/1 `column`; rows with an empty text are skipped."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", column} <= set(reader.fieldnames):
            raise ValueError(f"{path} needs `text` and `{column}` columns, found {reader.fieldnames}")
        rows = []
        for number, row in enumerate(reader, start=2):
            if not row["text"]:
                continue
            if row[column] not in ("0", "1"):
                raise ValueError(f"{path} line {number}: `{column}` must be 0 or 1, found {row[column]!r}")
            rows.append((row["text"], row[column] == "1"))
        return rows


def extra_training(source: dict[str, Any], rows: list[tuple[str, bool]], embeddings: np.ndarray) -> Training:
    """A third-party file's rows: a 1 means at least `source["level"]`, a 0 below it (see bot.frustration_model)."""
    return Training(
        texts=[text for text, _ in rows],
        embeddings=embeddings,
        targets=np.array([targets_for_bound(positive, source["level"]) for _, positive in rows], dtype=np.float32),
        weights=np.full(len(rows), float(source.get("weight", 1.0))),
        own=np.zeros(len(rows), dtype=bool),
    )


def check_sources(sources: list[dict[str, Any]]) -> None:
    for source in sources:
        missing = {"path", "column", "level"} - set(source)
        if missing:
            raise ValueError(f"FrustrationScorer extra_data entry {source} lacks {sorted(missing)}")
        if source["level"] not in LEVELS[1:]:
            raise ValueError(f"FrustrationScorer extra_data level must be one of {LEVELS[1:]}, got {source['level']!r}")
        if float(source.get("weight", 1.0)) <= 0:
            raise ValueError(f"FrustrationScorer extra_data weight must be positive, got {source['weight']!r}")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class FrustrationScorer(GraphComponent):
    """Adds `frustration` {score, level} and the sentence embedding to every message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # score >= threshold gives that level (see docs/frustration.md for how they were chosen)
            "thresholds": {"low": 0.3, "medium": 0.5, "high": 0.8},
            # the ordinal network: hidden units and passes over the data
            "hidden": 256,
            "epochs": 40,
            # how much the lexical signals weigh against the unit-length embedding
            "signal_scale": 2.0,
            # folds of the trainers' examples used to calibrate the score (docs/frustration.md)
            "calibration_folds": 5,
            # labelled CSV files trained on when they exist: {path, column (0/1), level (1 means at least
            # this level, 0 below it), weight}; relative paths are relative to where `rasa train` runs
            "extra_data": [],
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
        check_sources(self._config["extra_data"])
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
        arrays = read_arrays(model_storage, resource, WEIGHTS_FILE)
        if arrays is None:
            logger.warning("FrustrationScorer has no trained weights; frustration will be scored as none.")
            return cls(config, model_storage, resource)
        # Load the sentence model now, once per process, so that the first customer's message does not
        # wait for it (and Rasa's REST channel does not time out on it).
        embed(["warm-up"])
        return cls(config, model_storage, resource, FrustrationModel.from_arrays(arrays))

    def train(self, training_data: TrainingData) -> Resource:
        labelled = [(m.get(TEXT), label_of(m)) for m in training_data.intent_examples if m.get(TEXT)]
        examples = [(text, label) for text, label in labelled if label is not None]
        levels = {label for _, label in examples}
        if not levels & {"none", "low"} or not levels & {"medium", "high"}:
            raise ValueError(
                "FrustrationScorer needs NLU examples labelled with `frustration` metadata at both calm "
                "(none/low) and frustrated (medium/high) levels; see docs/frustration.md"
            )
        texts = [text for text, _ in examples]
        parts = [own_training(texts, [label for _, label in examples], embed(texts))]
        for source in self._config["extra_data"]:
            path = Path(source["path"])
            if not path.is_file():
                logger.warning("FrustrationScorer: %s not found; training without it", path)
                continue
            rows = read_bound_csv(path, source["column"])
            parts.append(extra_training(source, rows, embed([text for text, _ in rows])))
            logger.info("FrustrationScorer: %d labelled rows from %s", len(rows), path)
        data = Training.join(parts)
        self._model = FrustrationModel.fit(
            data,
            hidden=int(self._config["hidden"]),
            epochs=int(self._config["epochs"]),
            signal_scale=float(self._config["signal_scale"]),
            folds=int(self._config["calibration_folds"]),
        )
        logger.info("FrustrationScorer trained on %d examples (%d the trainers' own)", len(data.texts), len(texts))
        write_arrays(self._storage, self._resource, WEIGHTS_FILE, self._model.arrays())
        return self._resource

    @property
    def model(self) -> FrustrationModel | None:
        """The trained model (None before training)."""
        return self._model

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
        scored = self._model is not None and not for_training
        scores = self._model.scores(embeddings, texts) if scored else np.zeros(len(texts))
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
