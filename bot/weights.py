"""JSON weights of a trainable graph component, kept in Rasa's model storage under the component's resource."""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

__all__ = ["read_weights", "write_weights"]


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
