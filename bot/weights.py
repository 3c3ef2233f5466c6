"""Weights of a trainable graph component, kept in Rasa's model storage under the component's resource:
JSON for small parameter sets, numpy's .npz for arrays."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

__all__ = ["read_arrays", "read_weights", "write_arrays", "write_weights"]


def write_weights(storage: ModelStorage, resource: Resource, filename: str, weights: dict[str, Any]) -> None:
    with storage.write_to(resource) as directory:
        (directory / filename).write_text(json.dumps(weights))


def read_weights(storage: ModelStorage, resource: Resource, filename: str) -> dict[str, Any] | None:
    """The stored weights, or None when the component was never trained (or its file is unreadable)."""
    try:
        with storage.read_from(resource) as directory:
            weights: dict[str, Any] = json.loads((directory / filename).read_text())
    except (ValueError, FileNotFoundError):
        return None
    return weights


def write_arrays(storage: ModelStorage, resource: Resource, filename: str, arrays: dict[str, np.ndarray]) -> None:
    with storage.write_to(resource) as directory:
        np.savez(directory / filename, **arrays)


def read_arrays(storage: ModelStorage, resource: Resource, filename: str) -> dict[str, np.ndarray] | None:
    """The stored arrays, or None when the component was never trained (or its file is unreadable)."""
    try:
        with storage.read_from(resource) as directory, np.load(directory / filename, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (ValueError, OSError):
        return None
