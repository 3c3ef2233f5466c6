"""The frustration model: an ordinal network over [sentence embedding, lexical signals], calibrated.

Frustration has ordered levels (none < low < medium < high), and the data that teach it say different
amounts: a trainer's label names the level; a complaint tweet says only "at least low" (a polite
complaint is still a complaint), a Reddit comment without negative emotion only "below medium". So
the model has one output per step between levels, P(level >= low), P(level >= medium) and
P(level >= high), and each example trains only the steps its label speaks about.

A small network (one hidden layer) learns the three steps together; a linear model could not rank
complaints above non-complaints and keep polite problem reports below angry messages at the same
time (docs/evaluation.md). The raw score is the expected level on a 0-1 scale (the mean of the three
steps), so it ranks by how frustrated a message is; Platt scaling, fitted on out-of-fold predictions
of the trainers' own examples, turns it into the probability that the writer is frustrated (medium or
high). Training uses torch; scoring is plain numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.signals import SIGNAL_NAMES, signal_vector

__all__ = [
    "LEVELS",
    "STEPS",
    "UNKNOWN",
    "FrustrationModel",
    "Training",
    "calibrate",
    "fit_calibration",
    "targets_for_bound",
    "targets_for_label",
]

LEVELS = ("none", "low", "medium", "high")
STEPS = LEVELS[1:]  # output j is P(level >= STEPS[j])
UNKNOWN = -1.0


def targets_for_label(level: str) -> list[float]:
    """Step targets of an example labelled with its level: every step is known."""
    rank = LEVELS.index(level)
    return [float(rank >= step) for step in range(1, len(LEVELS))]


def targets_for_bound(positive: bool, level: str) -> list[float]:
    """Step targets of a binary label that means "at least `level`" when positive, "below it" when not.

    Only the steps the label implies are known; the rest are left to the other data.
    """
    rank = LEVELS.index(level)
    if rank == 0:
        raise ValueError("a binary frustration label needs a level above none to mean anything")
    if positive:
        return [1.0 if step <= rank else UNKNOWN for step in range(1, len(LEVELS))]
    return [0.0 if step >= rank else UNKNOWN for step in range(1, len(LEVELS))]


@dataclass
class Training:
    """Examples for the model: texts, their embeddings, step targets (UNKNOWN = not said), weights, and
    whether an example is a trainer's own (those calibrate the score)."""

    texts: list[str]
    embeddings: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    own: np.ndarray

    @classmethod
    def join(cls, parts: Sequence[Training]) -> Training:
        return cls(
            texts=[text for part in parts for text in part.texts],
            embeddings=np.vstack([part.embeddings for part in parts]),
            targets=np.vstack([part.targets for part in parts]),
            weights=np.concatenate([part.weights for part in parts]),
            own=np.concatenate([part.own for part in parts]),
        )

    def subset(self, rows: np.ndarray) -> Training:
        return Training(
            texts=[self.texts[i] for i in rows],
            embeddings=self.embeddings[rows],
            targets=self.targets[rows],
            weights=self.weights[rows],
            own=self.own[rows],
        )

    def frustrated(self) -> np.ndarray:
        """Whether each example is known to be medium or above (only meaningful for the trainers' own)."""
        return self.targets[:, 1] == 1.0


def features(embeddings: np.ndarray, texts: list[str], signal_scale: float) -> np.ndarray:
    lexical = np.array([signal_vector(t) for t in texts], dtype=np.float32).reshape(len(texts), len(SIGNAL_NAMES))
    return np.hstack([embeddings, lexical * signal_scale]).astype(np.float32)


@dataclass(frozen=True)
class FrustrationModel:
    """Weights of the network and of the calibration; `scores` gives calibrated probabilities."""

    hidden_weight: np.ndarray  # (features, hidden)
    hidden_bias: np.ndarray  # (hidden,)
    output_weight: np.ndarray  # (hidden, steps)
    output_bias: np.ndarray  # (steps,)
    calibration: np.ndarray  # (slope, intercept) of Platt scaling on the logit of the raw score
    signal_scale: float

    def steps(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        """P(level >= low), P(level >= medium), P(level >= high) for each message."""
        return self._steps(features(embeddings, texts, self.signal_scale))

    def _steps(self, inputs: np.ndarray) -> np.ndarray:
        hidden = inputs @ self.hidden_weight + self.hidden_bias
        return _sigmoid(_gelu(hidden) @ self.output_weight + self.output_bias)

    def raw_scores(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        """The expected level on a 0-1 scale (0 none, 1 high): what the model ranks by."""
        return np.asarray(self.steps(embeddings, texts).mean(axis=1))

    def scores(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        """The calibrated probability that the writer is frustrated (medium or high)."""
        return calibrate(self.raw_scores(embeddings, texts), self.calibration)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "hidden_weight": self.hidden_weight,
            "hidden_bias": self.hidden_bias,
            "output_weight": self.output_weight,
            "output_bias": self.output_bias,
            "calibration": self.calibration,
            "signal_scale": np.array(self.signal_scale),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> FrustrationModel:
        return cls(**{**arrays, "signal_scale": float(arrays["signal_scale"])})

    @classmethod
    def fit(
        cls, data: Training, hidden: int, epochs: int, signal_scale: float, folds: int = 5, seed: int = 0
    ) -> FrustrationModel:
        """Train on all the data; calibrate on the trainers' own examples, each scored by a network that
        did not train on it (`folds`-fold; the other data always train). `folds` below 2: uncalibrated."""
        inputs = features(data.embeddings, data.texts, signal_scale)  # once for all the fits below
        everything = np.arange(len(data.texts))
        network = _fit_network(inputs, data, everything, hidden, signal_scale, epochs, seed)
        if folds < 2:
            return network
        own = np.flatnonzero(data.own)
        frustrated = data.frustrated()[own]
        out_of_fold = np.zeros(len(own))
        for fold in range(folds):
            held = own[fold::folds]
            fold_model = _fit_network(inputs, data, np.setdiff1d(everything, held), hidden, signal_scale, epochs, seed)
            out_of_fold[fold::folds] = fold_model._steps(inputs[held]).mean(axis=1)
        return cls(**{**network.__dict__, "calibration": fit_calibration(out_of_fold, frustrated)})


def calibrate(raw: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    slope, intercept = calibration
    return np.asarray(_sigmoid(slope * _logit(raw) + intercept))


def fit_calibration(raw: np.ndarray, frustrated: np.ndarray) -> np.ndarray:
    """Platt scaling: a logistic regression of the label on the logit of the raw score."""
    from sklearn.linear_model import LogisticRegression

    if len(set(frustrated.tolist())) < 2:
        return np.array([1.0, 0.0])
    regression = LogisticRegression(C=1.0, max_iter=1000).fit(_logit(raw).reshape(-1, 1), frustrated)
    return np.array([float(regression.coef_[0][0]), float(regression.intercept_[0])])


def _fit_network(
    all_inputs: np.ndarray, data: Training, rows: np.ndarray, hidden: int, signal_scale: float, epochs: int, seed: int
) -> FrustrationModel:
    """A network trained on `rows` of the data (`all_inputs`: their features, computed once by the caller)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    inputs = torch.tensor(all_inputs[rows])
    targets = torch.tensor(data.targets[rows], dtype=torch.float32)
    known = (targets != UNKNOWN).float()
    targets = targets.clamp(min=0.0)
    weights = torch.tensor(data.weights[rows], dtype=torch.float32)[:, None] * known
    # Each step weighs its positives as much as its negatives.
    positives, negatives = (targets * weights).sum(0), ((1 - targets) * weights).sum(0)
    positive_weight = negatives / positives.clamp(min=1e-6)

    layer = torch.nn.Linear(inputs.shape[1], hidden)
    output = torch.nn.Linear(hidden, len(STEPS))
    network = torch.nn.Sequential(torch.nn.Dropout(0.1), layer, torch.nn.GELU(), torch.nn.Dropout(0.2), output)
    optimiser = torch.optim.AdamW(network.parameters(), lr=2e-3, weight_decay=1e-3)
    network.train()
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), 64):
            batch = order[start : start + 64]
            losses = torch.nn.functional.binary_cross_entropy_with_logits(
                network(inputs[batch]), targets[batch], pos_weight=positive_weight, reduction="none"
            )
            loss = (losses * weights[batch]).sum() / weights[batch].sum().clamp(min=1e-6)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return FrustrationModel(
        hidden_weight=layer.weight.detach().numpy().T.copy(),
        hidden_bias=layer.bias.detach().numpy().copy(),
        output_weight=output.weight.detach().numpy().T.copy(),
        output_bias=output.bias.detach().numpy().copy(),
        calibration=np.array([1.0, 0.0]),
        signal_scale=signal_scale,
    )


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return np.asarray(0.5 * x * (1.0 + erf(x / np.sqrt(2.0))))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(clipped / (1 - clipped)))
